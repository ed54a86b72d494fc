"""The case paths a kind's schema requires, all the way from the root.

Input: a case schema (as loaded). Output: the paths (tuples of keys) that every case the schema accepts holds, with
a value that is not null: each key is in its object's ``required`` list, its subschema does not allow null
(``type`` without ``"null"``, no ``null`` in ``enum`` or ``const``), and so is every key on the way. Only an
object's own ``required``, ``properties`` and ``type`` are read: a path required only under ``allOf``, ``if``,
a ``$ref`` or the like is left out. Leaving a path out is always safe: the caller (lang.fusion, through run.kernel)
tests at run time that each path it takes from here is there, and a case without one goes the general way; the
paths only choose what is tested once at the top rather than at every read.
"""

from __future__ import annotations

from typing import Any

__all__ = ["required_paths"]

_MAX_DEPTH = 24


def required_paths(schema: Any) -> frozenset[tuple[str, ...]]:
    """The paths every case ``schema`` accepts holds with a value other than null (see the module)."""
    found: set[tuple[str, ...]] = set()
    _walk(schema, (), found)
    return frozenset(found)


def _nullable(schema: dict[str, Any]) -> bool:
    if "const" in schema:
        return schema["const"] is None
    if "enum" in schema:
        return not isinstance(schema["enum"], list) or None in schema["enum"]
    kinds = schema.get("type")  # (no type: anything, null included)
    return kinds is None or kinds == "null" or (isinstance(kinds, list) and "null" in kinds)


def _walk(schema: Any, path: tuple[str, ...], found: set[tuple[str, ...]]) -> None:
    if len(path) > _MAX_DEPTH or not isinstance(schema, dict) or schema.get("type") != "object":
        return
    required, properties = schema.get("required"), schema.get("properties")
    if not isinstance(required, list) or not isinstance(properties, dict):
        return
    for key in required:
        sub = properties.get(key) if isinstance(key, str) else None
        if not isinstance(sub, dict) or "$ref" in sub or _nullable(sub):
            continue
        found.add((*path, key))
        _walk(sub, (*path, key), found)

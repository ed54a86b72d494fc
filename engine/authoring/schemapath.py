"""The JSON Schema node of a case path, for enum values and descriptions.

Input: a case kind's JSON Schema and a dotted path as the condition language writes it
(``request.type``, ``messages[].text``). Output: the schema node there ($refs followed), or None.
"""

from __future__ import annotations

from typing import Any

__all__ = ["schema_at", "enum_of", "describe"]


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    for _ in range(32):  # $ref chains are bounded like the type derivation's
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            return node
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node


def _options(node: Any, root: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, root)
    if not isinstance(node, dict):
        return []
    out = [node]
    for combinator in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(combinator) or []:
            out += _options(sub, root)
    return out


def schema_at(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema node at a dotted case path (``a.b``, ``items[].x``), or None if the schema has none."""
    node: Any = schema
    for part in path.split("."):
        steps = part.split("[]")
        for k, step in enumerate(steps):
            if k == 0:
                found = None
                for opt in _options(node, schema):
                    props = opt.get("properties")
                    if isinstance(props, dict) and step in props:
                        found = props[step]
                        break
                if found is None:
                    return None
                node = found
            else:
                found = None
                for opt in _options(node, schema):
                    if isinstance(opt.get("items"), dict):
                        found = opt["items"]
                        break
                if found is None:
                    return None
                node = found
            if step == "" and k == 0:
                return None
    resolved = _resolve(node, schema)
    return resolved if isinstance(resolved, dict) else None


def enum_of(schema: dict[str, Any], path: str) -> list[str] | None:
    """The string values a case field can take (its ``enum`` or ``const``), or None if any."""
    node = schema_at(schema, path)
    if node is None:
        return None
    values: list[str] = []
    for opt in _options(node, schema):
        if "enum" in opt:
            values += [v for v in opt["enum"] if isinstance(v, str)]
        elif "const" in opt and isinstance(opt["const"], str):
            values.append(opt["const"])
        elif opt.get("type") not in (None, "null") or "properties" in opt:
            return None  # some option takes any value of its type
    return values or None


def describe(schema: dict[str, Any], path: str) -> str | None:
    """A field's description from the schema, if it has one."""
    node = schema_at(schema, path)
    if node is None:
        return None
    for opt in _options(node, schema):
        if isinstance(opt.get("description"), str):
            return str(opt["description"])
    return None

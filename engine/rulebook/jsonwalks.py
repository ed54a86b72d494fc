"""Two walks of a value json read, for what its reader cannot refuse: a key written twice, and a lone surrogate.

Input: a value read by :data:`~policy_eval.rulebook.jsonrecord.DECODER` (its objects made by :func:`_pairs`, which
flags one that names a key twice and counts it in :data:`_FLAGGED`). Output: the first such place, as a CaseError at
its JSON path (:func:`member` spells a key). The path of a node is made only for the error, from a table of each
node's parent: building one per node cost a walk most of its time. rulebook.jsonrecord.parse_record walks only
where the reading could have made one (bench/README, thirty-ninth session).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from policy_eval.errors import CaseError

__all__ = ["member", "duplicate_error", "surrogate_error"]


class _Duplicated(dict):
    """An object read from JSON text that names a key twice (which one is ``key``)."""

    key: str


# Objects read with a key written twice, counted: parse_record looks for one only when the count grew while it
# read (another thread's can only make it look in vain)
_FLAGGED = [0]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    flagged = _Duplicated(out)
    for key, _ in pairs:
        if key in seen:
            flagged.key = key
            break
        seen.add(key)
    _FLAGGED[0] += 1
    return flagged


_NAME = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*")


def member(key: str) -> str:
    """One object member of a JSON path: ``.name`` for a name (RFC 9535's shorthand), else ``["a.b"]``
    (a key holding a dot, a bracket, a space, or nothing: ``$.a.b`` would name another place)."""
    return f".{key}" if _NAME.fullmatch(key) else f"[{json.dumps(key, ensure_ascii=False)}]"


def _nodes(value: Any) -> Iterator[tuple[Any, int, list[tuple[int, str | int]]]]:
    """Every value in ``value``, in document order, with its number and the table of parents: node number ->
    (its parent's number, its key or index). The JSON path of a node is made from it only when asked for
    (:func:`_path`): building one per node cost a walk most of its time (a regular expression per key)."""
    parents: list[tuple[int, str | int]] = [(-1, 0)]
    stack = [(value, 0)]
    while stack:
        node, n = stack.pop()
        yield node, n, parents
        if isinstance(node, dict):
            for k, v in reversed(list(node.items())):
                parents.append((n, k))
                stack.append((v, len(parents) - 1))
        elif isinstance(node, list):
            for i in range(len(node) - 1, -1, -1):
                parents.append((n, i))
                stack.append((node[i], len(parents) - 1))


def _path(parents: list[tuple[int, str | int]], n: int, root: str) -> str:
    """The JSON path of node ``n`` of :func:`_nodes` under ``root``."""
    parts: list[str] = []
    while n > 0:
        n, part = parents[n]
        parts.append(member(part) if isinstance(part, str) else f"[{part}]")
    return root + "".join(reversed(parts))


def _duplicate(value: Any, path: str = "$") -> tuple[str, str] | None:
    """The JSON path and name of the first key written twice in a value read with :func:`_pairs`."""
    for node, n, parents in _nodes(value):
        if isinstance(node, _Duplicated):
            return _path(parents, n, path), node.key
    return None


def _duplicate_error(value: Any, source: str, record: int | None, path: str = "$") -> CaseError | None:
    found = _duplicate(value, path)
    if found is None:
        return None
    where, key = found
    return CaseError(f"duplicate key {json.dumps(key, ensure_ascii=False)} in this object (JSON readers differ on "
                     "which value wins, so neither is used)", source=source, record=record, json_path=where)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json joins a pair into one character: what is left is alone
# What a surrogate is written as in JSON text (UTF-8 bytes hold none: json refuses them); in a text (str) given
# to parse_record, a surrogate character itself too. Neither: the value read holds none.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def _surrogate_error(value: Any, source: str, record: int | None, path: str = "$") -> CaseError | None:
    """A string (or key) holding a lone surrogate escape (``"\\ud800"``): valid JSON, but no character, so no
    UTF-8 text; the rules' text functions could not read it (a merchant could hide a message from every conduct
    rule with one), so the record is refused at the string. (orjson refuses these: only this path sees them.)"""
    for node, n, parents in _nodes(value):
        if isinstance(node, str):
            if (found := _LONE_SURROGATE.search(node)) is not None:
                return CaseError(f"a lone surrogate escape (\\u{ord(found.group()):04x}) is not a character: this "
                                 "string is not Unicode text", source=source, record=record,
                                 json_path=_path(parents, n, path))
        elif isinstance(node, dict):
            for k in reversed(list(node)):  # (the last key written with one: as the walk found it before)
                if _LONE_SURROGATE.search(k) is not None:
                    return CaseError("a key holds a lone surrogate escape: not Unicode text", source=source,
                                     record=record, json_path=_path(parents, n, path))
    return None


duplicate_error, surrogate_error = _duplicate_error, _surrogate_error

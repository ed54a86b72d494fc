"""Where a member of a policy test's inline case stands in its test file.

Input: the positions of a test file (:class:`~policy_eval.rulebook.yamlpos.Positions`), the path of a test's
``case:`` in it, the case, and a JSON path as a schema error names it (``$.request.submitted_at``). Output:
the 1-based (line, column) of that member, so that ``policy-eval test`` points a case that does not match its
schema at the member, not at the test's ``- name:`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_eval.rulebook.yamlpos import Positions

__all__ = ["placer"]


def placer(positions: Positions, at: tuple[Any, ...], case: dict[str, Any]) -> Callable[[str], tuple[int, int]]:
    """(line, column) in the test file of a JSON path into the inline ``case`` (at ``at``), else of the nearest
    member above it that the file holds (a required member missing: the object that lacks it)."""
    def place(json_path: str) -> tuple[int, int]:
        return positions.where(at + _members(case, json_path))
    return place


def _members(case: Any, json_path: str) -> tuple[Any, ...]:
    """The keys and indexes of ``json_path`` (``$.a.b[0]``, as jsonschema writes them: a key is written after a
    '.' as it is, dots included), matched against the case itself; as far as the case has them."""
    rest, node = json_path.removeprefix("$"), case
    out: list[Any] = []
    while rest:
        if rest.startswith("[") and "]" in rest and isinstance(node, list):
            index = rest[1:rest.index("]")]
            if not index.isdigit() or int(index) >= len(node):
                break
            out.append(int(index))
            node, rest = node[int(index)], rest[rest.index("]") + 1:]
            continue
        keys = [k for k in node if isinstance(k, str) and rest.startswith("." + k)
                and rest[len(k) + 1:len(k) + 2] in ("", ".", "[")] if isinstance(node, dict) else []
        if not keys:
            break
        key = max(keys, key=len)
        out.append(key)
        node, rest = node[key], rest[len(key) + 1:]
    return tuple(out)

"""Lint's findings an editor can fix: an unused let, definition or parameter removed.

Input: a :class:`~policy_eval.authoring.outline.Document` as it now reads, a lint
:class:`~policy_eval.authoring.findings.Finding` on it, and a check that a text loads. Output: the lines to delete
and the action's title, or None. The fix is offered only when it is sure:

* the key is where the finding says, in the document as it now reads, written in block style (one entry a line
  or more: never part of a line that holds something else);
* the lines deleted are the entry's own: its key and its value (an entry that is its map's only one takes the
  map's key with it: ``let:`` with nothing under it would not load);
* the document without them still loads (``loads``): a definition that only unused definitions use
  (``base_of_chain`` used by ``chain``) is not removed alone, as the others would then name nothing.

Comments above the entry are left: they may speak of more than it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_eval.authoring.findings import Finding
from policy_eval.authoring.outline import Document

__all__ = ["removal", "REMOVABLE"]

# the check, the map its entry is in, and what the entry is called
REMOVABLE = {"unused-let": ("let", "let"), "unused-definition": ("definitions", "definition"),
             "unused-parameter": ("params", "parameter")}


def _end(node: Any, lines: list[str]) -> int:
    """The line after a node's last (0-based). A block node's end mark is where the next token starts: at the
    start of a later line, or after its indentation (a block map ends at the next key of the map around it)."""
    mark = node.end_mark
    return mark.line if mark.line >= len(lines) or not lines[mark.line][:mark.column].strip() else mark.line + 1


def _entry(doc: Document, finding: Finding) -> tuple[Any, ...] | None:
    """The path of the entry whose key the finding is at, when it is in the map the check names."""
    container = REMOVABLE[finding.check][0]
    assert doc.positions is not None
    for path, key in doc.positions.key_nodes.items():
        if (key.start_mark.line, key.start_mark.column) == (finding.line - 1, finding.column - 1) and \
                len(path) >= 2 and path[-2] == container:
            return path
    return None


def removal(doc: Document, finding: Finding, loads: Callable[[str], bool]) -> tuple[int, int, str] | None:
    """Lines [first, end) of the document whose deletion fixes ``finding``, and the action's title; None when
    no removal is sure (see the module's text)."""
    if finding.check not in REMOVABLE or doc.positions is None:
        return None
    path = _entry(doc, finding)
    if path is None:
        return None
    pos = doc.positions
    mapping, key, value = pos.nodes.get(path[:-1]), pos.key_nodes.get(path), pos.nodes.get(path)
    if mapping is None or key is None or value is None or getattr(mapping, "flow_style", False):
        return None
    lines = doc.lines
    if len(mapping.value) == 1:  # (its map's only entry: the map's key goes too)
        head = pos.key_nodes.get(path[:-1])
        if head is None:
            return None
        first, end = head.start_mark.line, _end(mapping, lines)
    else:
        head = key
        first, end = key.start_mark.line, _end(value, lines)
        later = [k.start_mark.line for k, _ in mapping.value if k.start_mark.line > key.start_mark.line]
        if later and end > min(later):  # (the value runs into the next entry's line: not its own lines)
            return None
    if lines[first][:head.start_mark.column].strip():  # (something else is written before the key on its line)
        return None
    kept = lines[:first] + lines[end:]
    if not loads("\n".join(kept)):
        return None
    what = REMOVABLE[finding.check][1]
    return first, end, f"Remove the unused {what} '{path[-1]}'"

"""Where each part of a YAML file stands: JSON path → node, and positions inside a scalar's value.

Built by :mod:`policy_eval.rulebook.yamlload` as it composes a document;
later stages use it to report ``file:line:column``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import Node, ScalarNode

from policy_eval.errors import PolicyLoadError

__all__ = ["Positions"]

# PyYAML's notion of a line break (its marks count lines this way).
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


@dataclass
class Positions:
    """JSON path (tuple of keys/indexes) → YAML node, plus the file's text."""

    file: str
    lines: list[str]
    nodes: dict[tuple[Any, ...], Node] = field(default_factory=dict)
    key_nodes: dict[tuple[Any, ...], Node] = field(default_factory=dict)
    text: str = ""
    line_starts: list[int] = field(default_factory=lambda: [0])

    @classmethod
    def of(cls, file: str, text: str) -> Positions:
        starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        return cls(file, _LINE_BREAK.split(text), text=text, line_starts=starts)

    def where(self, path: tuple[Any, ...], *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the node at ``path`` (or of its key), else of its nearest parent."""
        table = self.key_nodes if key else self.nodes
        p = tuple(path)
        while p:
            node = table.get(p) or self.nodes.get(p)
            if node is not None:
                return node.start_mark.line + 1, node.start_mark.column + 1
            p = p[:-1]
        node = self.nodes.get(())
        if node is not None:
            return node.start_mark.line + 1, node.start_mark.column + 1
        return 1, 1

    def line_text(self, line: int) -> str | None:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None

    def error(self, message: str, path: tuple[Any, ...] = (), *, key: bool = False,
              cls: type[PolicyLoadError] = PolicyLoadError) -> PolicyLoadError:
        line, column = self.where(path, key=key)
        return cls(message, file=self.file, line=line, column=column, source_line=self.line_text(line))

    def position_of(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of a character index of the text."""
        row = bisect_right(self.line_starts, index) - 1
        return row + 1, index - self.line_starts[row] + 1

    def expression_position(self, path: tuple[Any, ...], line: int, column: int) -> tuple[int, int]:
        """Map a 1-based (line, column) inside the value of the scalar at ``path`` to the file.

        Works for every scalar style: plain (also over several lines), quoted (escapes included),
        literal ``|`` and folded ``>``.
        """
        node = self.nodes.get(tuple(path))
        if not isinstance(node, ScalarNode):
            return self.where(path)
        value_lines = node.value.split("\n")
        line = min(max(line, 1), len(value_lines))
        offset = sum(len(x) + 1 for x in value_lines[: line - 1]) + column - 1
        sources = _value_sources(self.text, node)
        return self.position_of(sources[min(max(offset, 0), len(sources) - 1)])


def _value_sources(text: str, node: ScalarNode) -> list[int]:
    """For each character of a scalar's value, the index in ``text`` it comes from; plus one past the end.

    Characters of the source that make no character of the value (quotes, escapes' backslashes,
    indentation, folded line breaks) are skipped by aligning value and source greedily.
    """
    i, end = node.start_mark.index, node.end_mark.index
    style = node.style
    if style in ("|", ">"):
        m = _LINE_BREAK.search(text, i, end)
        i = m.end() if m else end
    elif style in ("'", '"'):
        i += 1
    out: list[int] = []
    for ch in node.value:
        while i < end:
            s = text[i]
            if style == '"' and s == "\\":
                nxt = text[i + 1] if i + 1 < end else ""
                if nxt in ("\r", "\n"):  # escaped line break: makes no character
                    i += 2
                    continue
                out.append(i)
                i += {"x": 4, "u": 6, "U": 10}.get(nxt, 2)
                break
            if style == "'" and s == "'" and text.startswith("''", i):
                out.append(i)
                i += 2
                break
            i += 1
            if s == ch or (ch == " " and s in "\r\n"):
                out.append(i - 1)
                break
        else:
            out.append(end)
    out.append(out[-1] + 1 if out else i)
    return out

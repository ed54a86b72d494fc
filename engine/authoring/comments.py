"""The comments of a YAML text, for fmt to prove it kept them.

Input: YAML text. Output: its comments (``# ...`` outside every scalar, keys and block scalars included:
a ``#`` inside a ``>-`` condition is the condition's own text), each with its line, in order.

Why: ruamel.yaml's round trip drops some comments without a word (one inside a flow collection ``[a,  #
x`` or ``{k: v,  # x``, one between a key and a value on the next line); fmt compares the comments before
and after and refuses to drop one (:func:`policy_eval.authoring.fmt.format_text`).
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterator

import yaml

__all__ = ["comments", "lost", "align_comments"]


def _spans(node: yaml.Node) -> Iterator[tuple[int, int]]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            yield n.start_mark.index, n.end_mark.index
        elif isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


@functools.lru_cache(maxsize=4)
def comments(text: str) -> tuple[tuple[int, str], ...]:
    """(line, comment text) of every comment of ``text``, in order; () when the text is not one YAML document.
    Remembered for the last few texts: fmt asks for the comments of its input and output more than once."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return ()
    inside = bytearray(len(text) + 1)  # 1 where a scalar is written
    for start, end in (_spans(root) if root is not None else ()):
        inside[start:end] = b"\x01" * (end - start)
    out: list[tuple[int, str]] = []
    line, i = 1, 0
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c == "#" and not inside[i] and (i == 0 or text[i - 1] in " \t\n"):
            end = text.find("\n", i)
            out.append((line, text[i:end if end >= 0 else len(text)].rstrip()))
    return tuple(out)


def lost(before: str, after: str) -> tuple[int, str] | None:
    """The first comment of ``before`` that ``after`` no longer holds (as often as ``before`` does), or None."""
    kept = collections.Counter(c for _, c in comments(after))
    for line, c in comments(before):
        if kept[c] > 0:
            kept[c] -= 1
        else:
            return line, c
    return None


def align_comments(before: str, after: str) -> str:
    """``after`` (fmt's output for ``before``) with each comment that stands on a line of its own kept level
    with the line it was level with in ``before``: the line below it (a comment above its key), else the line
    above it (a note at the end of a block), wherever fmt moved those lines; ruamel.yaml writes a comment at
    its old column. A comment level with neither keeps its indentation; a ``#`` inside a block scalar is no
    comment and is not moved."""
    attached: dict[str, list[str | None]] = collections.defaultdict(list)
    for text, side in _own_line_comments(before):
        attached[text].append(side)
    lines = after.split("\n")
    found = {line for line, _ in comments(after)}
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if not (stripped.startswith("#") and i + 1 in found) or not attached.get(stripped):
            continue
        side = attached[stripped].pop(0)
        level = _level(lines, i, 1 if side == "below" else -1, found) if side is not None else None
        if level is not None:
            lines[i] = " " * level + stripped
    return "\n".join(lines)


def _own_line_comments(text: str) -> Iterator[tuple[str, str | None]]:
    """Each comment on a line of its own, in order, and the side it is level with: "below", "above" or None."""
    lines = text.split("\n")
    found = {line for line, _ in comments(text)}
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if stripped.startswith("#") and i + 1 in found:
            indent = len(line) - len(stripped)
            side = "below" if _level(lines, i, 1, found) == indent else \
                "above" if _level(lines, i, -1, found) == indent else None
            yield stripped, side


def _level(lines: list[str], i: int, step: int, found: set[int]) -> int | None:
    """The indentation of the nearest line from ``i`` in direction ``step`` that is neither blank nor a comment
    of its own."""
    j = i + step
    while 0 <= j < len(lines):
        stripped = lines[j].lstrip(" ")
        if stripped and not (stripped.startswith("#") and j + 1 in found):
            return len(lines[j]) - len(stripped)
        j += step
    return None

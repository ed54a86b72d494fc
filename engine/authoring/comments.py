"""The comments of a YAML text, for fmt to prove it kept them.

Input: YAML text. Output: its comments (``# ...`` outside every scalar, keys and block scalars included:
a ``#`` inside a ``>-`` condition is the condition's own text), each with its line, in order.

Why: ruamel.yaml's round trip drops some comments without a word (one inside a flow collection ``[a,  #
x`` or ``{k: v,  # x``, one between a key and a value on the next line); fmt compares the comments before
and after and refuses to drop one (:func:`policy_eval.authoring.fmt.format_text`).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import yaml

__all__ = ["comments", "lost"]


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


def comments(text: str) -> list[tuple[int, str]]:
    """(line, comment text) of every comment of ``text``, in order; [] when the text is not one YAML document."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
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
    return out


def lost(before: str, after: str) -> tuple[int, str] | None:
    """The first comment of ``before`` that ``after`` no longer holds (as often as ``before`` does), or None."""
    kept = collections.Counter(c for _, c in comments(after))
    for line, c in comments(before):
        if kept[c] > 0:
            kept[c] -= 1
        else:
            return line, c
    return None

"""The ``comment-in-folded-condition`` lint check: a ``#`` comment that hides the rest of a ``>-`` condition.

Input: a :class:`~policy_eval.authoring.findings.LintInput` (each policy file's text, as loaded). Output: a
finding at each comment, inside a folded block scalar (``>`` / ``>-``) that holds a condition, on a line of
the block other than its last.

Why: YAML folds the lines of a ``>-`` block into one, so ``a <= b   # 48 h inclusive`` followed by ``or c`` on
the next line reaches the language as ``a <= b   # 48 h inclusive or c``, and the comment swallows ``or c``
without a word. A ``|-`` block keeps the line breaks (and so the comment ends with its line); a comment on
the block's last line hides nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from policy_eval.authoring.findings import Finding, LintInput
from policy_eval.authoring.yamlexpr import expression_scalars

__all__ = ["folded_comments"]

def _comment_at(line: str) -> int:
    """The index of the ``#`` that starts a comment in a condition's line (outside strings), or -1."""
    quote = None
    for i, c in enumerate(line):
        if quote is not None:
            if c == "\\":
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return i
    return -1


def folded_comments(data: LintInput) -> Iterator[Finding]:
    for file, (_, positions) in data.sources.items():
        try:  # the text the rulebook was loaded from (the file is not read again)
            root = yaml.compose(positions.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            continue
        lines = positions.lines
        for node in (n for n in expression_scalars(root) if n.style == ">") if root is not None else ():
            key = lines[node.start_mark.line]
            indent = len(key) - len(key.lstrip())  # the block's lines are indented deeper than its key's line
            body: list[int] = []
            for i in range(node.start_mark.line + 1, len(lines)):
                if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= indent:
                    break
                if lines[i].strip():
                    body.append(i)
            for i in body[:-1]:
                at = _comment_at(lines[i])
                if at >= 0:
                    yield Finding("comment-in-folded-condition",
                                  "this comment hides the rest of the condition: YAML joins the lines of a '>-' "
                                  "block into one, so everything after the '#' is ignored; use '|-' to keep the "
                                  "line breaks, or put the comment above the key", file, i + 1, at + 1)

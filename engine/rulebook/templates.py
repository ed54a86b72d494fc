"""A message template's parts: literal text and ``{expression}`` placeholders (``{{`` and ``}}`` are braces).

Input: a rule's ``message`` text. Output: its parts in order, each placeholder with the place of its first
character in the message (0-based line and column), which the policy loader checks as a condition there
(:mod:`policy_eval.rulebook.policy.rules`) and the editor's references find names in
(:mod:`policy_eval.authoring.references`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Placeholder", "split_template", "UNCLOSED"]

UNCLOSED = "unclosed '{' in message (write '{{' for a literal brace)"


@dataclass(frozen=True)
class Placeholder:
    text: str
    line: int  # 0-based, within the message
    column: int  # 0-based, of the placeholder's first character (after its '{')


def split_template(text: str) -> tuple[list[str | Placeholder], tuple[int, int] | None]:
    """The message's parts: runs of literal text (a doubled brace written once) and placeholders; and where a '{'
    with no '}' after it is (0-based line and column), the parts being those before it, else None."""
    parts: list[str | Placeholder] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            buf.append(ch)
            i += 2
            continue
        if ch == "{":
            end = text.find("}", i)
            line, column = text.count("\n", 0, i), i - (text.rfind("\n", 0, i) + 1)
            if end < 0:
                return parts, (line, column)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(Placeholder(text[i + 1:end], line, column + 1))
            i = end + 1
            continue
        buf.append(ch)
        i += 1
    if buf:
        parts.append("".join(buf))
    return parts, None

"""YAML mistakes explained: PyYAML's scanner and parser errors in the project's words.

Input: a PyYAML error's problem text, its mark (0-based line and column) and the file's lines.
Output: a :class:`Hint` -- where the mistake really is (a missing colon is reported by PyYAML on a
later line) and one sentence saying what to write instead. :mod:`policy_eval.rulebook.yamlload` puts
the hint after PyYAML's own message, so nothing PyYAML said is lost.

Also here: :func:`condition_hint`, for YAML values that are read as conditions (a parameter's
``value: 24 hours`` is not a duration: the language writes ``24h``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from policy_eval.rulebook.literalhints import literal_hint

__all__ = ["Hint", "explain", "explain_error", "condition_hint"]


@dataclass(frozen=True)
class Hint:
    """Where to point (0-based line and column, as PyYAML's marks) and what to tell the author."""

    line: int
    column: int
    text: str


_KEY_ONLY = re.compile(r"^(\s*)(-\s+)?([^\s:#'\"][^:#]*?)\s*$")  # a line that looks like a key without ':'
_KEY = re.compile(r"^(\s*)(?:-\s+)?[^\s:#][^:#]*?:(\s|$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key_column(line: str) -> int:
    """Where the keys of the line's mapping start: after ``- `` on a list item's first line."""
    stripped = line.lstrip(" ")
    m = re.match(r"-\s+", stripped)
    return _indent(line) + (m.end() if m else 0)


_BLOCK_HEADER = re.compile(r":\s*[>|][-+]?\d*\s*(#.*)?$")


def _block_text_above(lines: list[str], row: int) -> tuple[str, int] | None:
    """(the key, the indent of its text) when the line above ``row`` is text of a block scalar (``key: >-``)
    deeper than ``row`` itself: the line was meant to continue that text."""
    prev = _previous(lines, row)
    if prev is None or _indent(lines[prev]) <= _indent(lines[row]):
        return None
    for r in range(prev - 1, -1, -1):
        if lines[r].strip() and _indent(lines[r]) < _indent(lines[prev]):
            if _BLOCK_HEADER.search(lines[r].rstrip()):
                return lines[r].strip().split(":")[0].lstrip("- "), _indent(lines[prev])
            return None
    return None


def _previous(lines: list[str], row: int) -> int | None:
    """The nearest line above ``row`` that is neither blank nor a comment."""
    for r in range(row - 1, -1, -1):
        if lines[r].strip() and not lines[r].lstrip().startswith("#"):
            return r
    return None


def _full_width_colon(lines: list[str], row: int) -> Hint | None:
    """A key followed by a full-width '：' (a Chinese input method's) instead of ':', as in ``severity： medium``:
    YAML reads the whole line as text, not as a key and its value."""
    text = lines[row] if 0 <= row < len(lines) else ""
    m = re.match(r"^(\s*(?:-\s+)?)([^\s:#'\"：][^:#：]*?)\s*：", text)
    if m is None or ":" in text[:m.end()]:
        return None
    rest = text[m.end():].strip()
    rest = rest if len(rest) <= 40 else rest[:37] + "..."
    return Hint(row, m.end() - 1, f"a full-width '：' after the key '{m.group(2)}'; write ':' "
                                  f"('{m.group(2)}: {rest or '...'}')")


def _comment_ends_plain(lines: list[str], row: int) -> Hint | None:
    """``row`` continues a value written over plain lines (``require: a`` then ``  and b`` deeper), but a comment
    line stands between them: YAML ends a plain value at a comment, so ``row`` is read as a stray line and the
    indentation is not at fault."""
    prev = _previous(lines, row)
    if prev is None or _KEY.match(lines[row]) or not any(lines[r].lstrip().startswith("#") for r in range(prev + 1, row)):
        return None  # (a line that is a key was meant as one: its indentation is the mistake)
    for r in range(prev, -1, -1):  # the key whose value the lines above continue
        if not lines[r].strip() or lines[r].lstrip().startswith("#"):
            continue
        if _key_column(lines[r]) >= _indent(lines[row]):
            return None
        m = _KEY.match(lines[r])
        value = lines[r][m.end():].strip() if m else ""
        if m is None or not value or value.startswith("#") or _BLOCK_HEADER.search(lines[r].rstrip()):
            return None
        key = lines[r][:m.end()].strip().lstrip("- ").rstrip(":").strip()
        return Hint(row, _indent(lines[row]),
                    f"the comment line above ends the value of '{key}' (YAML ends a value written over plain "
                    f"lines at a comment), so this line does not continue it: write '{key}: |-' and the whole "
                    "value on the lines below it (comments may stand there), or move the comment above the key")
    return None


def explain(problem: str, context: str | None, line: int, column: int, lines: list[str],
            context_at: tuple[int, int] | None = None) -> Hint | None:
    """A hint for one PyYAML error, or None when there is nothing better to say than PyYAML did."""
    text = lines[line] if 0 <= line < len(lines) else ""
    context_line = context_at[0] if context_at is not None else None
    if "'\\t'" in problem or "\t" in text[: column + 1]:
        tab = text.find("\t")
        if tab > 0 and text[:tab].strip():  # after the line's first word: not indentation
            return Hint(line, tab, "a tab inside the line, where YAML does not take one: replace it with a space")
        return Hint(line, tab if tab >= 0 else column,
                    "YAML indents with spaces only: replace the tab with spaces (2 per level in policy files)")
    if "could not find expected ':'" in problem and context_line is not None and context_line < len(lines) \
            and (block := _block_text_above(lines, context_line)) is not None:
        return Hint(context_line, _indent(lines[context_line]),
                    f"this line continues the text of '{block[0]}' above: indent it {block[1]} spaces, like the "
                    "line above it (a line of a '>-' or '|' block starts deeper than its key)")
    if "could not find expected ':'" in problem and context_line is not None \
            and (wide := _full_width_colon(lines, context_line)) is not None:
        return wide
    if "could not find expected ':'" in problem and context_line is not None:
        key = lines[context_line].strip() if context_line < len(lines) else ""
        first = key.split()[0] if key.split() else key
        return Hint(context_line, _indent(lines[context_line]) if context_line < len(lines) else 0,
                    f"a key needs ':' after it: write '{first}: ...'")
    if "mapping values are not allowed here" in problem:
        prev = _previous(lines, line)
        if prev is not None and (wide := _full_width_colon(lines, prev)) is not None:
            return wide
        if prev is not None and _KEY_ONLY.match(lines[prev]) and _indent(lines[prev]) == _indent(text):
            word = lines[prev].strip().split()[0]
            return Hint(prev, _indent(lines[prev]),
                        f"the line above has no ':' after its key: write '{word}: ...'")
        if prev is not None and _KEY.match(lines[prev]) and not lines[prev].rstrip().endswith(":") \
                and _indent(text) > _indent(lines[prev]):
            return Hint(line, _indent(text),
                        f"this key is indented {_indent(text)} spaces but the key above it {_indent(lines[prev])}: "
                        "keys of one mapping line up")
        return Hint(line, column, "a value may not contain ': ' unless it is quoted: write the value in "
                                  "double quotes, or as a block ('>-' and the text on the next lines)")
    if "expected <block end>" in problem:
        before = text[:column].rstrip()
        if column > _indent(text) and before[-1:] in ("\"", "'") and ": " in before:
            quoted = before[before.index(": ") + 2:].strip()
            whole = f"{quoted[:-1]} {text[column:].strip()}{quoted[-1]}"
            return Hint(line, column, f"text after a quoted value: put the whole value inside the quotes: {whole}")
        if (plain := _comment_ends_plain(lines, line)) is not None:
            return plain
        prev = _previous(lines, line)
        if prev is not None and _key_column(lines[prev]) > _indent(lines[prev]) \
                and _indent(lines[prev]) <= _indent(text) < _key_column(lines[prev]):
            return Hint(line, _indent(text), f"this line is indented {_indent(text)} spaces, but the keys of the list "
                                             f"item above start after its '- ', at {_key_column(lines[prev])} spaces: "
                                             f"indent it {_key_column(lines[prev])} spaces")
        above = f" but the line above {_key_column(lines[prev])}" if prev is not None \
            and _key_column(lines[prev]) != _indent(text) else ""
        return Hint(line, _indent(text), f"this line is indented {_indent(text)} spaces{above}: keys of one "
                                         "mapping (and items of one list) must start in the same column")
    if "found unexpected end of stream" in problem and context and "quoted scalar" in context:
        return Hint(*(context_at or (line, column)), "a quoted value is never closed: add the closing quote on the same line, or "
                                  "use a block ('>-') for text over several lines")
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return Hint(line, column, "a '[...]' or '{...}' opened above is not closed before this line")
    if "found undefined alias" in problem or "found character '%'" in problem or "'@'" in problem \
            or "'`'" in problem:
        return Hint(line, column, "a value cannot start with this character unless it is quoted")
    return None


def explain_error(exc: Any, lines: list[str]) -> Hint | None:
    """:func:`explain` for a ``yaml.MarkedYAMLError`` (the line of the hint is within ``lines``)."""
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return None
    at = (exc.context_mark.line, exc.context_mark.column) if exc.context_mark is not None else None
    hint = explain(str(exc.problem or ""), exc.context, mark.line, mark.column, lines, at)
    if hint is None or not 0 <= hint.line < len(lines):
        return None
    return hint


_UNIT_WORDS = {
    "d": ("day", "days", "天", "日"),
    "h": ("hour", "hours", "hr", "hrs", "小时"),
    "m": ("minute", "minutes", "min", "mins", "分钟"),
    "s": ("second", "seconds", "sec", "secs", "秒"),
}
# (a run of digits is tried from its start only, at most nine of them: "(\d+)" tried from every digit of a long
# number, each backtracking to its start, made a 16,000-digit literal cost 41 s of hint)
_SPELT_DURATION = re.compile(r"(?<!\d)(\d{1,9})\s*(" + "|".join(w for ws in _UNIT_WORDS.values() for w in ws) + r")(?!\w)",
                             re.IGNORECASE)


def condition_hint(text: str) -> str:
    """'; hint: ...' for condition text holding a duration in words ('24 hours', '7 days', '15天'), or a duration
    or money written another way than the language's (:func:`literal_hint`), else ''."""
    m = _SPELT_DURATION.search(text)
    if m is None:
        return literal_hint(text)  # 7D, 1.5d, 24 h, P1D; ￥0.01, 0.01元
    word = m.group(2).lower()
    unit = next(u for u, ws in _UNIT_WORDS.items() if word in ws)
    return f"; hint: durations are written {m.group(1)}{unit} (units d, h, m, s, e.g. 24h, 15d, 1h30m), not '{m.group(0)}'"

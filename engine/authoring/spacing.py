"""Canonical spacing of a condition, computed from its tokens.

Input: condition text. Output: the same tokens with canonical spaces (:func:`respace`), or the token list
(:func:`tokens`) that :mod:`policy_eval.authoring.fmt` compares before and after formatting. Line breaks
and the indentation of continuation lines are kept; comments stay at the end of their line.
"""

from __future__ import annotations

from typing import Any

from lark.exceptions import LarkError

from policy_eval.lang.parser import KEYWORDS, _lark

__all__ = ["tokens", "respace"]

_NO_SPACE_BEFORE = {"RPAR", "RSQB", "COMMA", "DOT", "COLON"}
_NO_SPACE_AFTER = {"LPAR", "LSQB", "DOT"}
# After these, '-' is unary (and '[' opens a list, '(' groups): no space follows the '-'.
_OPERATORS = {"COMPARE", "ADD", "MUL", "MINUS", "AND", "OR", "NOT", "IN", "IF", "THEN", "ELSE", "COMMA", "LPAR",
              "LSQB", "COLON"}
_POSTFIX_BASE = {"NAME", "RPAR", "RSQB", "QUANTIFIER"}


def tokens(text: str) -> list[Any] | None:
    """The condition's tokens (comments included, whitespace not), or None if it does not lex."""
    try:
        out = [t for t in _lark().lex(text, dont_ignore=True) if not t.type.startswith("__IGNORE")]
    except LarkError:
        return None
    for t in out:  # a keyword's terminal is _OR in the grammar (filtered from the tree): OR here
        if t.type in _KEYWORD_TERMINALS:
            t.type = t.type[1:]
    return out


_KEYWORD_TERMINALS = {f"_{k.upper()}" for k in KEYWORDS}


def _spaced(line: str) -> str | None:
    toks = tokens(line)
    if toks is None:
        return None
    out: list[str] = []
    prev: Any = None
    unary = False
    for t in toks:
        kind = t.type
        if prev is not None:
            space = True
            if kind in _NO_SPACE_BEFORE or prev.type in _NO_SPACE_AFTER or unary:
                space = False
            if kind in ("LPAR", "LSQB") and prev.type in _POSTFIX_BASE and not _is_keyword(prev):
                space = False  # a call f(x) or an index a[0]
            if kind == "COMMENT":
                space = True
            out.append("  " if kind == "COMMENT" else " " if space else "")
        unary = kind in ("MINUS", "ADD") and t == "-" and (prev is None or prev.type in _OPERATORS)
        out.append(str(t))
        prev = t
    return "".join(out)


def _is_keyword(tok: Any) -> bool:
    return tok.type == "QUANTIFIER"


def respace(text: str) -> str | None:
    """The text with canonical spacing between tokens, line by line; None if a line does not lex."""
    lines = text.split("\n")
    out = []
    for line in lines:
        body = line.strip(" \t\u3000")
        if not body:
            out.append("")
            continue
        spaced = _spaced(body)
        if spaced is None:
            return None
        out.append(line[: len(line) - len(line.lstrip(" "))] + spaced if len(lines) > 1 else spaced)
    return "\n".join(out).strip("\n") if len(lines) > 1 else out[0]

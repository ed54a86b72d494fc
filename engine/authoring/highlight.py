"""What each token of a policy's conditions is, for an editor to colour (LSP semantic tokens).

Input: a :class:`~policy_eval.authoring.outline.Document`. Output: ``(line, start, end, type, modifiers)`` for
each token of every expression the policy holds (conditions, lets, definitions, remedies, waiver scopes, the
reference time, message placeholders: :func:`policy_eval.authoring.references.expressions`), in document order;
0-based lines, columns in code points. YAML itself (keys, plain text) is left to the editor's YAML grammar.

The types are LSP's standard ones (:data:`TYPES`): ``keyword`` (``and``, ``any``, ``true`` ...), ``function``,
``property`` (a case field), ``parameter`` (the policy's, ``readonly``), ``variable`` (a let or definition,
``readonly``; a quantifier's variable), ``string``, ``number`` (numbers, money, durations, dates and times),
``operator`` and ``comment``. A name means what the checker takes it to mean (a let of the rule, else a
definition, else a parameter, else a case field; a quantifier's variable within its body). A token is placed
where the file holds its text; one that is not (written with a YAML escape, or a string over several lines)
is left out, and so is an expression that does not lex.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policy_eval.authoring.outline import Document
from policy_eval.authoring.references import Meanings, expressions, names
from policy_eval.authoring.spacing import tokens
from policy_eval.errors import PolicyError
from policy_eval.lang.parser import parse

__all__ = ["TYPES", "MODIFIERS", "highlight"]

TYPES = ("keyword", "function", "property", "parameter", "variable", "string", "number", "operator", "comment")
MODIFIERS = ("readonly", "declaration")

_BY_TERMINAL = {
    **dict.fromkeys(("QUANTIFIER", "AND", "OR", "NOT", "IN", "IF", "THEN", "ELSE", "TRUE", "FALSE", "NULL"), "keyword"),
    **dict.fromkeys(("INT", "DECIMAL", "DURATION", "MONEY", "YEN", "DATE", "DATETIME"), "number"),
    **dict.fromkeys(("COMPARE", "ADD", "MUL", "MINUS"), "operator"),
    "STRING": "string", "COMMENT": "comment",
}
_MEANT = {"parameter": ("parameter", ("readonly",)), "definition": ("variable", ("readonly",)),
          "let": ("variable", ("readonly",))}

Token = tuple[int, int, int, str, tuple[str, ...]]


def _kinds(text: str, means: Meanings, entry: tuple[str, int] | None) -> dict[tuple[int, int], tuple[str, tuple[str, ...]]]:
    """The names of an expression by their place in it (1-based line and column): what each means."""
    try:
        tree = parse(text)
    except PolicyError:
        return {}
    out: dict[tuple[int, int], tuple[str, tuple[str, ...]]] = {}
    for node, bound in names(tree, with_bound=True):
        place = (node.span.line, node.span.column)
        if node.name in bound:
            out[place] = ("variable", ())
        else:
            symbol = means(node.name, entry)
            out[place] = _MEANT[symbol.kind] if symbol is not None else ("property", ())
    return out


def _tokens(text: str, means: Meanings, entry: tuple[str, int] | None) -> Iterator[tuple[Any, str, tuple[str, ...]]]:
    toks = tokens(text)
    if toks is None:
        return
    kinds = _kinds(text, means, entry)
    for i, tok in enumerate(toks):
        if tok.type != "NAME":
            kind = _BY_TERMINAL.get(tok.type)
            if kind is not None:
                yield tok, kind, ()
            continue
        before = toks[i - 1].type if i else None
        after = toks[i + 1].type if i + 1 < len(toks) else None
        if before == "QUANTIFIER":
            yield tok, "variable", ("declaration",)
        elif before == "DOT":
            yield tok, "property", ()
        elif after == "LPAR" and (tok.line, tok.column) not in kinds:
            yield tok, "function", ()
        else:
            yield tok, *kinds.get((tok.line, tok.column), ("property", ()))


def highlight(doc: Document) -> list[Token]:
    """Every placed token of the document's expressions, in document order; none where the document's places are
    not its text's (the last readable analysis kept while the YAML does not parse)."""
    if doc.positions is None or doc.positions.text != doc.text.removeprefix("\ufeff"):
        return []
    means = Meanings(doc)
    lines = doc.lines
    out: list[Token] = []
    for path, text, offset, entry in expressions(doc):
        for tok, kind, modifiers in _tokens(text, means, entry):
            line, column = tok.line, tok.column
            if line == 1:
                column += offset[1]
            at_line, at_column = doc.positions.expression_position(path, line + offset[0], column)
            value = str(tok)
            written = lines[at_line - 1] if 0 < at_line <= len(lines) else ""
            if "\n" not in value and written.startswith(value, at_column - 1):
                out.append((at_line - 1, at_column - 1, at_column - 1 + len(value), kind, modifiers))
    return sorted(set(out))

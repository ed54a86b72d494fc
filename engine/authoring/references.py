"""Where a parameter, policy-level definition or let is written in a policy document, and renaming one.

Input: a :class:`~policy_eval.authoring.outline.Document` and a 0-based (line, column). Output: the symbol
named there (:func:`symbol_at`), the places it is defined and used in the document (:func:`references`: the
key that defines it and each name in a condition, let, definition, remedy, waiver scope, reference time or
message placeholder that means it), and the edits that rename it (:func:`rename_edits`).

A name's meaning follows the checker: a let is its rule's (an amendment's lets are those it writes, and those
of the rule it amends); a definition and a parameter are the policy's, and neither a let nor a definition may
take a name already taken (the loader refuses it), so a name means one of them. A quantifier's variable
(``any m in messages: ...``) hides it within its body. Each place is found in the expression's syntax tree and
mapped to the file as the checker's errors are (every YAML scalar style); a place whose text in the file is not
the name (written with a YAML escape) is left out, and renaming then refuses.

Renaming is refused for a parameter (deployment overlays and policy tests name it too), for a name this
document does not define (it is another version's), and where the new name is not a name, is a keyword or
is taken; :func:`rename_edits` raises :class:`RenameError` saying which. Whether the renamed document and
the other versions of its policy still load is for the caller to check (the language server does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policy_eval.authoring.inherited import entry_at, visible_definitions, visible_lets, visible_params
from policy_eval.authoring.outline import KEYWORDS, Document
from policy_eval.errors import PolicyError
from policy_eval.lang import ast
from policy_eval.lang.parser import parse
from policy_eval.rulebook.templates import split_template

__all__ = ["Symbol", "symbol_at", "references", "defining_place", "rename_edits", "cannot_rename", "RenameError",
           "Place", "Meanings", "expressions", "names"]

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*\Z")
_RULE_KEYS = ("when", "require", "forbid")
_REMEDY_KEYS = ("amount", "when", "duration")

Place = tuple[int, int, int]  # 0-based line, start and end columns (code points)


class RenameError(ValueError):
    """Why a rename is refused."""


@dataclass(frozen=True)
class Symbol:
    kind: str  # "parameter", "definition" or "let"
    name: str
    entry: tuple[str, int] | None = None  # a let's rule entry: ("rules", i) or ("amend", i)

    @property
    def key(self) -> tuple[Any, ...]:
        """The YAML path of the key that defines it in the document."""
        if self.kind == "let":
            assert self.entry is not None
            return (*self.entry, "let", self.name)
        return ("params" if self.kind == "parameter" else "definitions", self.name)


def expressions(doc: Document) -> Iterator[tuple[tuple[Any, ...], str, tuple[int, int], tuple[str, int] | None]]:
    """(YAML path, expression text, its offset in the scalar, the rule entry it is in) for every expression."""
    ref = doc.raw("policy", "reference_time")
    if isinstance(ref, str):
        yield ("policy", "reference_time"), ref, (0, 0), None
    shared = doc.raw("definitions")
    for name, text in (shared.items() if isinstance(shared, dict) else ()):
        if isinstance(text, str):
            yield ("definitions", name), text, (0, 0), None
    for k, waiver in enumerate(doc.raw("waivers") or []):
        if isinstance(waiver, dict) and isinstance(waiver.get("scope"), str):
            yield ("waivers", k, "scope"), waiver["scope"], (0, 0), None
    for section in ("rules", "amend"):
        entries = doc.raw(section)
        for i, rule in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(rule, dict):
                continue
            entry = (section, i)
            lets = rule.get("let")
            for name, text in (lets.items() if isinstance(lets, dict) else ()):
                if isinstance(text, str):
                    yield (*entry, "let", name), text, (0, 0), entry
            for key in _RULE_KEYS:
                if isinstance(rule.get(key), str):
                    yield (*entry, key), rule[key], (0, 0), entry
            for j, remedy in enumerate(rule.get("remedies") or []):
                for key in _REMEDY_KEYS:
                    if isinstance(remedy, dict) and isinstance(remedy.get(key), str):
                        yield (*entry, "remedies", j, key), remedy[key], (0, 0), entry
            if isinstance(rule.get("message"), str):
                parts, _ = split_template(rule["message"])
                for part in parts:
                    if not isinstance(part, str):
                        yield (*entry, "message"), part.text, (part.line, part.column), entry


def names(node: ast.Node, bound: frozenset[str] = frozenset(), *,
          with_bound: bool = False) -> Iterator[tuple[ast.Name, frozenset[str]]]:
    """The free names of an expression (and, ``with_bound``, the uses of a quantifier's variable within its body
    too), each with the variables bound where it is written."""
    if isinstance(node, ast.Name):
        if with_bound or node.name not in bound:
            yield node, bound
    elif isinstance(node, ast.Quant):
        yield from names(node.collection, bound, with_bound=with_bound)
        yield from names(node.body, bound | {node.var}, with_bound=with_bound)
    else:
        for child in _children(node):
            yield from names(child, bound, with_bound=with_bound)


def _children(node: ast.Node) -> tuple[ast.Node, ...]:
    if isinstance(node, (ast.Attr, ast.Unary)):
        return (node.obj,) if isinstance(node, ast.Attr) else (node.operand,)
    if isinstance(node, ast.Index):
        return node.obj, node.index
    if isinstance(node, ast.Binary):
        return node.left, node.right
    if isinstance(node, ast.Cond):
        return node.test, node.then, node.other
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, ast.ListLit):
        return node.items
    return ()


class Meanings:
    """What a free name means where it is written, with each scope's names read once."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.definitions = set(visible_definitions(doc))  # (the file's, and those a revision inherits)
        self.params = set(visible_params(doc))
        self.lets: dict[tuple[str, int], set[str]] = {}

    def __call__(self, name: str, entry: tuple[str, int] | None) -> Symbol | None:
        """What ``name`` in an expression of ``entry`` (None: outside the rules) means: the rule's let (its own, and an
        amendment's inherited ones), else the policy's definition, else its parameter."""
        if entry is not None:
            lets = self.lets.get(entry)
            if lets is None:
                lets = self.lets[entry] = set(visible_lets(self.doc, entry))
            if name in lets:
                return Symbol("let", name, entry)
        if name in self.definitions:
            return Symbol("definition", name)
        if name in self.params:
            return Symbol("parameter", name)
        return None


def defining_place(doc: Document, symbol: Symbol) -> Place | None:
    """The place of the key that defines ``symbol`` in the document; None when another version defines it."""
    if doc.positions is None or doc.positions.nodes.get(symbol.key) is None and doc.raw(*symbol.key) is None:
        return None
    line, column = doc.positions.where(symbol.key, key=True)
    text = doc.lines[line - 1] if 0 < line <= len(doc.lines) else ""
    start = column - 1
    return (line - 1, start, start + len(symbol.name)) if text.startswith(symbol.name, start) else None


def _uses(doc: Document, symbol: Symbol, means: Meanings | None = None,
          renamed: str | None = None) -> tuple[list[Place], int]:
    """The places ``symbol`` is used in the document, and how many uses could not be placed (escaped text) or, when
    it is to be ``renamed``, would be taken by a quantifier's variable of that name."""
    places: list[Place] = []
    unplaced = 0
    if doc.positions is None:
        return places, unplaced
    means = means or Meanings(doc)
    for path, text, offset, entry in expressions(doc):
        try:
            tree = parse(text)
        except PolicyError:  # (a condition being typed: its names are not known)
            continue
        for node, bound in names(tree):
            if node.name != symbol.name or means(node.name, entry) != symbol:
                continue
            if renamed in bound:
                raise RenameError(f"'{renamed}' is a quantifier's variable where '{symbol.name}' is used in "
                                  f"'{' '.join(text.split())}': the renamed use would mean the variable")
            line, column = node.span.line, node.span.column
            if line == 1:
                column += offset[1]
            at_line, at_column = doc.positions.expression_position(path, line + offset[0], column)
            written = doc.lines[at_line - 1] if 0 < at_line <= len(doc.lines) else ""
            if written.startswith(symbol.name, at_column - 1):
                places.append((at_line - 1, at_column - 1, at_column - 1 + len(symbol.name)))
            else:
                unplaced += 1
    return places, unplaced


def symbol_at(doc: Document, line: int, column: int) -> Symbol | None:
    """The parameter, definition or let whose defining key, or one of whose uses, is at a place."""
    if doc.positions is None or not 0 <= line < len(doc.lines):
        return None
    text = doc.lines[line]
    for m in re.finditer(r"[A-Za-z_]\w*", text):
        if m.start() <= column <= m.end():
            name = m.group(0)
            break
    else:
        return None
    entry = entry_at(doc, line)
    at = (line, m.start(), m.end())
    # (in a rule, the name may be its let, or the policy's name where no let takes it; the place decides: the
    # defining key, or a use the syntax tree finds, not a word in a string or a field's name)
    means = Meanings(doc)
    for symbol in dict.fromkeys(s for s in (means(name, entry), means(name, None)) if s is not None):
        if defining_place(doc, symbol) == at or at in _uses(doc, symbol, means)[0]:
            return symbol
    return None


def references(doc: Document, symbol: Symbol, include_definition: bool = True) -> list[Place]:
    """The places ``symbol`` is written in the document, in order: its defining key (when asked, and when this
    document defines it) and its uses."""
    key = defining_place(doc, symbol) if include_definition else None
    return sorted(([key] if key is not None else []) + _uses(doc, symbol)[0])


def cannot_rename(doc: Document, symbol: Symbol) -> str | None:
    """Why ``symbol`` is not renamed in this document, whatever the new name; None when it may be."""
    if symbol.kind == "parameter":
        return (f"parameter '{symbol.name}' is not renamed here: deployment overlays (--params) and policy tests "
                "name it too; rename it in each by hand")
    if defining_place(doc, symbol) is None:
        return (f"{symbol.kind} '{symbol.name}' is not defined in this document (another version of the policy "
                "defines it): rename it there")
    return None


def rename_edits(doc: Document, symbol: Symbol, new_name: str) -> list[tuple[Place, str]]:
    """The edits that rename ``symbol`` to ``new_name`` in the document; raises :class:`RenameError` when the
    rename is refused (see the module's text)."""
    refused = cannot_rename(doc, symbol)
    if refused is not None:
        raise RenameError(refused)
    if not _IDENTIFIER.match(new_name) or new_name in KEYWORDS:
        raise RenameError(f"'{new_name}' is not a name a {symbol.kind} can take (a letter or '_' then letters, digits "
                          "or '_'; not a keyword)")
    key = defining_place(doc, symbol)
    assert key is not None  # (cannot_rename said so)
    if new_name == symbol.name:
        return []
    means = Meanings(doc)
    taken = means(new_name, symbol.entry)
    if taken is None and symbol.kind == "definition":  # (a rule's let of that name would hide it)
        taken = next((t for e in _entries(doc) if (t := means(new_name, e)) is not None and t.kind == "let"), None)
    if taken is not None or doc.case_type.field_type(new_name) is not None:
        what = f"a {taken.kind}" if taken is not None else "a case field"
        raise RenameError(f"'{new_name}' is already {what} of this policy")
    uses, unplaced = _uses(doc, symbol, means, renamed=new_name)
    if unplaced:
        raise RenameError(f"{unplaced} use(s) of '{symbol.name}' are written with YAML escapes; rename by hand")
    return [(place, new_name) for place in sorted([key, *uses])]


def _entries(doc: Document) -> Iterator[tuple[str, int]]:
    for section in ("rules", "amend"):
        entries = doc.raw(section)
        yield from ((section, i) for i in range(len(entries) if isinstance(entries, list) else 0))

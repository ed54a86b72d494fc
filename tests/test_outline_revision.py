"""Editor facts (hover, completion, symbols) in a revision file, which inherits what it does not write: before,
a revision that did not restate applies_to offered no case fields at all, and an amendment's conditions were
offered none of the parameters, definitions and lets it inherits (the language server reads these facts)."""

from __future__ import annotations

from pathlib import Path

import policytext as pt
from test_compose import BASE
from test_inherit import _base, _revision

from policy_eval.authoring.outline import analyse, complete, hover, symbols
from policy_eval.expression import default_functions

BASE_WITH = BASE.replace("rules:\n", "definitions:\n  answered: exists(request.merchant_response)\nrules:\n", 1) \
    .replace('    when: request.type == "refund_only"\n    require:',
             '    when: request.type == "refund_only"\n    let:\n      limit: refund_only_limit\n    require:', 1)
AMEND = "amend:\n  - id: refund-only-handling\n    severity: critical\n    message: late by {limit} \n"


def _doc(folder: Path):  # type: ignore[no-untyped-def]
    _base(folder, BASE_WITH)
    rev = _revision(folder, AMEND)
    return analyse(rev, rev.read_text(encoding="utf-8"), default_functions()), rev


def _at(rev: Path, text: str) -> tuple[int, int]:
    lines = rev.read_text(encoding="utf-8").splitlines()
    row = next(i for i, x in enumerate(lines) if text in x)
    return row, lines[row].index(text)


def test_completion_in_an_amendment_offers_what_the_revision_inherits(tmp_path: Path) -> None:
    doc, rev = _doc(tmp_path)
    assert doc.errors == [] and doc.version is not None
    row, col = _at(rev, "{limit}")
    got = {(i.label, i.kind) for i in complete(doc, row, col + 1)}
    assert {("refund_only_limit", "parameter"), ("return_limit", "parameter"), ("answered", "definition"),
            ("limit", "let"), ("request", "field"), ("order", "field")} <= got


def test_hover_in_an_amendment_shows_the_inherited_let_parameter_and_rule(tmp_path: Path) -> None:
    doc, rev = _doc(tmp_path)
    row, col = _at(rev, "{limit}")
    assert hover(doc, row, col + 2) == "**let** `limit` = `refund_only_limit`"
    row, col = _at(rev, "refund-only-handling")
    said = hover(doc, row, col + 3) or ""
    assert "**rule** `refund-only-handling`: refund-only requests are handled in time" in said
    assert "clause: demo 2.2" in said and "amended" in said


def test_an_amendment_is_a_symbol_of_the_revision(tmp_path: Path) -> None:
    doc, _ = _doc(tmp_path)
    assert "refund-only-handling (amended)" in [s[0] for s in symbols(doc)]


def test_a_revision_that_does_not_restate_applies_to_gets_the_case_fields(tmp_path: Path) -> None:
    doc, rev = _doc(tmp_path)
    pt.write(rev, rev.read_text(encoding="utf-8") + "    when: request.\n")
    doc = analyse(rev, rev.read_text(encoding="utf-8"), default_functions())
    row, col = _at(rev, "request.")
    labels = {i.label for i in complete(doc, row, col + len("request."))}
    assert {"submitted_at", "type", "merchant_response"} <= labels


def test_while_the_revision_does_not_load_completion_reads_the_versions_it_revises(tmp_path: Path) -> None:
    doc, rev = _doc(tmp_path)
    pt.write(rev, rev.read_text(encoding="utf-8").replace("late by {limit} ", "late by {limit +} "))
    doc = analyse(rev, rev.read_text(encoding="utf-8"), default_functions())
    assert doc.errors and doc.version is None  # the placeholder is being typed
    row, col = _at(rev, "{limit")
    got = {(i.label, i.kind) for i in complete(doc, row, col + 1)}
    assert {("refund_only_limit", "parameter"), ("answered", "definition"), ("limit", "let"),
            ("request", "field")} <= got

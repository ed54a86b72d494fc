"""The clause table (docs/clauses.yaml, rendered into docs/rules.md) against the rulebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_eval.errors import PolicyLoadError
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.ruletable import ClauseRow, clause_errors, load_clauses

ROOT = Path(__file__).resolve().parent.parent
CLAUSES = ROOT / "docs" / "clauses.yaml"


@pytest.fixture(scope="module")
def book():  # type: ignore[no-untyped-def]
    return load_rulebook(ROOT / "policies")


def test_every_row_names_existing_rules_and_every_rule_has_a_row(book) -> None:  # type: ignore[no-untyped-def]
    assert clause_errors(book, load_clauses(CLAUSES)) == []


def test_a_row_naming_a_missing_rule_fails(book) -> None:  # type: ignore[no-untyped-def]
    rows = [*load_clauses(CLAUSES),
            ClauseRow("doc", "src", "9.9", "text", ("after-sales/no-such-rule@2", "after-sales/refund-only-window"), "")]
    errors = clause_errors(book, rows)
    assert "doc 9.9: after-sales/no-such-rule@2 is not a rule of the rulebook" in errors
    assert "doc 9.9: after-sales/refund-only-window names no version (write policy/rule@version)" in errors


def test_a_rule_in_no_row_fails(book) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in load_clauses(CLAUSES) if "after-sales/unshipped-auto-refund@2" not in r.rules]
    assert "rule after-sales/unshipped-auto-refund@2 is in no row of the clause table" in clause_errors(book, rows)


def test_a_row_needs_rules_or_a_reason(book) -> None:  # type: ignore[no-untyped-def]
    rows = [*load_clauses(CLAUSES), ClauseRow("doc", "src", "1", "text", (), "")]
    assert "doc 1: give either rules or a reason, not neither" in clause_errors(book, rows)


def test_every_source_document_is_in_the_table() -> None:
    sources = {r.source.split(",")[0].split(" ")[0] for r in load_clauses(CLAUSES)}
    assert {"seeds/000", "seeds/001", "seeds/002", "seeds/003", "seeds/004"} <= sources


def test_an_unquoted_text_with_a_comma_is_an_error_at_its_place(tmp_path: Path) -> None:
    # Regression: `{text: a, b, rules: [...]}` made "b" a key and cut the text at its first comma, silently.
    path = tmp_path / "clauses.yaml"
    path.write_text("documents:\n  - document: d\n    clauses:\n"
                    "      - {clause: '1', text: 商家应处理, 逾期自动退款, rules: [x]}\n", encoding="utf-8")
    with pytest.raises(PolicyLoadError, match="unknown key '逾期自动退款'") as info:
        load_clauses(path)
    assert (info.value.line, info.value.column) == (4, 36)


def test_every_text_is_whole() -> None:
    rows = {(r.document, r.clause): r.text for r in load_clauses(CLAUSES)}
    assert rows[("拼多多全国联保规则", "三.1")].endswith("按每单100元向消费者承担违约赔付责任")

"""A revision's errors land in the revision (issue 12: "errors located in the file that caused them").

An inherited part (a rule, a definition, a waiver) checked in the version it is written in; when it fails
in a revision, the revision's change is the cause: the error is placed at the revision's entry that changed
what the part reads, and says where the part is written. Expected lines and columns are computed from the
texts written here, not taken from the engine's output.
"""

from __future__ import annotations

from pathlib import Path

import policytext as pt
import pytest
from test_compose import BASE, DEPENDENT

from policy_eval.errors import ErrorList, PolicyError
from policy_eval.rulebook import load_rulebook

ENDED = "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"


def _base(folder: Path, body: str) -> Path:
    return pt.write(folder / "v1.yaml", pt.policy(body).replace("  effective_from: 2020-01-01\n", ENDED))


def _revision(folder: Path, tail: str) -> Path:
    return pt.write(folder / "v2.yaml", 'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n'
                                        "  effective_from: 2024-06-01\n" + tail)


def _errors(folder: Path) -> list[PolicyError]:
    with pytest.raises(ErrorList) as info:
        load_rulebook(folder)
    return list(info.value.errors)


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def _column_of(path: Path, line: int, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines()[line - 1].index(text) + 1


def test_an_inherited_rule_that_fails_is_reported_at_the_revised_parameter(tmp_path: Path) -> None:
    base = _base(tmp_path, BASE)
    rev = _revision(tmp_path, "params:\n  refund_only_limit: 72.00 CNY\n")
    (err,) = _errors(tmp_path)
    line = _line_of(base, "request.submitted_at + refund_only_limit")
    column = _column_of(base, line, "request.submitted_at + refund_only_limit")
    assert (err.file, err.line) == (str(rev), _line_of(rev, "refund_only_limit: 72.00 CNY"))
    assert err.column == _column_of(rev, err.line, "72.00 CNY")
    assert err.message == (f"rule refund-only-handling in v1.yaml:{line}:{column} (inherited): "
                           "cannot add money to datetime")
    assert "refund_only_limit: 72.00 CNY" in str(err)  # the caret line is the revision's


def test_a_rule_reading_the_parameter_through_an_inherited_definition(tmp_path: Path) -> None:
    # the definition still checks (it only names the parameter); the rule using it does not
    _base(tmp_path, BASE.replace("rules:\n", "definitions:\n  limit: refund_only_limit\nrules:\n", 1)
          .replace("request.submitted_at + refund_only_limit", "request.submitted_at + limit"))
    rev = _revision(tmp_path, "params:\n  refund_only_limit: 72.00 CNY\n")
    (err,) = _errors(tmp_path)
    assert (err.file, err.line) == (str(rev), _line_of(rev, "refund_only_limit:"))
    assert err.message.startswith("rule refund-only-handling in v1.yaml:") and "(inherited)" in err.message


def test_an_inherited_definition_that_fails_names_itself(tmp_path: Path) -> None:
    base = _base(tmp_path, BASE.replace("rules:\n", "definitions:\n  due: request.submitted_at + refund_only_limit\n"
                                                    "rules:\n", 1))
    rev = _revision(tmp_path, "params:\n  refund_only_limit: 72.00 CNY\n")
    errors = _errors(tmp_path)  # the definition's, and the rule's that adds the parameter itself
    assert {(e.file, e.line) for e in errors} == {(str(rev), _line_of(rev, "refund_only_limit:"))}
    line = _line_of(base, "  due: ")
    assert any(e.message.startswith(f"definition due in v1.yaml:{line}:") and "cannot add money" in e.message
               for e in errors)


def test_a_withdrawn_dependency_is_reported_at_the_withdrawal(tmp_path: Path) -> None:
    base = _base(tmp_path, DEPENDENT)
    rev = _revision(tmp_path, "withdraw: [in-window]\n")
    errors = _errors(tmp_path)
    assert {(e.file, e.line) for e in errors} == {(str(rev), _line_of(rev, "withdraw:"))}
    depends = _line_of(base, "depends_on: {in-window: complied}")
    assert any(e.message.startswith(f"rule auto-refund in v1.yaml:{depends}:")
               and "depends on rule 'in-window', which this version withdraws" in e.message for e in errors)
    assert any(e.message.startswith("rule late-notice in v1.yaml:") for e in errors)


def test_a_revision_changing_the_case_kind_is_blamed_at_applies_to(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    rev = _revision(tmp_path, "  applies_to: chat\n")
    errors = _errors(tmp_path)
    assert errors and {(e.file, e.line) for e in errors} == {(str(rev), _line_of(rev, "applies_to: chat"))}
    assert all("(inherited)" in e.message for e in errors)


def test_an_error_of_the_base_stays_in_the_base(tmp_path: Path) -> None:
    base = _base(tmp_path, BASE.replace("request.submitted_at + refund_only_limit", "request.submitted_at + 1"))
    _revision(tmp_path, "params:\n  refund_only_limit: 72h\n")
    (err,) = _errors(tmp_path)  # reported once, where it is written; the revision is not built
    assert err.file == str(base) and "(inherited)" not in err.message

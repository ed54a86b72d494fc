"""A revision changes some keys of an inherited rule (``amend:``) instead of restating it whole.

The base (tests/test_compose.py BASE, version 1 until 2024-06-01) has refund-only-handling: ``when`` a refund-only
request, ``require`` an answer within refund_only_limit (48h), severity high, message "handled late". Expected
verdicts are worked out from those texts; expected lines and columns are computed from the files written here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
from test_compose import BASE
from test_inherit import _base, _errors, _line_of, _revision

from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator

SUBMITTED = "2024-07-01T10:00:00+08:00"  # judged by version 2 (from 2024-06-01)


def _answered(hours: int, submitted: str = SUBMITTED, **request: Any) -> dict[str, Any]:
    at = dt.datetime.fromisoformat(submitted) + dt.timedelta(hours=hours)
    case = pt.after_sale_case(submitted_at=submitted, merchant_response={"at": at.isoformat(), "action": "agree"},
                              **request)
    case["snapshot_at"] = (at + dt.timedelta(days=1)).isoformat()
    return case


def _verdict(folder: Path, case: dict[str, Any], rule: str = "refund-only-handling") -> Any:
    (got,) = [r for r in Evaluator(load_rulebook(folder)).evaluate(case).results if r.rule == rule]
    return got


def test_an_amendment_changes_the_keys_it_gives_and_inherits_the_others(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    rev = _revision(tmp_path, "amend:\n  - id: refund-only-handling\n    severity: critical\n"
                              "    message: answered after {refund_only_limit}\n")
    late = _verdict(tmp_path, _answered(50))
    assert (late.version, late.outcome.value, late.severity, late.message) == ("2", "violated", "critical",
                                                                              "answered after 48h")
    assert late.title == "refund-only requests are handled in time" and late.clause == "demo 2.2"  # inherited
    assert _verdict(tmp_path, _answered(20)).outcome.value == "complied"  # the inherited require, 48 h
    assert _verdict(tmp_path, _answered(50, type="return_refund")).outcome.value == "not_applicable"  # its when
    (rule,) = [r for r in load_rulebook(tmp_path).policies["demo"].versions[1].rules
               if r.id == "refund-only-handling"]
    assert (rule.file, rule.line) == (str(rev), _line_of(rev, "- id: refund-only-handling"))
    # the rule keeps its place among the inherited rules
    assert [r.id for r in load_rulebook(tmp_path).policies["demo"].versions[1].rules] == [
        "refund-only-handling", "return-handling", "old-rule"]
    # version 1 is untouched
    before = _verdict(tmp_path, _answered(50, submitted="2024-03-01T10:00:00+08:00"))
    assert (before.version, before.severity, before.message) == ("1", "high", "handled late")


def test_forbid_replaces_an_inherited_require_and_lets_merge_by_name(tmp_path: Path) -> None:
    _base(tmp_path, BASE.replace('    when: request.type == "refund_only"\n    require:',
                                 '    when: request.type == "refund_only"\n    let:\n      limit: refund_only_limit\n'
                                 '      slack: 0h\n    require:', 1)
          .replace("request.submitted_at + refund_only_limit", "request.submitted_at + limit + slack", 1))
    _revision(tmp_path, "amend:\n  - id: refund-only-handling\n    let:\n      limit: 24h\n"
                        "    forbid: request.merchant_response.at > request.submitted_at + limit + slack\n")
    assert _verdict(tmp_path, _answered(30)).outcome.value == "violated"  # 30 h > 24 h + 0 h (slack inherited)
    assert _verdict(tmp_path, _answered(20)).outcome.value == "complied"


def test_amending_a_rule_the_revised_version_lacks_is_located_with_a_suggestion(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    rev = _revision(tmp_path, "amend:\n  - id: refund-only-handlin\n    severity: low\n")
    (err,) = _errors(tmp_path)
    assert (err.file, err.line) == (str(rev), _line_of(rev, "- id: refund-only-handlin"))
    assert "amends rule 'refund-only-handlin', which the revised version does not have" in err.message
    assert "refund-only-handling" in err.message  # did you mean


@pytest.mark.parametrize(("tail", "message"), [
    ("amend:\n  - id: old-rule\n    severity: low\nwithdraw: [old-rule]\n", "both amended and withdrawn"),
    ("amend:\n  - id: old-rule\n    severity: low\n  - id: old-rule\n    title: again\n", "amended twice"),
    ("rules:\n  - id: old-rule\n    title: t\n    clause: c\n    severity: low\n    require: 'true'\n    message: m\n"
     "amend:\n  - id: old-rule\n    severity: low\n", "both replaced and amended"),
])
def test_an_amendment_that_conflicts_with_another_change_is_an_error(tmp_path: Path, tail: str, message: str) -> None:
    _base(tmp_path, BASE)
    rev = _revision(tmp_path, tail)
    errors = _errors(tmp_path)
    assert any(e.file == str(rev) and message in e.message for e in errors), [str(e) for e in errors]


def test_an_error_in_an_amended_key_is_located_in_the_amendment(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    rev = _revision(tmp_path, "amend:\n  - id: refund-only-handling\n    when: request.type == 3\n")
    (err,) = _errors(tmp_path)
    assert (err.file, err.line) == (str(rev), _line_of(rev, "when: request.type == 3"))
    assert "inherited" not in err.message


def test_an_inherited_key_an_amendment_breaks_names_where_it_is_written(tmp_path: Path) -> None:
    # the let the inherited require reads becomes money: the require no longer checks
    base = _base(tmp_path, BASE.replace('    when: request.type == "refund_only"\n    require:',
                                        '    when: request.type == "refund_only"\n    let:\n'
                                        '      limit: refund_only_limit\n    require:', 1)
                 .replace("request.submitted_at + refund_only_limit", "request.submitted_at + limit", 1))
    rev = _revision(tmp_path, "amend:\n  - id: refund-only-handling\n    let:\n      limit: 1.00 CNY\n")
    (err,) = _errors(tmp_path)
    assert err.file == str(rev)
    assert err.line == _line_of(rev, "- id: refund-only-handling")
    line = _line_of(base, "request.submitted_at + limit")
    assert err.message.startswith(f"require of rule refund-only-handling, inherited from v1.yaml:{line}:")
    assert "unchanged by this amendment" in err.message and "cannot add money to datetime" in err.message


def test_amend_belongs_to_a_revision(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "v1.yaml", pt.policy(BASE) + "amend:\n  - id: old-rule\n    severity: low\n")
    (err,) = _errors(tmp_path)
    assert (err.file, err.line) == (str(path), _line_of(path, "amend:"))
    assert "'amend' belongs to a revision" in err.message


def test_an_amendment_must_change_something_and_not_give_both_conditions(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    _revision(tmp_path, "amend:\n  - id: old-rule\n")
    assert any("this amendment changes nothing" in e.message for e in _errors(tmp_path))
    _revision(tmp_path, "amend:\n  - id: old-rule\n    require: 'true'\n    forbid: 'false'\n")
    assert any("both 'require' and 'forbid'" in e.message for e in _errors(tmp_path))


def test_a_revision_of_a_revision_inherits_the_amended_rule(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    _revision(tmp_path, "amend:\n  - id: refund-only-handling\n    severity: critical\n").write_text(
        'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n  effective_from: 2024-06-01\n'
        "  effective_until: 2025-01-01\namend:\n  - id: refund-only-handling\n    severity: critical\n",
        encoding="utf-8")
    pt.write(tmp_path / "v3.yaml", 'policy:\n  id: demo\n  version: "3"\n  revises: "2"\n  effective_from: 2025-01-01\n'
                                   "amend:\n  - id: refund-only-handling\n    message: late under version 3\n")
    got = _verdict(tmp_path, _answered(50, submitted="2025-02-01T10:00:00+08:00"))
    assert (got.version, got.severity, got.message) == ("3", "critical", "late under version 3")
    # a parameter version 3 breaks is blamed on version 3, naming the rule as version 2 amended it
    pt.write(tmp_path / "v3.yaml", 'policy:\n  id: demo\n  version: "3"\n  revises: "2"\n  effective_from: 2025-01-01\n'
                                   "params:\n  refund_only_limit: 3.00 CNY\n")
    errors = _errors(tmp_path)
    assert errors and all(e.file == str(tmp_path / "v3.yaml") for e in errors)
    assert any(e.message.startswith("rule refund-only-handling in v2.yaml:") for e in errors), [str(e) for e in errors]


def test_a_new_binding_an_amended_binding_reads_comes_before_it(tmp_path: Path) -> None:
    # an outside author's case: the amendment adds short_grace and makes the inherited deadline read it; new
    # bindings went after the inherited ones, so deadline (kept in its place) read a name not yet bound
    _base(tmp_path, BASE.replace('    when: request.type == "refund_only"\n    require:',
                                 '    when: request.type == "refund_only"\n    let:\n'
                                 '      deadline: request.submitted_at + refund_only_limit\n    require:', 1)
          .replace("request.merchant_response.at <= request.submitted_at + refund_only_limit",
                   "request.merchant_response.at <= deadline", 1))
    _revision(tmp_path, "amend:\n  - id: refund-only-handling\n    let:\n      short_grace: 5h\n"
                        "      deadline: request.submitted_at + short_grace\n")
    assert _verdict(tmp_path, _answered(6)).outcome.value == "violated"  # 6 h > 5 h
    assert _verdict(tmp_path, _answered(4)).outcome.value == "complied"
    (rule,) = [r for r in load_rulebook(tmp_path).policies["demo"].versions[1].rules if r.id == "refund-only-handling"]
    assert list(rule.lets) == ["short_grace", "deadline"]


@pytest.mark.parametrize(("tail", "said"), [
    ("amend:\n  - id: demo/old-rule\n    severity: low\n", "amend #1.id: a rule's id is written without its policy: "
                                                          "'old-rule'"),
    ("amend:\n  id: old-rule\n  severity: low\n", "amend: expected array, got a mapping; each entry starts with '- '"),
])
def test_an_amendment_misshapen_says_how_to_write_it(tmp_path: Path, tail: str, said: str) -> None:
    # an outside author's audit: 'does not match ^[a-z0-9][a-z0-9_.-]*$' and 'expected array, got a mapping'
    _base(tmp_path, BASE)
    _revision(tmp_path, tail)
    assert any(said in e.message for e in _errors(tmp_path)), [e.message for e in _errors(tmp_path)]


def test_a_misspelt_policy_id_in_a_revision_suggests_the_one_meant(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    pt.write(tmp_path / "v2.yaml", 'policy:\n  id: dem\n  version: "2"\n  revises: "1"\n  effective_from: 2024-06-01\n'
                                   "amend:\n  - id: old-rule\n    severity: low\n")
    (err,) = _errors(tmp_path)
    assert err.message == ("policy 'dem' has no version '1' to revise (versions: 2); did you mean policy id 'demo', "
                           "which has one?")


def test_depending_on_a_rule_the_revision_withdraws_says_so(tmp_path: Path) -> None:
    _base(tmp_path, BASE)
    rev = _revision(tmp_path, "amend:\n  - id: refund-only-handling\n    depends_on: {old-rule: complied}\n"
                              "withdraw: [old-rule]\n")
    (err,) = _errors(tmp_path)
    assert err.file == str(rev) and err.line == _line_of(rev, "depends_on:")
    assert "depends on rule 'old-rule', which this version withdraws" in err.message


def test_many_amendments_and_bindings_cost_linear_time(tmp_path: Path) -> None:
    """Loading must cost no more than the size allows: each amendment once looked through every YAML node of the
    revision, and each new binding through every binding (quadratic in the file). 600 rules, each amended with
    20 new bindings, load well within the bound."""
    from cpulimit import cpu_limit

    rules = "".join(f"  - id: r{i}\n    title: t\n    clause: c\n    severity: low\n    require: 'true'\n"
                    f"    message: m\n" for i in range(600))
    _base(tmp_path, "rules:\n" + rules)
    amend = "".join(f"  - id: r{i}\n    let:\n" + "".join(f"      x{k}: 1d\n" for k in range(20)) for i in range(600))
    _revision(tmp_path, "amend:\n" + amend)
    with cpu_limit(15):  # (about 1.5 s here; the quadratic code took 40 s of CPU)
        rulebook = load_rulebook(tmp_path)
    assert len(rulebook.policies["demo"].versions[1].rules) == 600

"""The verdict model: four outcomes, what each carries, reproducibility, and the JSON shape.

Fixture: tests/data/policies/good/refunds (version 2 in force from 2021-01-01):
  reply-in-time            require exists(reply.at) and reply.at <= deadline   (deadline = submitted + 24h)
  refund-amount            when request.type == "refund"; forbid request.amount > order.paid
  received-before-request  require not exists(order.received_at) or order.received_at <= request.submitted_at
  replied-or-quick         require exists(reply.at) or order.handling <= handling_limit
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from policy_eval.rulebook import Rulebook, load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, Outcome, RuleResult

DATA = Path(__file__).parent / "data" / "policies"
GOOD = DATA / "good"
SCHEMAS = DATA / "schemas"
RESULT_SCHEMA = Path(__file__).parents[1] / "schemas" / "result.schema.json"

SUBMITTED = "2021-03-02T10:00:00+08:00"


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook(GOOD, schema_dir=SCHEMAS)


@pytest.fixture(scope="module")
def evaluator(book: Rulebook) -> Evaluator:
    return Evaluator(book)


def _case(reply: str | None = "2021-03-04T10:00:00+08:00", **order: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "kind": "refund", "case_id": "v1",
        "request": {"type": "refund", "submitted_at": SUBMITTED, "amount": "120.00"},
        "order": {"store_id": "S-2", "category": "水果", "paid": "59.90", "received_at": "2021-03-01T10:00:00+08:00",
                  **order},
    }
    if reply is not None:
        case["reply"] = {"at": reply}
    return case


def _rules(result: CaseResult) -> dict[str | None, RuleResult]:
    return {r.rule: r for r in result.results}


# --- outcomes ----------------------------------------------------------------------------------------------
def test_there_are_exactly_four_outcomes(evaluator: Evaluator) -> None:
    assert sorted(o.value for o in Outcome) == ["complied", "not_applicable", "undetermined", "violated"]
    seen = set()
    for case in (_case(), _case(reply=None), {**_case(), "request": {"type": "question", "submitted_at": SUBMITTED}}):
        result = evaluator.evaluate(case)
        seen |= {r.outcome for r in result.results}
        assert sum(result.counts().values()) == len(result.results)
        assert set(result.counts()) == {o.value for o in Outcome}
    assert seen == set(Outcome)


def test_violated_carries_the_message_with_values_and_exact_remedies(evaluator: Evaluator) -> None:
    verdict = _rules(evaluator.evaluate(_case()))["reply-in-time"]
    assert verdict.outcome is Outcome.VIOLATED
    assert verdict.message == ("v2: replied at 2021-03-04T10:00:00+08:00, 1d after the deadline "
                               "2021-03-03T10:00:00+08:00; {not a placeholder}")
    assert verdict.reason == verdict.message
    assert list(verdict.remedies) == [
        {"kind": "compensate", "to": "buyer", "amount": {"amount": "100.00", "currency": "CNY"},
         "amount_text": "100.00 CNY"},
        {"kind": "refund_paid", "to": "buyer", "amount": {"amount": "29.95", "currency": "CNY"},
         "amount_text": "29.95 CNY"},  # order.paid * 0.5, exactly
    ]


def test_a_remedy_whose_condition_is_false_is_left_out(evaluator: Evaluator) -> None:
    verdict = _rules(evaluator.evaluate(_case(category="服装")))["reply-in-time"]
    assert [r["kind"] for r in verdict.remedies] == ["compensate"]


def test_money_in_messages_is_exact(evaluator: Evaluator) -> None:
    verdict = _rules(evaluator.evaluate(_case()))["refund-amount"]
    assert verdict.message == "refund 120.00 CNY exceeds the 59.90 CNY paid"


def test_undetermined_lists_the_missing_paths_that_decided_it(evaluator: Evaluator) -> None:
    case = _case(reply=None)
    del case["request"]["amount"]
    rules = _rules(evaluator.evaluate(case))
    # exists(reply.at) is false, not unknown: only order.handling is to blame
    assert rules["replied-or-quick"].outcome is Outcome.UNDETERMINED
    assert rules["replied-or-quick"].missing == ("order.handling",)
    assert rules["replied-or-quick"].reason == "undetermined: missing order.handling"
    assert rules["refund-amount"].missing == ("request.amount",)
    # reply.at is missing as well, but read only under exists(): reply-in-time is decided (violated)
    assert rules["reply-in-time"].outcome is Outcome.VIOLATED and rules["reply-in-time"].missing == ()


def test_an_unknown_when_is_undetermined_naming_its_paths(evaluator: Evaluator) -> None:
    case = _case()
    del case["request"]["type"]
    verdict = _rules(evaluator.evaluate(case))["refund-amount"]
    assert (verdict.outcome, verdict.missing) == (Outcome.UNDETERMINED, ("request.type",))


def test_decided_verdicts_name_no_missing_paths(evaluator: Evaluator) -> None:
    for verdict in evaluator.evaluate(_case()).results:
        assert verdict.missing == ()


def test_the_explanation_lists_sub_expression_values(evaluator: Evaluator) -> None:
    verdict = _rules(evaluator.evaluate(_case()))["reply-in-time"]
    steps = {e["expr"]: e["value"] for e in verdict.explanation}
    assert steps["request.submitted_at + handling_limit"] == "2021-03-03T10:00:00+08:00"
    assert steps["handling_limit"] == "24h"  # as the policy wrote it (issue 18 item 10)
    assert steps["reply.at <= deadline"] == "false"
    assert steps["exists(reply.at) and reply.at <= deadline"] == "false"


def test_explain_mode_explains_complied_verdicts_too(book: Rulebook) -> None:
    verdict = _rules(Evaluator(book, explain=True).evaluate(_case()))["received-before-request"]
    assert verdict.outcome is Outcome.COMPLIED
    assert {"expr": "order.received_at <= request.submitted_at", "value": "true"} in verdict.explanation


def test_inputs_record_the_values_read(evaluator: Evaluator) -> None:
    rules = _rules(evaluator.evaluate(_case()))
    assert rules["reply-in-time"].inputs == {"reply.at": "2021-03-04T10:00:00+08:00", "request.submitted_at": SUBMITTED}
    assert rules["refund-amount"].inputs == {"request.type": "refund",
                                             "request.amount": {"amount": "120.00", "currency": "CNY"},
                                             "order.paid": {"amount": "59.90", "currency": "CNY"}}
    assert rules["received-before-request"].inputs == {"order.received_at": "2021-03-01T10:00:00+08:00",
                                                       "request.submitted_at": SUBMITTED}


def test_inputs_have_one_form_whatever_the_outcome(evaluator: Evaluator) -> None:
    """Values are recorded as the rule reads them (typed), for complied verdicts as for violated ones."""
    case = _case()
    case["request"].update({"submitted_at": "2021-03-02T10:00:00", "amount": "20"})  # no offset; bare amount
    rules = _rules(evaluator.evaluate(case))
    assert rules["refund-amount"].outcome is Outcome.COMPLIED
    assert rules["refund-amount"].inputs == {"request.type": "refund",
                                             "request.amount": {"amount": "20.00", "currency": "CNY"},
                                             "order.paid": {"amount": "59.90", "currency": "CNY"}}
    assert rules["received-before-request"].inputs["request.submitted_at"] == SUBMITTED


# --- version and content hash -----------------------------------------------------------------------------
def test_results_record_the_version_and_the_rulebook_hash(book: Rulebook, evaluator: Evaluator) -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", book.digest)
    result = evaluator.evaluate(_case())
    assert result.rulebook == book.digest and result.to_dict()["rulebook"] == book.digest
    assert {r.version for r in result.results} == {"2"}
    old = evaluator.evaluate(_case() | {"request": {"type": "refund", "submitted_at": "2020-03-02T10:00:00+08:00"}})
    assert {r.version for r in old.results} == {"1"}


def _copy(tmp: Path, name: str) -> Path:
    target = tmp / name
    shutil.copytree(GOOD, target / "policies")
    shutil.copytree(SCHEMAS, target / "schemas")
    return target


def test_the_hash_depends_on_content_not_location(book: Rulebook, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _copy(tmp_path, "a"), _copy(tmp_path, "b")
    digest_a = load_rulebook(first / "policies", schema_dir=first / "schemas").digest
    monkeypatch.chdir(second)
    digest_b = load_rulebook(second / "policies", schema_dir=second / "schemas").digest
    assert digest_a == digest_b == book.digest


def test_the_hash_changes_when_a_policy_file_changes(book: Rulebook, tmp_path: Path) -> None:
    root = _copy(tmp_path, "a")
    v2 = root / "policies" / "refunds" / "v2.yaml"
    v2.write_bytes(v2.read_bytes() + b"# an edit that changes no rule\n")
    assert load_rulebook(root / "policies", schema_dir=root / "schemas").digest != book.digest
    v2.rename(root / "policies" / "refunds" / "v2-renamed.yaml")
    renamed = load_rulebook(root / "policies", schema_dir=root / "schemas").digest
    assert renamed != book.digest


def test_the_hash_changes_when_a_case_schema_changes(book: Rulebook, tmp_path: Path) -> None:
    root = _copy(tmp_path, "a")
    schema = root / "schemas" / "cases" / "chat.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace("Chat (test fixture)", "Chat"), encoding="utf-8")
    assert load_rulebook(root / "policies", schema_dir=root / "schemas").digest != book.digest


# --- reproducibility and errors ----------------------------------------------------------------------------
def test_evaluating_the_same_case_twice_gives_identical_results(book: Rulebook, evaluator: Evaluator) -> None:
    for case in (_case(), _case(reply=None), {"kind": "refund", "request": {}}):
        first = evaluator.evaluate(case).to_dict()
        assert evaluator.evaluate(case).to_dict() == first
        assert Evaluator(load_rulebook(GOOD, schema_dir=SCHEMAS)).evaluate(case).to_dict() == first
        assert json.dumps(first, sort_keys=True) == json.dumps(evaluator.evaluate(case).to_dict(), sort_keys=True)


def test_a_runtime_data_error_makes_only_that_rule_undetermined(evaluator: Evaluator) -> None:
    rules = _rules(evaluator.evaluate(_case(reply="yesterday, around noon")))
    broken = rules["reply-in-time"]
    assert broken.outcome is Outcome.UNDETERMINED
    assert broken.error is not None and "reply.at" in broken.error and "yesterday, around noon" in broken.error
    assert broken.reason.startswith("could not evaluate: ")
    assert rules["refund-amount"].outcome is Outcome.VIOLATED and rules["refund-amount"].error is None
    assert rules["received-before-request"].outcome is Outcome.COMPLIED
    # exactly the rules that read reply.at are affected
    assert {name for name, r in rules.items() if r.error is not None} == {"reply-in-time", "replied-or-quick"}


def test_arithmetic_pushed_out_of_range_by_the_data_is_undetermined_for_that_rule(evaluator: Evaluator) -> None:
    case = {"kind": "refund", "case_id": "far", "request": {"type": "refund", "submitted_at": "2020-07-01T10:00:00"},
            "order": {"received_at": "9999-12-31T20:00:00+08:00"}}  # received_at + 15d is past year 9999
    rules = _rules(evaluator.evaluate(case))
    assert rules["refund-window"].outcome is Outcome.UNDETERMINED and rules["refund-window"].error
    assert rules["reply-in-time"].outcome is Outcome.VIOLATED and rules["reply-in-time"].error is None


@pytest.mark.parametrize("payload", [None, [], ["x"], 42, "text"])
def test_a_case_that_is_not_an_object_is_rejected(evaluator: Evaluator, payload: Any) -> None:
    result = evaluator.evaluate(payload)
    assert result.results == () and result.error is not None
    assert result.error["json_path"] == "$" and "a case must be a JSON object" in result.error["message"]


def test_an_unknown_case_kind_is_rejected_not_crashed(evaluator: Evaluator) -> None:
    result = evaluator.evaluate({"kind": "parcel", "case_id": "p"})
    assert result.results == () and result.error is not None
    assert result.to_dict()["status"] == "rejected"


# --- JSON -------------------------------------------------------------------------------------------------
def test_results_serialise_to_json_valid_against_the_result_schema(book: Rulebook) -> None:
    schema = json.loads(RESULT_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    cases = [
        _case(), _case(reply=None), _case(reply="not a time"), _case(category="服装"),
        {"kind": "refund", "case_id": "no-ref", "request": {}},
        {"kind": "refund", "case_id": "bad-ref", "request": {"submitted_at": "soon"}},
        {"kind": "refund", "case_id": "early", "request": {"submitted_at": "2019-01-01T00:00:00+08:00"}},
        {"kind": "refund", "case_id": "waived", "request": {"submitted_at": "2021-02-01T12:00:00+08:00"}},
        {"kind": "chat", "case_id": "chat"},
        {"kind": "parcel"},
        None,
    ]
    outcomes = set()
    for explain in (False, True):
        evaluator = Evaluator(book, explain=explain)
        for case in cases:
            for as_of in (None, parse_instant("2020-06-01")):
                data = json.loads(json.dumps(evaluator.evaluate(case, as_of=as_of).to_dict(), ensure_ascii=False))
                errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
                assert errors == [], (case, errors)
                outcomes |= {r["outcome"] for r in data.get("results", [])}
    assert outcomes == {o.value for o in Outcome}

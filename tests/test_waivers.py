"""Waivers: a rule is waived when a waiver of it is in force at the case's reference time and its scope holds.

Fixture waivers (tests/data/policies/good/refunds/v2.yaml):
  W-outage      rules [reply-in-time], scope order.store_id == "S-1", [2021-03-01, 2021-03-08)
  W-expired     every rule, scope true, [2021-02-01, 2021-02-02)
  W-open-start  rules [received-before-request], scope order.store_id == "S-9", until 2021-01-15T12:00
A waiver's period is judged against the case's reference time (or as_of), never the clock: the same
case always gets the same verdict. "Expired" means the reference time is at or after ``until``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, Outcome, RuleResult

DATA = Path(__file__).parent / "data" / "policies"


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(load_rulebook(DATA / "good", schema_dir=DATA / "schemas"))


def _case(submitted: str, store: str = "S-1", **order: Any) -> dict[str, Any]:
    """No reply (reply-in-time is violated) and a refund above the amount paid (refund-amount is violated)."""
    return {"kind": "refund", "case_id": "w", "request": {"type": "refund", "submitted_at": submitted,
                                                         "amount": "80.00"},
            "order": {"store_id": store, "paid": "59.90", "category": "水果", **order}}


def _rules(result: CaseResult) -> dict[str | None, RuleResult]:
    return {r.rule: r for r in result.results}


def test_a_waiver_in_force_whose_scope_holds_waives_the_rule(evaluator: Evaluator) -> None:
    verdict = _rules(evaluator.evaluate(_case("2021-03-02T10:00:00+08:00")))["reply-in-time"]
    assert verdict.outcome is Outcome.NOT_APPLICABLE
    assert verdict.waiver == {"id": "W-outage", "reason": "platform outage", "approved_by": "ops@example",
                              "until": "2021-03-08T00:00:00+08:00", "would_be": "violated"}
    assert verdict.reason == ("waived by W-outage until 2021-03-08T00:00:00+08:00 (platform outage); "
                              "would be violated")
    assert verdict.message is None and verdict.remedies == ()
    assert verdict.inputs["order.store_id"] == "S-1"  # what the waiver's scope read
    assert verdict.to_dict()["waiver"]["would_be"] == "violated"


def test_a_waiver_keeps_what_the_outcome_would_have_been(evaluator: Evaluator) -> None:
    replied = _case("2021-03-02T10:00:00+08:00")
    replied["reply"] = {"at": "2021-03-02T11:00:00+08:00"}
    verdict = _rules(evaluator.evaluate(replied))["reply-in-time"]
    assert verdict.outcome is Outcome.NOT_APPLICABLE
    assert verdict.waiver is not None and verdict.waiver["would_be"] == "complied"


@pytest.mark.parametrize(("submitted", "waived"), [
    ("2021-02-28T23:59:59+08:00", False),
    ("2021-03-01T00:00:00+08:00", True),    # from: inclusive
    ("2021-02-28T16:00:00Z", True),         # = 2021-03-01T00:00:00+08:00
    ("2021-03-07T23:59:59+08:00", True),
    ("2021-03-08T00:00:00+08:00", False),   # until: exclusive -- expired from here on
    ("2021-03-07T16:00:00Z", False),        # = 2021-03-08T00:00:00+08:00
    ("2021-09-01T00:00:00+08:00", False),
])
def test_a_waiver_applies_only_inside_from_until(evaluator: Evaluator, submitted: str, waived: bool) -> None:
    verdict = _rules(evaluator.evaluate(_case(submitted)))["reply-in-time"]
    if waived:
        assert (verdict.outcome, verdict.waiver and verdict.waiver["id"]) == (Outcome.NOT_APPLICABLE, "W-outage")
    else:
        assert (verdict.outcome, verdict.waiver) == (Outcome.VIOLATED, None)
        assert verdict.message is not None and verdict.remedies


def test_a_waiver_whose_scope_is_false_or_unknown_does_not_apply(evaluator: Evaluator) -> None:
    other_store = _rules(evaluator.evaluate(_case("2021-03-02T10:00:00+08:00", store="S-2")))["reply-in-time"]
    assert (other_store.outcome, other_store.waiver) == (Outcome.VIOLATED, None)
    no_store = _case("2021-03-02T10:00:00+08:00")
    del no_store["order"]["store_id"]
    unknown_scope = _rules(evaluator.evaluate(no_store))["reply-in-time"]
    assert (unknown_scope.outcome, unknown_scope.waiver) == (Outcome.VIOLATED, None)


def test_a_waiver_is_limited_to_the_rules_it_lists(evaluator: Evaluator) -> None:
    rules = _rules(evaluator.evaluate(_case("2021-03-02T10:00:00+08:00")))
    assert rules["reply-in-time"].waiver is not None
    assert (rules["refund-amount"].outcome, rules["refund-amount"].waiver) == (Outcome.VIOLATED, None)
    assert rules["refund-amount"].message == "refund 80.00 CNY exceeds the 59.90 CNY paid"


def test_a_waiver_without_rules_covers_every_rule_of_the_policy(evaluator: Evaluator) -> None:
    rules = _rules(evaluator.evaluate(_case("2021-02-01T12:00:00+08:00", store="S-2")))
    assert {r.rule: r.waiver and r.waiver["id"] for r in rules.values()} == {
        "reply-in-time": "W-expired", "refund-amount": "W-expired", "received-before-request": "W-expired",
        "replied-or-quick": "W-expired"}
    assert {r.outcome for r in rules.values()} == {Outcome.NOT_APPLICABLE}


@pytest.mark.parametrize("submitted", ["2021-02-02T00:00:00+08:00", "2021-02-15T00:00:00+08:00"])
def test_an_expired_waiver_never_applies(evaluator: Evaluator, submitted: str) -> None:
    rules = _rules(evaluator.evaluate(_case(submitted, store="S-2")))
    assert all(r.waiver is None for r in rules.values())
    assert rules["refund-amount"].outcome is Outcome.VIOLATED


def test_a_waiver_without_from_applies_until_its_end(evaluator: Evaluator) -> None:
    def verdict(submitted: str) -> RuleResult:
        case = _case(submitted, store="S-9", received_at="2021-06-01T00:00:00+08:00")  # received after the request
        return _rules(evaluator.evaluate(case))["received-before-request"]

    assert verdict("2021-01-01T00:00:00+08:00").waiver == {
        "id": "W-open-start", "reason": "store S-9 migrated", "approved_by": "ops@example",
        "until": "2021-01-15T12:00:00+08:00", "would_be": "violated"}
    assert verdict("2021-01-15T11:59:59+08:00").outcome is Outcome.NOT_APPLICABLE
    assert verdict("2021-01-15T12:00:00+08:00").outcome is Outcome.VIOLATED


def test_as_of_decides_whether_a_waiver_is_in_force(evaluator: Evaluator) -> None:
    case = _case("2021-09-01T10:00:00+08:00")
    assert _rules(evaluator.evaluate(case))["reply-in-time"].waiver is None
    forced = _rules(evaluator.evaluate(case, as_of=parse_instant("2021-03-05")))["reply-in-time"]
    assert forced.waiver is not None and forced.waiver["id"] == "W-outage"

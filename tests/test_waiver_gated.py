"""A waiver applies to a verdict that a dependency or an explicit null decides, as to any other verdict.

A waiver exempts a rule on the cases in its scope, whatever the rule's outcome would be: an ordinary verdict
(violated, complied, undetermined, not applicable) in scope becomes ``not_applicable`` with the waiver and
``would_be`` recording the outcome. A verdict decided before its conditions run (a dependency makes it not
applicable or undetermined; a null it depends on makes it undetermined) is no different: in scope, it is
waived too, with ``would_be`` what the gate decided. Found while reviewing issue 19's null refinement (the
gated verdicts skipped the waiver); expected values come from that reading, not from a run.
"""

from __future__ import annotations

from typing import Any

import policytext as pt
import pytest

from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome, RuleResult

WAIVED_STORE = "S-W"
RULES = pt.rules_text(
    pt.rule("window", "request.submitted_at >= order.shipped_at"),
    pt.rule("follow", "exists(request.merchant_response)", depends_on="{window: complied}"),
    pt.rule("shipped", "exists(order.shipped_at)"),
) + f"""\
waivers:
  - id: W-store
    rules: [follow, shipped]
    scope: order.store_id == "{WAIVED_STORE}"
    reason: store migration
    approved_by: ops@example
    from: 2020-01-01
    until: 2030-01-01
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("waiver_gated")
    pt.write(folder / "demo.yaml", pt.policy(RULES))
    return pt.load(folder)


def _case(store: str, shipped: Any = ...) -> dict[str, Any]:
    case = pt.after_sale_case()
    case["order"]["store_id"] = store
    if shipped is not ...:
        case["order"]["shipped_at"] = shipped
    return case


def _verdicts(ev: Evaluator, case: dict[str, Any]) -> dict[str | None, RuleResult]:
    return {r.rule: r for r in ev.evaluate(case).results}


def _waived(verdict: RuleResult, would_be: str) -> None:
    assert verdict.outcome is Outcome.NOT_APPLICABLE, (verdict.rule, verdict.outcome, verdict.reason)
    assert verdict.waiver is not None
    assert (verdict.waiver["id"], verdict.waiver["would_be"]) == ("W-store", would_be)
    assert verdict.reason == ("waived by W-store until 2030-01-01T00:00:00+08:00 (store migration); "
                              f"would be {would_be}")
    assert verdict.missing == () and verdict.message is None and verdict.remedies == ()
    assert verdict.inputs["order.store_id"] == WAIVED_STORE  # what the waiver's scope read


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_rule_left_undetermined_by_its_dependency_is_waived_in_scope(book: Any, detail: str) -> None:
    got = _verdicts(Evaluator(book, detail=detail), _case(WAIVED_STORE))  # shipped_at absent
    assert got["window"].outcome is Outcome.UNDETERMINED  # not in the waiver's rules
    _waived(got["follow"], "undetermined")
    assert got["follow"].depends == {"window": "undetermined"}


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_rule_a_null_leaves_undetermined_is_waived_in_scope(book: Any, detail: str) -> None:
    got = _verdicts(Evaluator(book, detail=detail), _case(WAIVED_STORE, shipped=None))
    _waived(got["shipped"], "undetermined")


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_rule_its_dependency_makes_not_applicable_is_waived_in_scope(book: Any, detail: str) -> None:
    # shipped after the request: window is violated, so follow does not apply (and is waived, as an
    # ordinary not-applicable verdict in scope is)
    got = _verdicts(Evaluator(book, detail=detail), _case(WAIVED_STORE, shipped="2024-03-02T10:00:00+08:00"))
    assert got["window"].outcome is Outcome.VIOLATED
    _waived(got["follow"], "not_applicable")


def test_out_of_scope_the_gated_verdicts_are_unchanged(book: Any) -> None:
    ev = Evaluator(book)
    got = _verdicts(ev, _case("S-1"))
    assert (got["follow"].outcome, got["follow"].waiver) == (Outcome.UNDETERMINED, None)
    assert got["follow"].missing == ("order.shipped_at",)
    got = _verdicts(ev, _case("S-1", shipped=None))
    assert (got["shipped"].outcome, got["shipped"].waiver) == (Outcome.UNDETERMINED, None)
    assert got["shipped"].missing == ("order.shipped_at",)
    got = _verdicts(ev, _case("S-1", shipped="2024-03-02T10:00:00+08:00"))
    assert (got["follow"].outcome, got["follow"].waiver) == (Outcome.NOT_APPLICABLE, None)
    found = {r.rule for r in Evaluator(book, detail="findings").evaluate(
        _case("S-1", shipped="2024-03-02T10:00:00+08:00")).results}
    assert "follow" not in found  # a plain not-applicable verdict is counted, not listed


NO_DEPENDENCIES = pt.rules_text(
    pt.rule("shipped", "exists(order.shipped_at)"),
    pt.rule("window", "request.submitted_at >= order.shipped_at"),
) + f"""\
waivers:
  - id: W-store
    rules: [shipped]
    scope: order.store_id == "{WAIVED_STORE}"
    reason: store migration
    approved_by: ops@example
    from: 2020-01-01
    until: 2030-01-01
"""


@pytest.mark.parametrize("settings", [{"detail": "full"}, {"detail": "findings"}, {"detail": "full", "lazy": True}])
def test_a_null_out_of_scope_in_a_policy_with_waivers_and_no_dependencies(
        tmp_path: Any, settings: dict[str, Any]) -> None:
    """A version with waivers is not run by the kernel (run.kernel): the rules a null decides must still be found
    (a version's rules without dependencies take another path than those of test_a_rule_a_null_...)."""
    pt.write(tmp_path / "demo.yaml", pt.policy(NO_DEPENDENCIES))
    got = _verdicts(Evaluator(pt.load(tmp_path), **settings), _case("S-1", shipped=None))
    for rule in ("shipped", "window"):  # exists(null) and a comparison with it: unknown, the null named
        assert (got[rule].outcome, got[rule].waiver, got[rule].missing) == \
            (Outcome.UNDETERMINED, None, ("order.shipped_at",)), rule
        assert got[rule].reason == "undetermined: unknown in the case (null): order.shipped_at"
    waived = _verdicts(Evaluator(pt.load(tmp_path), **settings), _case(WAIVED_STORE, shipped=None))
    _waived(waived["shipped"], "undetermined")

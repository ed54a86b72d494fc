"""What would comply and the timeline (run/due/comply.py, run/due/timeline.py) on the bundled rulebook.

Expected values are worked out from the rule texts: 售后服务规则 2.2 (48小时内处理, inclusive),
2.3 (超过承诺发货时限仍未处理), the appeals policy's 包邮商品不支持运费申诉.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policy_eval.plugin_manager import get_plugin_manager
from policy_eval.rulebook import Rulebook, load_rulebook
from policy_eval.run.due import Forecaster
from policy_eval.run.due.comply import Complier
from policy_eval.run.due.timeline import render_timeline, timeline
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome, RuleResult


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook(functions=get_plugin_manager().functions())


@pytest.fixture(scope="module")
def complier(book: Rulebook) -> Complier:
    return Complier(book)


def _case(**request: Any) -> dict[str, Any]:
    req = {"id": "R-1", "type": "refund_only", "submitted_at": "2024-06-03T20:10:00+08:00", "status": "pending_merchant"}
    req.update(request)
    return {"kind": "after_sale", "case_id": "C-1", "snapshot_at": "2024-06-07T09:00:00+08:00",
            "order": {"id": "O-1", "category": "服饰", "confirmed_at": "2024-06-01T10:00:00+08:00",
                      "promised_ship_by": "2024-06-02T10:00:00+08:00", "shipped_at": "2024-06-02T09:00:00+08:00",
                      "paid_amount": "89.00"},
            "request": req}


def _result(book: Rulebook, case: dict[str, Any], rule_id: str) -> RuleResult:
    found = [r for r in Evaluator(book).evaluate(case).results if r.full_id == rule_id]
    assert len(found) == 1
    return found[0]


def test_deadline_missed_by_how_much(book: Rulebook, complier: Complier) -> None:
    # handled 2024-06-05 23:22, the 48 h ran out 2024-06-05 20:10: 3 h 12 min late
    case = _case(merchant_response={"action": "agree", "at": "2024-06-05T23:22:00+08:00"})
    r = _result(book, case, "after-sales/refund-only-handling-limit")
    assert r.outcome is Outcome.VIOLATED
    got = {e["path"]: e for e in complier.explain(case, r)}
    late = got["request.merchant_response.at"]
    assert (late["by"], late["to"], late["outcome"]) == ("3h12m", "2024-06-05T20:10:00+08:00", "complied")
    assert "3h12m after the latest value giving complied" in late["text"]
    # an absent event recorded by the deadline would have complied too
    assert got["request.withdrawn_at"]["to"] == "2024-06-05T20:10:00+08:00"


def test_undetermined_time_gives_ranges(book: Rulebook, complier: Complier) -> None:
    # 2.3 on an unshipped order with the promised shipping time unknown: snapshot 2024-06-07 09:00.
    # promised_ship_by before the snapshot → the time has passed unhandled → violated;
    # at or after the snapshot → not yet passed → not_applicable.
    case = _case()
    del case["order"]["shipped_at"], case["order"]["promised_ship_by"]
    r = _result(book, case, "after-sales/unshipped-auto-refund")
    assert r.outcome is Outcome.UNDETERMINED and "order.promised_ship_by" in r.missing
    entry = next(e for e in complier.explain(case, r) if e["path"] == "order.promised_ship_by")
    assert entry["ranges"] == [
        {"from": None, "to": "2024-06-07T08:59:59.999999+08:00", "outcome": "violated"},
        {"from": "2024-06-07T09:00:00+08:00", "to": entry["ranges"][-1]["to"], "outcome": "not_applicable"},
    ]


def test_undetermined_boolean_gives_each_value(book: Rulebook, complier: Complier) -> None:
    case = {"kind": "appeal", "case_id": "A-1", "order": {"id": "O-1"},
            "appeal": {"id": "AP-1", "submitted_at": "2024-06-03T10:00:00+08:00", "type": "freight"}}
    r = _result(book, case, "appeals/no-freight-appeal-for-free-shipping")
    assert r.outcome is Outcome.UNDETERMINED
    entry = next(e for e in complier.explain(case, r) if e["path"] == "order.is_free_shipping")
    assert entry["values"] == [{"value": True, "outcome": "violated"}, {"value": False, "outcome": "complied"}]


def test_complied_needs_nothing(book: Rulebook, complier: Complier) -> None:
    case = _case(merchant_response={"action": "agree", "at": "2024-06-04T10:00:00+08:00"})
    r = _result(book, case, "after-sales/refund-only-handling-limit")
    assert r.outcome is Outcome.COMPLIED and complier.explain(case, r) == []


def test_timeline_orders_events_and_deadlines(book: Rulebook) -> None:
    case = _case()
    case["snapshot_at"] = "2024-06-04T09:00:00+08:00"
    lines = render_timeline(timeline(book, case, Evaluator(book).evaluate(case), Forecaster(book).forecast(case)))
    text = "\n".join(lines)
    assert lines[0].startswith("timeline")
    order = [text.index(s) for s in ("order.confirmed_at", "request.submitted_at", "snapshot_at (now)",
                                     "2024-06-05 20:10:00  ◆ after-sales/refund-only-handling-limit")]
    assert order == sorted(order)
    assert "violated after this if nothing happens" in text


def test_violated_by_a_boolean_or_enum_names_the_values_that_decide_otherwise(book: Rulebook,
                                                                               complier: Complier) -> None:
    # 包邮商品不支持运费申诉 (when: appeal.type == "freight"; forbid: order.is_free_shipping == true):
    # a freight appeal on a free-shipping order is violated; a non-free-shipping order complies, any
    # other appeal type takes it out of the rule (not_applicable). Nothing here is a time.
    case = {"kind": "appeal", "case_id": "A-1", "order": {"id": "O-1", "is_free_shipping": True},
            "appeal": {"id": "AP-1", "submitted_at": "2024-06-03T10:00:00+08:00", "type": "freight"}}
    r = _result(book, case, "appeals/no-freight-appeal-for-free-shipping")
    assert r.outcome is Outcome.VIOLATED
    got = [(e["path"], e["to"], e["outcome"]) for e in complier.explain(case, r)]
    assert ("order.is_free_shipping", False, "complied") in got
    assert ("appeal.type", "payment", "not_applicable") in got
    assert ("appeal.type", "freight", "not_applicable") not in got and ("order.is_free_shipping", True, "complied") not in got
    # ranked: the values that comply before the one that makes the rule not apply
    assert [o for _, _, o in got] == sorted((o for _, _, o in got), key=lambda o: o != "complied")
    assert 'appeal.type = "payment" instead of "freight" would give not_applicable' in \
        [e["text"] for e in complier.explain(case, r)]


def test_answers_ranked_event_times_first(book: Rulebook, complier: Complier) -> None:
    # 售后服务规则 2.6: the merchant agreed, the system should refund; the status says it did not.
    # The answers that comply: a refund time recorded, then the status values refunding/refund_succeeded
    # (refund_issued_statuses); event times come before the other facts, the clock after event times.
    case = _case(merchant_response={"action": "agree", "at": "2024-06-04T10:00:00+08:00"})
    r = _result(book, case, "after-sales/agreed-refund-issued")
    assert r.outcome is Outcome.VIOLATED
    entries = complier.explain(case, r)
    facts = [(e["path"], e["to"]) for e in entries if e.get("fact")]
    assert ("request.status", "refunding") in facts and ("request.status", "refund_succeeded") in facts
    kinds = [2 if e.get("fact") else 1 if e["path"] == "snapshot_at" else 0 for e in entries]
    assert kinds == sorted(kinds) and kinds[0] == 0


def test_a_time_not_solved_exactly_is_no_answer(book: Rulebook, complier: Complier) -> None:
    # appeals: the result is due before 00:00 of the day after the 4th working day counted from
    # date_of(appeal.submitted_at): moving that time is not solved exactly. That limit is not printed
    # as a way to comply; the absent result_at (by 2024-10-11 23:59:59.999999, National Day) is.
    case = {"kind": "appeal", "case_id": "A-1", "order": {"id": "O-1", "is_free_shipping": True},
            "refund_succeeded_at": "2024-09-29T20:10:00+08:00",
            "appeal": {"id": "AP-1", "submitted_at": "2024-09-30T10:00:00+08:00", "type": "payment"},
            "platform_received_at": "2024-09-30T09:30:00+08:00", "assessed_at": "2024-10-14T18:00:00+08:00"}
    r = _result(book, case, "appeals/appeal-result-within-4-workdays")
    assert r.outcome is Outcome.VIOLATED
    entries = complier.explain(case, r)
    assert all("note" not in e and "not solved exactly" not in e.get("text", "") for e in entries), entries
    assert entries[0]["path"] == "result_at" and entries[0]["to"] == "2024-10-11T23:59:59.999999+08:00"


def test_explain_says_would_comply_only_for_answers_that_comply() -> None:
    """A change that makes the rule not apply is not complying: explain says "would decide otherwise"."""
    import io

    from policy_eval import cli

    out, err = io.StringIO(), io.StringIO()
    example = Path(__file__).resolve().parent.parent / "examples" / "appeal_freight_on_free_shipping.json"
    cli.run(["explain", str(example), "--rule", "appeals/no-freight-appeal-for-free-shipping"], out, err)
    lines = [line.strip() for line in out.getvalue().splitlines() if line.strip().startswith("would ")]
    assert "would comply: order.is_free_shipping = false instead of true would give complied" in lines
    assert ('would decide otherwise: appeal.type = "payment" instead of "freight" would give not_applicable'
            in lines)
    assert not any(line.startswith("would comply:") and "not_applicable" in line for line in lines)

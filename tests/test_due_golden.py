"""Golden forecasts on the bundled rulebook: each instant below is derived BY HAND from the rule
text (the clause quoted beside it), never taken from the engine's output.

Conventions the policies state (their notes): "48小时内" / "7日内" are inclusive, so the verdict
changes just AFTER the deadline (``inclusive`` True); "超过承诺发货时限" is strict at the promised
time too (handling at exactly that time complies); the appeal result is due before 00:00 of the
day after the 4th working day, so that midnight itself is already late (``inclusive`` False).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import pytest

from policy_eval.plugin_manager import get_plugin_manager
from policy_eval.rulebook import Rulebook, load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.due import CaseForecast, Forecast, Forecaster, Status
from policy_eval.run.result import Outcome


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook(functions=get_plugin_manager().functions())


@pytest.fixture(scope="module")
def forecaster(book: Rulebook) -> Forecaster:
    return Forecaster(book)


@pytest.fixture(scope="module")
def deployed() -> Forecaster:
    """The bundled rulebook with examples/deployment.yaml: the numbers the texts leave to the platform set."""
    overlay = Path(__file__).resolve().parent.parent / "examples" / "deployment.yaml"
    return Forecaster(load_rulebook(functions=get_plugin_manager().functions(), params=overlay))


def _t(text: str) -> _dt.datetime:
    return parse_instant(text)


def _get(result: CaseForecast, rule_id: str) -> Forecast:
    assert result.error is None, result.error
    found = [f for f in result.forecasts if f.full_id == rule_id]
    assert len(found) == 1, [f.full_id for f in result.forecasts]
    return found[0]


def _after_sale(submitted: str, snapshot: str, *, kind: str = "refund_only", shipped: str | None = None,
                request: dict[str, Any] | None = None, order: dict[str, Any] | None = None) -> dict[str, Any]:
    d = _t(submitted)
    o: dict[str, Any] = {"id": "O-1", "store_id": "S-1", "category": "服饰",
                         "confirmed_at": (d - _dt.timedelta(days=3)).isoformat(),
                         "group_success_at": (d - _dt.timedelta(days=3)).isoformat(),  # 售后规则 2.1 (v1) counts from it
                         "promised_ship_by": (d - _dt.timedelta(days=1)).isoformat(),
                         "shipped_at": shipped or (d - _dt.timedelta(days=2)).isoformat(),
                         "paid_amount": "89.00"}
    o.update(order or {})
    r: dict[str, Any] = {"id": "R-1", "type": kind, "submitted_at": submitted, "status": "pending_merchant"}
    r.update(request or {})
    return {"kind": "after_sale", "case_id": "C-1", "snapshot_at": snapshot, "order": o, "request": r}


def _changes(f: Forecast, boundary: str, becomes: Outcome, *, inclusive: bool) -> None:
    assert f.status is Status.CHANGES, f.describe()
    assert f.boundary == _t(boundary), f.describe()
    assert f.becomes is becomes
    assert f.inclusive is inclusive
    assert f.at == (_t(boundary) + _dt.timedelta(microseconds=1) if inclusive else _t(boundary))


# --- after-sales, later text (v2, submitted after 2021-01-01) ------------------------------------------
def test_v2_refund_only_48h(forecaster: Forecaster) -> None:
    # 售后服务规则 2.2: 商家应在用户提交仅退款申请后48小时内处理 … 逾期未处理的, 系统默认同意并自动退款.
    # Submitted 2024-06-03 20:10:00 → handled at the latest 2024-06-05 20:10:00; violated just after.
    case = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-04T09:00:00+08:00")
    result = forecaster.forecast(case)
    assert result.start == _t("2024-06-04T09:00:00+08:00")
    f = _get(result, "after-sales/refund-only-handling-limit")
    assert f.outcome is Outcome.NOT_APPLICABLE  # nothing to judge yet: still within the 48 h
    _changes(f, "2024-06-05T20:10:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert "request.merchant_response.at" in f.prevent
    assert [(r["kind"], r.get("amount_text"), r.get("to")) for r in f.remedies] == [("auto_refund", "89.00 CNY", "buyer")]
    assert "2024-06-05T20:10:00+08:00" in f.describe()


def test_v2_return_refund_48h(forecaster: Forecaster) -> None:
    # 售后服务规则 3.2 (carried over): 48小时内处理, else refund without return. Submitted 06-10 08:00.
    case = _after_sale("2024-06-10T08:00:00+08:00", "2024-06-10T09:00:00+08:00", kind="return_refund")
    f = _get(forecaster.forecast(case), "after-sales/return-refund-handling-limit")
    _changes(f, "2024-06-12T08:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert [r["kind"] for r in f.remedies] == ["refund_without_return"]


def test_v2_unshipped_past_promised_ship_time(forecaster: Forecaster) -> None:
    # 售后服务规则 2.3: 提交仅退款申请时商家尚未发货, 且超过承诺发货时限仍未处理的 → 自动退款.
    # Promised shipping 2024-06-05 12:00; "超过" is strict: 12:00:00 itself is still in time.
    case = _after_sale("2024-06-04T10:00:00+08:00", "2024-06-04T11:00:00+08:00",
                       order={"shipped_at": None, "promised_ship_by": "2024-06-05T12:00:00+08:00"})
    case["order"].pop("shipped_at")
    result = forecaster.forecast(case)
    _changes(_get(result, "after-sales/unshipped-auto-refund"), "2024-06-05T12:00:00+08:00",
             Outcome.VIOLATED, inclusive=True)
    # and the 48 h of 2.2 (from 06-04 10:00) run on beside it
    _changes(_get(result, "after-sales/refund-only-handling-limit"), "2024-06-06T10:00:00+08:00",
             Outcome.VIOLATED, inclusive=True)


def test_v2_buyer_followup_after_rejection(forecaster: Forecaster) -> None:
    # 售后服务规则 2.4, 2.5: 商家拒绝后, 用户7日内再次提交或申请平台介入, 否则视为逾期未处理.
    # Rejected 2024-06-04 10:00 → the buyer has until 2024-06-11 10:00.
    case = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-05T09:00:00+08:00",
                       request={"merchant_response": {"action": "reject", "at": "2024-06-04T10:00:00+08:00"},
                                "status": "merchant_rejected"})
    result = forecaster.forecast(case)
    f = _get(result, "after-sales/refund-only-rejection-followup")
    _changes(f, "2024-06-11T10:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert "request.buyer_followup.at" in f.prevent
    # the merchant handled it in time: 2.2 is decided and stays so
    handled = _get(result, "after-sales/refund-only-handling-limit")
    assert (handled.outcome, handled.status) == (Outcome.COMPLIED, Status.STABLE)


def test_v2_return_then_merchant(forecaster: Forecaster) -> None:
    # 3.5: 商家同意退货后用户应在7日内完成退货 (agreed 06-04 10:00 → by 06-11 10:00).
    agreed = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-05T09:00:00+08:00", kind="return_refund",
                         request={"merchant_response": {"action": "agree", "at": "2024-06-04T10:00:00+08:00"},
                                  "status": "awaiting_return"})
    _changes(_get(forecaster.forecast(agreed), "after-sales/return-shipment-deadline"),
             "2024-06-11T10:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    # 3.6: 商家应在用户退货后7日内处理 (returned 06-06 12:00 → by 06-13 12:00).
    returned = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-07T09:00:00+08:00", kind="return_refund",
                           request={"merchant_response": {"action": "agree", "at": "2024-06-04T10:00:00+08:00"},
                                    "return": {"shipped_at": "2024-06-06T12:00:00+08:00", "tracking_number": "YT1"},
                                    "status": "awaiting_merchant_after_return"})
    f = _get(forecaster.forecast(returned), "after-sales/merchant-after-return-deadline")
    _changes(f, "2024-06-13T12:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert "request.merchant_after_return.at" in f.prevent


# --- after-sales, earlier text (v1, submitted before 2021-01-01) --------------------------------------
def test_v1_refund_only_48h(forecaster: Forecaster) -> None:
    # 售后规则 2.2: 48小时内处理 (shipped before the request, so 1.3's platform review does not apply).
    case = _after_sale("2020-06-03T20:10:00+08:00", "2020-06-04T09:00:00+08:00")
    f = _get(forecaster.forecast(case), "after-sales/refund-only-handling-limit")
    assert f.version == "1"
    _changes(f, "2020-06-05T20:10:00+08:00", Outcome.VIOLATED, inclusive=True)


def test_v1_return_refund_48h(forecaster: Forecaster) -> None:
    # 售后规则 3.2: 商家应在用户提交退货退款申请后48小时内进行处理, 逾期未处理的, 系统将默认商家同意无须
    # 退货直接退款. Shipped 06-01 (before the request), 服饰 (not special), no receipt (3.1 window open).
    # Submitted 2020-06-03 20:10 → handled at the latest 2020-06-05 20:10 (inclusive); violated just after.
    case = _after_sale("2020-06-03T20:10:00+08:00", "2020-06-04T09:00:00+08:00", kind="return_refund")
    f = _get(forecaster.forecast(case), "after-sales/return-refund-handling-limit")
    assert (f.version, f.outcome) == ("1", Outcome.NOT_APPLICABLE)
    _changes(f, "2020-06-05T20:10:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert [r["kind"] for r in f.remedies] == ["refund_without_return"]
    assert "request.merchant_response.at" in f.prevent


@pytest.mark.parametrize("kind", ["refund_only", "return_refund"])
def test_v1_buyer_followup_after_rejection(forecaster: Forecaster, kind: str) -> None:
    # 售后规则 2.3, 2.4 (仅退款) and 3.3, 3.4 (退货退款): 商家拒绝后, 用户可以在7日内修改信息并再次提交或
    # 申请平台介入; 逾期未处理的 … Rejected 2020-06-04 10:00 → the buyer has until 2020-06-11 10:00
    # inclusive (7 × 24 h), overdue (violated, severity info) just after.
    rule = "refund-only-rejection-followup" if kind == "refund_only" else "return-refund-rejection-followup"
    case = _after_sale("2020-06-03T20:10:00+08:00", "2020-06-05T09:00:00+08:00", kind=kind,
                       request={"merchant_response": {"action": "reject", "at": "2020-06-04T10:00:00+08:00"},
                                "status": "merchant_rejected"})
    f = _get(forecaster.forecast(case), f"after-sales/{rule}")
    assert (f.version, f.outcome) == ("1", Outcome.NOT_APPLICABLE)
    _changes(f, "2020-06-11T10:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert f.because == "`followup_deadline`"
    assert "request.buyer_followup.at" in f.prevent
    assert [r["kind"] for r in f.remedies] == ["mark_buyer_overdue"]


def test_v1_return_then_merchant(forecaster: Forecaster) -> None:
    # 售后规则 3.5: 商家同意退货退款后, 用户应在7日内完成退货操作 (agreed 2020-06-04 10:00 → by
    # 2020-06-11 10:00, inclusive).
    agreed = _after_sale("2020-06-03T20:10:00+08:00", "2020-06-05T09:00:00+08:00", kind="return_refund",
                         request={"merchant_response": {"action": "agree", "at": "2020-06-04T10:00:00+08:00"},
                                  "status": "awaiting_return"})
    f = _get(forecaster.forecast(agreed), "after-sales/return-shipment-deadline")
    assert f.version == "1"
    _changes(f, "2020-06-11T10:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert f.because == "`return_deadline`"
    # 3.6: 商家应在用户退货后7日内做下列任一项处理 (returned 2020-06-06 12:00 → by 2020-06-13 12:00,
    # inclusive). The text is cut off inside 3.6: no consequence, so no remedy.
    returned = _after_sale("2020-06-03T20:10:00+08:00", "2020-06-07T09:00:00+08:00", kind="return_refund",
                           request={"merchant_response": {"action": "agree", "at": "2020-06-04T10:00:00+08:00"},
                                    "return": {"shipped_at": "2020-06-06T12:00:00+08:00", "tracking_number": "YT1"},
                                    "status": "awaiting_merchant_after_return"})
    g = _get(forecaster.forecast(returned), "after-sales/merchant-after-return-deadline")
    assert g.version == "1"
    _changes(g, "2020-06-13T12:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert "request.merchant_after_return.at" in g.prevent
    assert g.remedies == ()


@pytest.mark.parametrize("year", ["2020", "2024"])
def test_merchant_verification_cooperation(forecaster: Forecaster, year: str) -> None:
    # 售后规则 1.3 (v1) and 售后服务规则 1.3 (v2): 订单未发货且在承诺发货时间内申请退款的 … 平台核实时商家
    # 应配合. The text sets no reply deadline; the reading uses the platform's due_at, and no reply yet
    # is judged once the clock is strictly past it (snapshot_at > due_at): due_at itself is still in
    # time. Unshipped, submitted 06-03 20:10 before the promised shipping 06-05 12:00; asked 06-04
    # 09:00, reply due 06-05 18:00 → violated just after 06-05 18:00 (not_applicable until then).
    case = _after_sale(f"{year}-06-03T20:10:00+08:00", f"{year}-06-04T10:00:00+08:00",
                       order={"promised_ship_by": f"{year}-06-05T12:00:00+08:00"},
                       request={"platform_verification": {"requested_at": f"{year}-06-04T09:00:00+08:00",
                                                          "due_at": f"{year}-06-05T18:00:00+08:00"}})
    case["order"].pop("shipped_at")
    f = _get(forecaster.forecast(case), "after-sales/merchant-verification-cooperation")
    assert (f.version, f.outcome) == ("1" if year == "2020" else "2", Outcome.NOT_APPLICABLE)
    _changes(f, f"{year}-06-05T18:00:00+08:00", Outcome.VIOLATED, inclusive=True)


def test_v1_refund_only_under_platform_review_never_runs(forecaster: Forecaster) -> None:
    # 售后规则 1.3 of the earlier text routes a request on an order unshipped and inside the promised
    # shipping time to the PLATFORM: 2.2's 48 h do not run, whatever the clock (v2 differs: they run).
    case = _after_sale("2020-06-03T20:10:00+08:00", "2020-06-04T09:00:00+08:00",
                       order={"promised_ship_by": "2020-06-05T12:00:00+08:00"})
    case["order"].pop("shipped_at")
    f = _get(forecaster.forecast(case), "after-sales/refund-only-handling-limit")
    assert (f.outcome, f.status) == (Outcome.NOT_APPLICABLE, Status.STABLE)


def test_v2_return_refund_rejection_followup(forecaster: Forecaster) -> None:
    # 售后服务规则 3.3, 3.4 (carried over): 商家拒绝退货退款后, 用户7日内再次提交或申请平台介入.
    # Rejected 2024-06-04 10:00 → until 2024-06-11 10:00 inclusive.
    case = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-05T09:00:00+08:00", kind="return_refund",
                       request={"merchant_response": {"action": "reject", "at": "2024-06-04T10:00:00+08:00"},
                                "status": "merchant_rejected"})
    f = _get(forecaster.forecast(case), "after-sales/return-refund-rejection-followup")
    assert f.version == "2"
    _changes(f, "2024-06-11T10:00:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert "request.buyer_followup.at" in f.prevent


def test_already_violated_stays(forecaster: Forecaster) -> None:
    case = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-06T09:00:00+08:00")
    f = _get(forecaster.forecast(case), "after-sales/refund-only-handling-limit")
    assert (f.outcome, f.status, f.at) == (Outcome.VIOLATED, Status.STABLE, None)


def test_no_clock_is_said(forecaster: Forecaster) -> None:
    case = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-04T09:00:00+08:00")
    del case["snapshot_at"]
    result = forecaster.forecast(case)
    f = _get(result, "after-sales/refund-only-handling-limit")
    assert f.status is Status.NO_CLOCK and "snapshot_at" in (f.note or "")
    # --as-of supplies the clock
    g = _get(forecaster.forecast(case, as_of=_t("2024-06-04T09:00:00+08:00")), "after-sales/refund-only-handling-limit")
    _changes(g, "2024-06-05T20:10:00+08:00", Outcome.VIOLATED, inclusive=True)


# --- disputes ---------------------------------------------------------------------------------------
def test_disputes_retrieval_after_refusal(deployed: Forecaster) -> None:
    # 争议处理规则 2.3.3: 买家拒签后商家应及时联系物流取回. The text sets no number: 及时 is the deployment
    # parameter disputes.retrieval_limit, 48 h in examples/deployment.yaml (inclusive).
    # Refused 2024-06-06 14:10 → retrieval due by 2024-06-08 14:10.
    case = {"kind": "shipment", "case_id": "S-1",
            "order": {"id": "O-1", "address": "A", "placed_at": "2024-06-03T12:30:00+08:00",
                      "promised_ship_by": "2024-06-05T12:30:00+08:00"},
            "shipment": {"shipped_at": "2024-06-04T17:20:00+08:00", "to_address": "A", "self_pickup": False,
                         "recalled": False, "empty_parcel": False},
            "fake_transaction": False,
            "delivery": {"refused_by_buyer": True, "refused_at": "2024-06-06T14:10:00+08:00"},
            "dispute": {"raised_at": "2024-06-06T15:00:00+08:00", "raised_by": "merchant", "kind": "complaint"},
            "assessed_at": "2024-06-07T10:00:00+08:00"}
    result = deployed.forecast(case)
    f = _get(result, "disputes/retrieve-refused-goods-promptly")
    assert f.outcome is Outcome.COMPLIED
    _changes(f, "2024-06-08T14:10:00+08:00", Outcome.VIOLATED, inclusive=True)
    assert f.prevent == ("delivery.retrieval_started_at",)
    assert _get(result, "disputes/ship-to-order-address").status is Status.STABLE


# --- appeals ----------------------------------------------------------------------------------------
def test_appeal_result_over_national_day(forecaster: Forecaster) -> None:
    # seed 000 第四: 3到4个工作日告知. Appealed Mon 2024-09-30; 10-01..10-07 is the National Day
    # holiday, so the working days are 10-08, 10-09, 10-10, 10-11: due before 2024-10-12 00:00
    # (a Saturday that was itself a make-up working day, which does not matter: the 4th is 10-11).
    case = {"kind": "appeal", "case_id": "A-1", "order": {"id": "O-1", "is_free_shipping": True},
            "refund_succeeded_at": "2024-09-29T20:10:00+08:00",
            "appeal": {"id": "AP-1", "submitted_at": "2024-09-30T09:12:00+08:00", "type": "payment"},
            "platform_received_at": "2024-09-30T09:30:00+08:00", "assessed_at": "2024-10-08T18:00:00+08:00"}
    result = forecaster.forecast(case)
    f = _get(result, "appeals/appeal-result-within-4-workdays")
    assert f.outcome is Outcome.COMPLIED
    _changes(f, "2024-10-12T00:00:00+08:00", Outcome.VIOLATED, inclusive=False)
    assert f.prevent == ("result_at",)
    # the 48 h appeal window is about the submission, not the clock
    assert _get(result, "appeals/appeal-within-48h").status is Status.STABLE


# --- platform intervention indicator (metrics version 2 from 2023-12-24) -----------------------------
def test_intervention_indicator_takes_effect(forecaster: Forecaster) -> None:
    # seed 000: 将于2023年12月24日启用平台介入率考核指标: with --as-of the version moves with the clock.
    case = {"kind": "store_metrics", "case_id": "M-1", "store": {"id": "S-1", "category": "家居日用"},
            "window": {"start": "2023-11-01T00:00:00+08:00", "end": "2023-12-01T00:00:00+08:00"},
            "counts": {"grouped_orders": 1000, "dispute_refund_orders": 0, "upheld_malicious_intervention_orders": 0,
                       "quality_refund_orders": 1, "intervention_orders": 1, "logistics_exception_orders": 0},
            "penalty_points": 0,
            "category_mean": {"dispute_refund_rate": 0.001, "quality_refund_rate": 0.005, "quality_refund_orders": 5,
                              "intervention_rate": 0.003, "intervention_orders": 3, "logistics_exception_rate": 0.001,
                              "logistics_exception_orders": 1},
            "persistence": {"quality_refund_3x_prior_days": 0, "quality_refund_5x_prior_days": 0,
                            "logistics_5x_prior_days": 0, "intervention_high_prior_days": 0}}
    result = forecaster.forecast(case, as_of=_t("2023-12-20T00:00:00+08:00"))
    f = _get(result, "service-metrics/intervention-rate-high")
    assert f.version is None and f.status is Status.CHANGES
    assert f.at == f.boundary == _t("2023-12-24T00:00:00+08:00")
    assert f.becomes_version == "2"
    shared = _get(result, "service-metrics/penalty-points-limit")
    assert (shared.version, shared.becomes_version, shared.at) == ("1", "2", _t("2023-12-24T00:00:00+08:00"))
    # without --as-of the version is the window's (window.end) and no field says "now": nothing moves
    assert _get(forecaster.forecast(case), "service-metrics/penalty-points-limit").status is Status.STABLE


def test_api_due() -> None:
    from policy_eval.api import Rulebook as ApiRulebook

    book = ApiRulebook.load()
    case = _after_sale("2024-06-03T20:10:00+08:00", "2024-06-04T09:00:00+08:00")
    f = _get(book.due(case), "after-sales/refund-only-handling-limit")
    _changes(f, "2024-06-05T20:10:00+08:00", Outcome.VIOLATED, inclusive=True)
    later = _get(book.due(case, as_of="2024-06-05T21:00:00+08:00"), "after-sales/refund-only-handling-limit")
    assert (later.outcome, later.status) == (Outcome.VIOLATED, Status.STABLE)
    bad = book.due({"kind": "after_sale", "case_id": "X"})  # no order, no request: rejected by the schema
    assert bad.error is not None and bad.forecasts == ()

"""Seed 000's intervention facts in the metric definitions (issue 19 item 6), checked on order records
against counts worked out by hand from the text:

* 未发货订单平台申请退款的订单也算介入: a refund request on an order not shipped at the request is an
  intervention order, counted at the request time, even with no intervention record;
* 买家可以申请撤销退款, 但是无法撤销介入: a withdrawn refund request still counts;
* 同一订单重复介入也只会计入计算一次介入率 with 第六's 近30天发生平台介入的售后订单数: an order counts in a
  window when one of its interventions happened in it, and once however many did. (Until 2026-12-02 the
  order was dated at its first intervention only, so an unshipped refund request before the window took a
  platform intervention inside it out of the count; an outside audit read 近30天发生平台介入 as any
  intervention in the window, which this file now pins.)
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from policy_eval.run.metrics import metrics_from_records

CST = _dt.timezone(_dt.timedelta(hours=8))
END = _dt.datetime(2024, 7, 1, tzinfo=CST)  # window [2024-06-01, 2024-07-01)
IN = "2024-06-20T10:00:00+08:00"
LATER = "2024-06-25T10:00:00+08:00"
BEFORE = "2024-05-31T23:59:59+08:00"  # one second before the window


def order(oid: str, **fields: Any) -> dict[str, Any]:
    return {"order_id": oid, "store": {"id": "A", "category": "服饰"}, "grouped_at": IN, **fields}


def _counts(records: list[dict[str, Any]]) -> dict[str, Any]:
    (case,) = [c for c in metrics_from_records(records, END) if "product" not in c]
    return case["counts"]


def test_a_refund_request_on_an_unshipped_order_counts_as_an_intervention() -> None:
    counts = _counts([
        order("A1", refund_requested_at=IN),                              # never shipped: counts
        order("A2", refund_requested_at=IN, shipped_at=LATER),            # shipped after the request: counts
        order("A3", refund_requested_at=LATER, shipped_at=IN),            # shipped before the request: no
        order("A4", shipped_at=IN),                                       # no request, no intervention: no
        order("A5", refund_requested_at=IN, refund_withdrawn_at=LATER),   # withdrawn: still counts
    ])
    assert counts["grouped_orders"] == 5
    assert counts["intervention_orders"] == 3  # A1, A2, A5


def test_the_unshipped_refund_request_is_windowed_by_its_own_time() -> None:
    counts = _counts([
        order("A1", refund_requested_at=BEFORE),   # the request (the intervention) happened before the window
        order("A2", refund_requested_at=IN),
    ])
    assert counts["intervention_orders"] == 1


def test_an_order_counts_once_when_an_intervention_happened_in_the_window() -> None:
    counts = _counts([
        # unshipped request before the window, platform intervention inside it: 近30天发生平台介入 (was 0)
        order("A1", refund_requested_at=BEFORE, intervention={"at": IN}),
        # unshipped request inside, intervention inside: one order, counted once
        order("A2", refund_requested_at=IN, intervention={"at": LATER}),
        # shipped before the request: only the recorded intervention counts
        order("A3", shipped_at=BEFORE, refund_requested_at=IN, intervention={"at": LATER}),
        # unshipped request inside, the platform's intervention before the window: the request counts
        order("A4", refund_requested_at=IN, intervention={"at": BEFORE}),
        # both before the window: none in it
        order("A5", refund_requested_at=BEFORE, intervention={"at": BEFORE}),
        # shipped before the request, which is no intervention; the platform's before the window: none
        order("A6", shipped_at=BEFORE, refund_requested_at=IN, intervention={"at": BEFORE}),
    ])
    assert counts["intervention_orders"] == 4  # A1, A2, A3, A4


AT_START = "2024-06-01T00:00:00+08:00"  # the window's first instant: inside ([start, end))
AT_END = "2024-07-01T00:00:00+08:00"  # the window's end: outside


def test_window_edges_and_a_shipment_at_the_request_instant() -> None:
    """Boundaries the condition mutants of order_metrics.yaml crossed unnoticed: the window is [start, end) for
    every count (近30天), and an order shipped at the very instant of the refund request was shipped by then
    (未发货订单 is judged at the request: not an intervention)."""
    counts = _counts([
        order("A1", refund_requested_at=AT_START),                          # at the start: counts
        order("A2", refund_requested_at=AT_END),                            # at the end: outside
        order("A3", intervention={"at": AT_START}),                         # at the start: counts
        order("A4", intervention={"at": AT_END}),                           # at the end: outside
        order("A5", refund_requested_at=IN, shipped_at=IN),                 # shipped at the request's instant: no
        order("A6", logistics_exceptions=[{"type": "late_delivery", "at": AT_START}]),  # at the start: counts
        order("A7", logistics_exceptions=[{"type": "late_delivery", "at": AT_END}]),    # at the end: outside
    ])
    assert counts["intervention_orders"] == 2  # A1, A3
    assert counts["logistics_exception_orders"] == 1  # A6

"""Store-level 30-day service metrics computed from order-level records (pandas or Dask).

Turns a month of orders into ``store_metrics`` case records (see
schemas/cases/store_metrics.schema.json) that the service-metrics rules
evaluate, so a user with orders rather than pre-aggregated figures gets
store verdicts. Works on a ``pandas.DataFrame`` or a ``dask.dataframe``
(the grouping runs on the cluster; only per-store counts come back).

Order columns (one row per order, or per event of an order — an order is
counted once, so repeated interventions count once):

============================  =============================================================
``order_id``, ``store_id``    identifiers
``store_category``            the store's main category (类目), whose means are computed
``grouped_at``                when the group formed (成团), ISO 8601 text or timestamps
``dispute_refund``            platform intervened, merchant held responsible, refund succeeded
                              (not counted when ``upheld_malicious`` is set too)
``upheld_malicious``          merchant-requested intervention against malicious after-sales upheld
``quality_refund``            refunded successfully for a quality reason
``intervened``                the platform intervened
``logistics_exception``       any logistics-service exception
``fake_shipping``             虚假发货 (counts even for Xinjiang)
``ship_to_xinjiang``          the destination is in Xinjiang
============================  =============================================================

Category means are the mean over the category's stores of each store's rate
and order count, computed exactly (Decimal) from the integer counts. The
persistence figures (how many days a threshold was already exceeded) need
daily history and are left out: rules that need them come out undetermined
and name the missing path, unless the caller passes ``persistence``.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

__all__ = ["store_metrics_from_orders", "FLAGS"]

FLAGS = ("dispute_refund", "upheld_malicious", "quality_refund", "intervened", "logistics_exception",
         "fake_shipping", "ship_to_xinjiang")


def _aware(text: str | _dt.datetime) -> _dt.datetime:
    from policy_eval.lang.values import parse_datetime

    return text if isinstance(text, _dt.datetime) else parse_datetime(text)


def _per_store_counts(orders: Any, start: _dt.datetime, end: _dt.datetime) -> Any:
    """Distinct orders per store in [start, end), with the flags OR-ed per order (lazy for Dask)."""
    import pandas as pd

    frame = orders.copy() if isinstance(orders, pd.DataFrame) else orders
    grouped = frame["grouped_at"]
    if not pd.api.types.is_datetime64_any_dtype(grouped.dtype):
        # ISO 8601 text; a time without offset is Asia/Shanghai, as everywhere in policy-eval
        def to_utc(t: Any) -> Any:
            return pd.Timestamp(_aware(t)).tz_convert("UTC")
        if isinstance(frame, pd.DataFrame):
            grouped = grouped.map(to_utc)
        else:
            grouped = grouped.map(to_utc, meta=("grouped_at", "datetime64[ns, UTC]"))
    start_ts, end_ts = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    frame = frame.assign(_in=(grouped >= start_ts) & (grouped < end_ts))
    frame = frame[frame["_in"]]
    per_order = frame.groupby(["store_id", "store_category", "order_id"])[list(FLAGS)].max().reset_index()
    per_order = per_order.assign(
        # seed 000: an upheld malicious-after-sales order is never counted in the dispute refund rate
        dispute_refund=per_order["dispute_refund"] & ~per_order["upheld_malicious"],
        xinjiang_non_fake=per_order["ship_to_xinjiang"] & per_order["logistics_exception"]
        & ~per_order["fake_shipping"],
        any_logistics=per_order["logistics_exception"] | per_order["fake_shipping"],
        grouped=True,
    )
    cols = ["grouped", "dispute_refund", "upheld_malicious", "quality_refund", "intervened", "any_logistics",
            "fake_shipping", "xinjiang_non_fake"]
    counts = per_order.groupby(["store_id", "store_category"])[cols].sum().reset_index()
    if not isinstance(counts, pd.DataFrame):
        counts = counts.compute()
    return counts


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values) if values else Decimal(0)


def store_metrics_from_orders(orders: Any, window_end: str | _dt.datetime, *, days: int = 30,
                              persistence: dict[str, dict[str, int]] | None = None,
                              penalty_points: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """One ``store_metrics`` case per store for the ``days`` before ``window_end``."""
    end = _aware(window_end)
    start = end - _dt.timedelta(days=days)
    counts = _per_store_counts(orders, start, end)
    rows = [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in counts.sort_values(["store_category", "store_id"]).to_dict(orient="records")
    ]
    by_category: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_category.setdefault(row["store_category"], []).append(row)

    def rates(row: dict[str, Any]) -> dict[str, Decimal]:
        grouped = Decimal(int(row["grouped"]))
        dispute = int(row["dispute_refund"])
        abnormal = Decimal(int(row["any_logistics"]) - int(row["xinjiang_non_fake"]))
        return {
            "dispute_refund_rate": Decimal(dispute) / grouped,
            "quality_refund_rate": Decimal(int(row["quality_refund"])) / grouped,
            "quality_refund_orders": Decimal(int(row["quality_refund"])),
            "intervention_rate": Decimal(int(row["intervened"])) / grouped,
            "intervention_orders": Decimal(int(row["intervened"])),
            "logistics_exception_rate": abnormal / (abnormal * 100 + grouped),
            "logistics_exception_orders": abnormal,
        }

    cases = []
    for category, stores in by_category.items():
        per_store = [rates(s) for s in stores]
        means = {key: _mean([r[key] for r in per_store]).normalize() for key in per_store[0]}
        for row in stores:
            case: dict[str, Any] = {
                "kind": "store_metrics",
                "case_id": f"{row['store_id']}@{end.date().isoformat()}",
                "store": {"id": str(row["store_id"]), "category": str(category)},
                "window": {"start": start.isoformat(), "end": end.isoformat()},
                "counts": {
                    "grouped_orders": int(row["grouped"]),
                    "dispute_refund_orders": int(row["dispute_refund"]),
                    "upheld_malicious_intervention_orders": int(row["upheld_malicious"]),
                    "quality_refund_orders": int(row["quality_refund"]),
                    "intervention_orders": int(row["intervened"]),
                    "logistics_exception_orders": int(row["any_logistics"]),
                    "logistics_exception_breakdown": {"fake_shipping": int(row["fake_shipping"]),
                                                      "xinjiang_non_fake": int(row["xinjiang_non_fake"])},
                },
                "category_mean": means,
            }
            if penalty_points and str(row["store_id"]) in penalty_points:
                case["penalty_points"] = penalty_points[str(row["store_id"])]
            if persistence and str(row["store_id"]) in persistence:
                case["persistence"] = persistence[str(row["store_id"])]
            cases.append(case)
    return cases

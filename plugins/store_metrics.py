"""Store metrics from order records: the executor of the bundled metric definitions, under its old name.

The counts, windows, exclusions and rates are data (``policies/metrics/order_metrics.yaml``,
run by :mod:`policy_eval.run.metrics`); this module only picks the in-process or the Dask
path. Records follow ``schemas/records/order.schema.json`` (``kind: order`` may be left out).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

from policy_eval.run.metrics import metrics_from_records, metrics_on_dask

__all__ = ["store_metrics_from_orders"]


def store_metrics_from_orders(orders: Iterable[Mapping[str, Any]] | Any, window_end: str | _dt.datetime,
                              **options: Any) -> list[dict[str, Any]]:
    """``store_metrics`` cases (store and product level) for the 30 days before ``window_end``.

    ``orders``: an iterable of order records, or a ``dask.bag`` of them (computed on its cluster).
    ``options``: ``policies``, ``definitions``, ``persistence``, ``penalty_points`` as in
    :func:`policy_eval.run.metrics.metrics_from_records`.
    """
    if hasattr(orders, "map_partitions") and hasattr(orders, "foldby"):
        return metrics_on_dask(orders, window_end, **options)
    return metrics_from_records(orders, window_end, **options)

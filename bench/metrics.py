"""Benchmark: store metrics from generated order records (the metric definitions run by policy_eval.run.metrics).

For each size, times metrics_from_records in process (CPU seconds of this process and wall time) and,
with --dask N, metrics_on_dask on a local cluster of N worker processes (wall time; the workers' CPU is
not counted), and checks that both give the same cases.

    python bench/metrics.py --sizes 10000,100000 --dask 2
"""

from __future__ import annotations

import argparse
import datetime as _dt
import random
import time
from typing import Any

from policy_eval.run.metrics import metrics_from_records, metrics_on_dask

CST = _dt.timezone(_dt.timedelta(hours=8))
END = _dt.datetime(2024, 7, 1, tzinfo=CST)


def orders(n: int, seed: int = 1, stores: int = 200) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = END - _dt.timedelta(days=40)

    def when() -> str:
        return (start + _dt.timedelta(minutes=rng.randrange(45 * 24 * 60))).isoformat()

    out = []
    for i in range(n):
        s = rng.randrange(stores)
        rec: dict[str, Any] = {"order_id": f"O{i}", "store": {"id": f"S{s}", "category": f"C{s % 10}"},
                               "grouped_at": when(), "ship_to_xinjiang": rng.random() < 0.05,
                               "product": {"id": f"S{s}-P{rng.randrange(20)}", "category": f"G{s % 10}"}}
        if rng.random() < 0.1:
            rec["refund"] = {"succeeded_at": when(), "quality_reason": rng.random() < 0.3}
        if rng.random() < 0.05:
            rec["intervention"] = {"at": when(), "merchant_requested": False, "merchant_held_responsible": True,
                                   "upheld_for_merchant": False}
        if rng.random() < 0.05:
            rec["logistics_exceptions"] = [{"type": "late_delivery", "at": when()}]
        out.append(rec)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dask", type=int, default=0, help="also run on a local Dask cluster of N workers")
    args = ap.parse_args()
    metrics_from_records([], END)  # compile the definitions once, outside the timings
    client = None
    if args.dask:
        from policy_eval.run.distributed import connect

        client = connect("local", jobs=args.dask)
    try:
        for n in (int(x) for x in args.sizes.split(",")):
            data = orders(n)
            cpu, wall = time.process_time(), time.perf_counter()
            local = metrics_from_records(data, END)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"in process  {n:>9,} orders  {len(local):>5} cases  cpu {cpu:7.2f} s  wall {wall:7.2f} s  "
                  f"{n / wall:>9,.0f} orders/s")
            if client is not None:
                import dask.bag as db

                wall = time.perf_counter()
                remote = metrics_on_dask(db.from_sequence(data, npartitions=max(2, n // 20_000)), END)
                wall = time.perf_counter() - wall
                print(f"dask x{args.dask:<3}  {n:>9,} orders  {len(remote):>5} cases  wall {wall:7.2f} s  "
                      f"identical: {remote == local}")
    finally:
        if client is not None:
            cluster = client.cluster
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()

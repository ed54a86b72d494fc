"""`due` against `eval` on the same open cases: CPU seconds and wall time, in one process.

Open cases are made from the bundled after-sales examples (bench/generate.py, shifted in time):
each snapshot is moved to a random instant 0-72 h after the request, and every event later
than the snapshot is removed, as an export taken then would show it. Both passes use the
bundled rulebook; `due` evaluates each case at its starting instant and at each candidate
instant (docs/due.md), so its cost is that of `eval` times (1 + evaluations per case).

    python bench/due.py --count 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate  # noqa: E402

from policy_eval.plugin_manager import get_plugin_manager  # noqa: E402
from policy_eval.rulebook import load_rulebook  # noqa: E402
from policy_eval.run.due import Forecaster, Status  # noqa: E402
from policy_eval.run.evaluate import Evaluator  # noqa: E402


def _time(value: Any) -> dt.datetime | None:
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _cut(node: Any, snapshot: dt.datetime) -> Any:
    """The object without the events after the snapshot (a sub-object goes with its ``at``)."""
    out = {}
    for key, value in node.items():
        if isinstance(value, dict):
            at = _time(value.get("at")) or _time(value.get("shipped_at"))
            if at is not None and at > snapshot:
                continue
            out[key] = _cut(value, snapshot)
            continue
        t = _time(value)
        if t is not None and t > snapshot and key not in ("promised_ship_by", "due_at", "platform_shortened_deadline"):
            continue
        out[key] = value
    return out


def open_cases(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for case in generate(count, "after_sale", seed):
        submitted = _time(case["request"]["submitted_at"])
        assert submitted is not None
        snapshot = submitted + dt.timedelta(seconds=rng.randrange(0, 72 * 3600))
        case = _cut(case, snapshot)
        case["snapshot_at"] = snapshot.isoformat()
        case["request"]["status"] = "pending_merchant"
        out.append(json.loads(json.dumps(case), parse_float=Decimal))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    book = load_rulebook(functions=get_plugin_manager().functions())
    evaluator = Evaluator(book, explain="missing", record_inputs=False)
    forecaster = Forecaster(book, evaluator=evaluator)
    cases = open_cases(args.count, args.seed)
    print(f"policy-eval due benchmark: {args.count:,} open after-sales cases, Python {platform.python_version()}")
    rows = []
    for name, run in (("eval", evaluator.evaluate), ("due", forecaster.forecast)):
        cpu, wall = time.process_time(), time.perf_counter()
        results = [run(c) for c in cases]
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        rows.append((name, cpu, wall))
        print(f"{name:>5}  cpu {cpu:8.2f} s  wall {wall:8.2f} s  {args.count / cpu:10,.0f} cases/cpu-s")
        if name == "due":
            changes = sum(1 for r in results for f in r.forecasts if f.status is Status.CHANGES)
            unsolved = sum(1 for r in results for f in r.forecasts if f.status is Status.UNSOLVABLE)
            print(f"       forecasts that change: {changes:,}; unsolvable: {unsolved:,}")
    print(f"due / eval: {rows[1][1] / rows[0][1]:.2f}x cpu, {rows[1][2] / rows[0][2]:.2f}x wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

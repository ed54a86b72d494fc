"""Benchmark: full detail through the worker's loop, on whichever policy_eval is importable.

    python bench/full_loop.py --cases 2000 --repeat 3 --label after

Generates after_sale records (bench/generate.py) and times ``Processor.process`` + the result's JSON text
for each, in full detail (every verdict of every rule), as CPU µs per case, best of ``--repeat`` rounds;
prints the bytes per case too. It only uses what every engine since issue 14 began has (``BatchOptions``,
``Processor.process``, ``CaseResult.to_json``; ``detail`` when the engine knows it), so the same script
times an older checkout installed in another virtual environment: run them by turns and compare.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import json_lines  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from policy_eval.run.batch import BatchOptions, Processor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="policy-eval")
    args = ap.parse_args(argv)
    lines = json_lines(args.cases)
    detail = {"detail": "full"} if "detail" in inspect.signature(BatchOptions).parameters else {}
    proc = Processor(BatchOptions(explain="missing", **detail))
    for i, line in enumerate(lines[:200], 1):  # (first calls compile code)
        proc.process(("b", i, line)).to_json()
    best = float("inf")
    out: list[str] = []
    for _ in range(args.repeat):
        start = time.process_time()
        out = [proc.process(("b", i, line)).to_json() for i, line in enumerate(lines, 1)]
        best = min(best, time.process_time() - start)
    size = sum(len(text.encode()) + 1 for text in out) / len(lines)
    print(f"{args.label}: full detail, process + JSON text: {best / len(lines) * 1e6:.1f} µs CPU a case, "
          f"{size:,.0f} bytes a case ({len(lines):,} cases, best of {args.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

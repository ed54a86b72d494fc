"""Benchmark: full detail through the worker's loop, on whichever policy_eval is importable.

    python bench/full_loop.py --cases 2000 --repeat 3 --label after
    python bench/full_loop.py --cases 4000 --repeat 3 --blocks                 # as a worker writes: in blocks
    python bench/full_loop.py --cases 4000 --repeat 3 --blocks --detail findings

Generates after_sale records (bench/generate.py) and times ``Processor.process`` + the result's JSON text
for each, in full detail (every verdict of every rule), as CPU µs per case, best of ``--repeat`` rounds;
prints the bytes per case too. It only uses what every engine since issue 14 began has (``BatchOptions``,
``Processor.process``, ``CaseResult.to_json``; ``detail`` when the engine knows it), so the same script
times an older checkout installed in another virtual environment: run them by turns and compare.

``--blocks`` times what a worker does instead: ``Processor.process`` and ``run.blocks.block_of`` for each 256
records (JSON Lines), the collector frozen after start-up and its threshold the CLI's (engines from the day
blocks came, 2026-12-02, on).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import json_lines  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from policy_eval.run.batch import BatchOptions, Processor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="policy-eval")
    ap.add_argument("--blocks", action="store_true", help="process and block_of per 256 records, as a worker")
    ap.add_argument("--detail", default="full", choices=["full", "findings"])
    args = ap.parse_args(argv)
    lines = json_lines(args.cases)
    detail = {"detail": args.detail} if "detail" in inspect.signature(BatchOptions).parameters else {}
    proc = Processor(BatchOptions(explain="missing", **detail))
    if args.blocks:
        return _blocks(proc, lines, args)
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


def _blocks(proc: Any, lines: list[bytes], args: argparse.Namespace) -> int:
    import gc

    from policy_eval.run.blocks import block_of

    items = [("b", i, line) for i, line in enumerate(lines, 1)]
    for item in items[:300]:  # (first calls compile code)
        proc.process(item)
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000)
    best = float("inf")
    size = 0
    for _ in range(args.repeat):
        start = time.process_time()
        size = sum(len(block_of([proc.process(item) for item in items[k:k + 256]], ("", "\n")).data)
                   for k in range(0, len(items), 256))
        best = min(best, time.process_time() - start)
    print(f"{args.label}: {args.detail} detail, process + blocks: {best / len(items) * 1e6:.1f} µs CPU a case, "
          f"{size / len(items):,.0f} bytes a case ({len(items):,} cases, best of {args.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

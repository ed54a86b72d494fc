"""Benchmark: the embedding API on after-sale cases, ``Rulebook.evaluate(case)``, and what the garbage collector
costs it when the caller keeps the results.

    python bench/api.py --cases 5000

Generates after_sale cases (bench/generate.py, read as JSON gives them: Decimals), loads the bundled rulebook
with ``Rulebook.load()`` and evaluates every case, full detail (every verdict, lazy) and findings detail, two
ways: each result dropped at once, and every result kept in a list (an embedder collecting a batch). Each way
runs in a fresh process three times: Python's collector as it starts (``default``), ``gc.freeze()`` called after
loading (the rulebook's objects, about 128,000, moved out of the collector's sight, as ``policy-eval eval``'s
workers do), and the collector off (the floor). CPU µs per case, best of --repeat rounds.

A kept full-detail result holds about 80 objects the collector tracks (its verdicts); each full collection
walks those and the rulebook's, so a caller keeping many of them pays for the rulebook's objects again and
again unless they are frozen. bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import json_lines  # noqa: E402

MODES = ("default", "freeze", "off")


def _one(mode: str, n: int, repeat: int) -> list[tuple[str, float]]:
    from policy_eval.api import Rulebook

    book = Rulebook.load()
    cases = [json.loads(line, parse_float=Decimal) for line in json_lines(n)]
    if mode == "freeze":
        gc.freeze()
    elif mode == "off":
        gc.disable()
    out = []
    for detail in ("full", "findings"):
        for kept in (False, True):
            best = float("inf")
            for _ in range(repeat):
                start = time.process_time()
                if kept:
                    results = [book.evaluate(c, detail=detail) for c in cases]  # type: ignore[arg-type]
                else:
                    for c in cases:
                        book.evaluate(c, detail=detail)  # type: ignore[arg-type]
                best = min(best, time.process_time() - start)
                if kept:
                    del results
                    gc.collect()  # (the next round starts from the same heap)
            out.append((f"{detail}, results {'kept' if kept else 'dropped'}", best / n * 1e6))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # (one configuration, in this process)
    args = ap.parse_args(argv)
    if args.mode:
        print(json.dumps(_one(args.mode, args.cases, args.repeat)))
        return 0
    table: dict[str, dict[str, float]] = {}
    for mode in MODES:
        done = subprocess.run([sys.executable, __file__, "--mode", mode, "--cases", str(args.cases),
                               "--repeat", str(args.repeat)], capture_output=True, text=True, check=True)
        for name, value in json.loads(done.stdout):
            table.setdefault(name, {})[mode] = value
    print(f"{args.cases:,} after_sale cases, Python {sys.version.split()[0]}; Rulebook.evaluate, CPU µs per case, "
          f"best of {args.repeat}")
    print(f"{'':28}" + "".join(f"{m:>12}" for m in ("collector", "gc.freeze()", "gc off")))
    for name, row in table.items():
        print(f"{name:28}" + "".join(f"{row[m]:12.1f}" for m in MODES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

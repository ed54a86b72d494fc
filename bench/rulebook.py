"""Benchmark: the whole bundled rulebook over generated cases, end to end through the CLI.

For each input size and --jobs value, runs
    policy-eval eval --quiet --format jsonl -o OUT CASES.jsonl
in a fresh process and prints wall time, cases/s and peak memory (the largest
single process, from the operating system's accounting of the finished
children). Then prints the in-process cost of each rule (µs per case) on a
sample, to show where time goes and that rules which do not apply cost
next to nothing.

    python bench/rulebook.py --sizes 10000,100000,1000000 --jobs 1,2 --kind after_sale --detail findings,full
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

_RUNNER = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{code} {wall:.3f} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime:.3f}")
"""


def _cli() -> str:
    exe = Path(sys.executable).with_name("policy-eval")
    return str(exe) if exe.exists() else "policy-eval"


def run_cli(cases: Path, jobs: int, out: Path, detail: str = "findings") -> tuple[int, float, int, float]:
    """Exit code, wall seconds, peak KiB of the largest process, CPU seconds of every process."""
    cmd = [sys.executable, "-c", _RUNNER, _cli(), "eval", "--quiet", "--format", "jsonl", "--detail", detail,
           "-o", str(out), "--jobs", str(jobs), "--fail-on", "never", str(cases)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    code, wall, peak, cpu = result.stdout.split()
    return int(code), float(wall), int(peak), float(cpu)


def rule_costs(kind: str | None, sample: int) -> list[tuple[str, float, float]]:
    from decimal import Decimal

    from policy_eval.lang.compiler import REF_TIME
    from policy_eval.rulebook import load_rulebook

    book = load_rulebook()
    cases = [json.loads(json.dumps(c), parse_float=Decimal) for c in generate(sample, kind, seed=3)]
    rows = []
    for version in book.versions():
        relevant = [c for c in cases if c.get("kind") == version.applies_to]
        if not relevant:
            continue
        for rule in version.rules:
            env = {REF_TIME: version.effective_from}
            applicable = 0
            start = time.perf_counter()
            for case in relevant:
                applies = rule.when.fn(case, env) if rule.when is not None else True
                if applies is not False:
                    applicable += 1
                    try:
                        rule.condition.fn(case, env)
                    except Exception:  # noqa: BLE001 - cost only; verdicts are tested elsewhere
                        pass
            elapsed = time.perf_counter() - start
            rows.append((rule.full_id + f" v{version.version}", elapsed / len(relevant) * 1e6,
                         applicable / len(relevant)))
    return sorted(rows, key=lambda r: -r[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--kind", default="after_sale", help="case kind to generate ('all' for every kind)")
    ap.add_argument("--sample", type=int, default=5000, help="cases for the per-rule cost table")
    ap.add_argument("--keep", help="folder for the generated inputs and outputs (default: a temp folder)")
    ap.add_argument("--detail", default="findings", help="findings (default), full, or both (comma-separated)")
    args = ap.parse_args(argv)
    kind = None if args.kind == "all" else args.kind
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="policy-eval-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"policy-eval rulebook benchmark: kind={args.kind}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'records':>10} {'jobs':>4} {'detail':>8} {'wall s':>8} {'cases/s':>10} {'CPU s':>8} {'CPU µs/case':>11} "
          f"{'out B/case':>10} {'peak MiB':>9}  input MiB")
    for size in [int(s) for s in args.sizes.split(",")]:
        cases = folder / f"{args.kind}-{size}.jsonl"
        if not cases.exists():
            with open(cases, "w", encoding="utf-8") as fh:
                for case in generate(size, kind):
                    fh.write(json.dumps(case, ensure_ascii=False) + "\n")
        mib = cases.stat().st_size / 2**20
        for detail in args.detail.split(","):
            for jobs in [int(j) for j in args.jobs.split(",")]:
                out = folder / f"out-{size}-{jobs}-{detail}.jsonl"
                code, wall, peak_kib, cpu = run_cli(cases, jobs, out, detail)
                with open(out, "rb") as fh:
                    lines = sum(1 for _ in fh)
                assert lines == size, f"{lines} results for {size} records"
                per = out.stat().st_size / size
                print(f"{size:>10,} {jobs:>4} {detail:>8} {wall:>8.2f} {size / wall:>10,.0f} {cpu:>8.1f} "
                      f"{cpu / size * 1e6:>11.1f} {per:>10,.0f} {peak_kib / 1024:>9.1f}  {mib:,.0f}")
    print(f"\nper-rule cost on {args.sample:,} generated cases (µs per case of the rule's kind):")
    print(f"{'rule':64} {'µs':>8} {'applies':>8}")
    for name, us, share in rule_costs(kind, args.sample):
        print(f"{name:64} {us:>8.2f} {share:>8.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

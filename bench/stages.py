"""Benchmark: machine instructions per record of each stage of the batch worker, counted, not timed.

    python bench/stages.py --cases 2000
    python bench/stages.py --cases 2000 --python /tmp/before/bin/python    # and another install's, side by side

bench/instructions.py counts the whole CLI; this splits what a worker does with one JSON Lines record into
its stages, each counted the way that script counts (Valgrind's cachegrind, ``--cache-sim=no``,
``PYTHONHASHSEED=0``: two runs agree within about 0.3 %, where timing on this project's shared machines moves
by 30-50 %). A child process runs the stages up to one (each stage on top of the ones before, per record, as
a worker runs them) over 500 generated after_sale records to warm up, then over ``--cases`` more or none;
the difference divided by ``--cases`` is what a record costs up to that stage, start-up and first-use
compilation taken out, and the cyclic garbage collector's runs too (it is off for the counted records: when
it runs depends on each install's heap history). The stages:

  parse       policy_eval.rulebook.cases.parse_record (orjson, then the exactness and duplicate-key checks)
  check       the case schema (CaseValidator.check: the compiled check, which parses the timestamps)
  decide      each policy's reference time, the version in force and the version's fused function: the
              rules' conditions, nothing built
  evaluate    Evaluator.evaluate in findings detail (what ``decide`` does, the verdicts of the violated and
              undetermined rules, the result object) instead of ``decide``
  serialise   the result's JSON line (CaseResult.to_json)
  process     Processor.process + to_json instead of all of the above: the worker's own call, its glue included

The CLI's own work (reading lines, writing, the summary) is bench/instructions.py's figure minus ``process``.

It tells where a record's instructions go. It does not compare two versions of the code finely: ``--python``
counts installs at different paths, and the path alone moved the ``parse`` row of one commit from 58,100 to
65,700 (bench/instructions.py explains; compare versions with its ``--source``).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import json_lines  # noqa: E402

STAGES = ("parse", "check", "decide", "evaluate", "serialise", "process")
WARM = 500
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _inner(stage: str, n: int, made: int) -> None:
    """Run the stages up to ``stage`` over WARM records, then over ``n`` more, of ``made`` generated records
    (the same in both counts: making them is not a stage) (in a child under cachegrind)."""
    from policy_eval.lang.compiler import REF_TIME
    from policy_eval.lang.values import UNKNOWN
    from policy_eval.rulebook.cases import parse_record
    from policy_eval.run.batch import BatchOptions, Processor

    lines = json_lines(made)[:WARM + n]
    proc = Processor(BatchOptions(detail="findings", explain="missing"))
    validator, evaluator = proc.validator, proc.evaluator
    assert validator is not None
    kernel = evaluator._kernel  # noqa: SLF001 - the fused functions alone, for the decide stage
    by_kind = evaluator._by_kind  # noqa: SLF001
    upto = STAGES.index(stage)

    def one(i: int, line: bytes) -> Any:
        if stage == "process":
            return proc.process(("bench", i, line)).to_json()
        case = parse_record(line, "bench", i)
        if upto >= 1:
            validator.check(case, "bench", i)
        if stage == "decide":
            for history in by_kind.get(case["kind"], ()):
                ref = history.latest().reference_time.fn(case, {REF_TIME: UNKNOWN})
                version = history.at(ref) if ref is not UNKNOWN else None
                fused = kernel._fused.get(id(version)) if kernel is not None else None  # noqa: SLF001
                if fused is not None:
                    fused(case, {REF_TIME: ref}, None)
        elif upto >= 3:
            result = evaluator.evaluate(case)
            if upto >= 4:
                result.to_json()
        return case

    for i, line in enumerate(lines[:WARM], 1):
        one(i, line)
    # the cyclic collector off for the counted records: when it runs depends on the heap's history, which
    # differs from one install to another by more than a small change costs (8,000 instructions a record
    # were seen between two installs of the same serialiser); what the records cost it is measured apart
    gc.collect()
    gc.disable()
    for i, line in enumerate(lines[WARM:], WARM + 1):
        one(i, line)


def _count(python: str, stage: str, n: int, made: int) -> int:
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", python,
           str(Path(__file__).resolve()), "--inner", stage, str(n), str(made)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
                          check=False)
    counts = [int(m.replace(",", "")) for m in _REFS.findall(done.stderr)]
    if done.returncode != 0 or not counts:
        raise SystemExit(f"{stage} {n} under {python}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return counts[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--python", action="append", default=[], help="another interpreter (its own install) too")
    ap.add_argument("--inner", nargs=3, metavar=("STAGE", "N", "MADE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        _inner(args.inner[0], int(args.inner[1]), int(args.inner[2]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): nothing counted", file=sys.stderr)
        return 2
    pythons = [sys.executable, *args.python]
    print(f"{args.cases:,} after_sale records after {WARM} to warm up, --detail findings; instructions a record "
          "counted by cachegrind, up to each stage (and the stage's own)")
    header = f"{'stage':<10}" + "".join(f" {p[-30:]:>30}" for p in pythons)
    print(header)
    # every count is deterministic: they run side by side, one a core
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = {(s, p, n): pool.submit(_count, p, s, n, WARM + args.cases) for s in STAGES for p in pythons for n in (args.cases, 0)}
        rows: dict[str, list[float]] = {}
        for stage in STAGES:
            rows[stage] = [(counts[stage, p, args.cases].result() - counts[stage, p, 0].result()) / args.cases
                           for p in pythons]
            before = {"check": "parse", "decide": "check", "evaluate": "check", "serialise": "evaluate"}.get(stage)
            cells = []
            for i, total in enumerate(rows[stage]):
                own = f" (+{total - rows[before][i]:,.0f})" if before else ""
                cells.append(f"{total:,.0f}{own}")
            print(f"{stage:<10}" + "".join(f" {c:>30}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

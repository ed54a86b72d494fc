"""Benchmark: what each stage of the batch worker costs a record, counted (machine instructions) or timed.

    python bench/stages.py --cases 2000                  # instructions a record, each stage (cachegrind)
    python bench/stages.py --cases 2000 --python /tmp/before/bin/python    # and another install's, side by side
    python bench/stages.py --cases 20000 --time          # CPU microseconds a record, each stage, in this process

The stages follow a worker's own path for a JSON Lines record (run.batch.Processor), each on top of the ones
before, per record, as a worker runs them:

  decode      rulebook.msgdecode: the record read and checked against its case schema in C (msgspec: the
              record's dicts, then its timestamps parsed), the generated walk over the two (timestamps
              remembered, patterns, keys counted) and the key count; a record it does not take is read and
              checked the other way (rulebook.cases.parse_record, then the schema's compiled check) and counted
  decide      each policy's reference time, the version in force and the version's fused function: the
              rules' conditions, nothing built
  evaluate    Evaluator.evaluate in findings detail on the decoded case (what ``decide`` does, the verdicts of
              the violated and undetermined rules, the result object) instead of ``decide``
  serialise   the result's JSON line (CaseResult.to_json_bytes, orjson's bytes)
  process     Processor.process + to_json_bytes instead of all of the above: the worker's own call, its glue
              included

The CLI's own work (planning and reading ranges, blocks, writing, the totals, start-up) is bench/instructions.py's
figure (or bench/cpu_split.py's CPU) minus ``process``.

Counted (the default): each stage the way bench/instructions.py counts (Valgrind's cachegrind,
``--cache-sim=no``, ``PYTHONHASHSEED=0``: two runs agree within about 0.3 %, where timing on this project's
shared machines moves by 30-50 %). A child process runs the stages up to one over 500 generated after_sale
records to warm up, then over ``--cases`` more or none; the difference divided by ``--cases`` is what a record
costs up to that stage, start-up and first-use compilation taken out, and the cyclic garbage collector's runs
too (it is off for the counted records: when it runs depends on each install's heap history). It does not
compare two versions of the code finely: ``--python`` counts installs at different paths, and the path alone
moved one stage of one commit from 58,100 to 65,700 (bench/instructions.py explains; compare versions with
its ``--source``).

Timed (``--time``): in this process, the heap settled as the CLI settles it (cli.common.settle_heap), each
stage's records run ``--rounds`` times after 500 to warm up; the least CPU time (``time.process_time``) a round
took, divided by ``--cases``. Machines' speeds differ: the shares tell more than the microseconds.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import json_lines  # noqa: E402

STAGES = ("decode", "decide", "evaluate", "serialise", "process")
BEFORE = {"decide": "decode", "evaluate": "decode", "serialise": "evaluate"}  # (a stage's own: less the one it adds to)
WARM = 500
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _stages(made: int) -> tuple[list[bytes], Any, dict[str, int]]:
    """``made`` generated records and ``one(stage, i, line)``, which runs the stages up to ``stage`` on one record
    as a worker does; the dict counts the records the decoder did not take."""
    from policy_eval.lang.compiler import REF_TIME
    from policy_eval.lang.values import UNKNOWN
    from policy_eval.rulebook.cases import parse_record
    from policy_eval.run.batch import BatchOptions, Processor

    lines = json_lines(made)
    proc = Processor(BatchOptions(detail="findings", explain="missing"))
    decode, validator, evaluator = proc._decode, proc.validator, proc.evaluator  # noqa: SLF001 - the stages apart
    assert decode is not None and validator is not None
    kernel = evaluator._kernel  # noqa: SLF001 - the fused functions alone, for the decide stage
    by_kind = evaluator._by_kind  # noqa: SLF001
    other = {"records the decoder did not take": 0}

    def one(stage: str, i: int, line: bytes) -> Any:
        if stage == "process":
            return proc.process(("bench", i, line)).to_json_bytes()
        read = decode(line)
        if read is None:  # (the other way, as Processor._process takes it)
            other["records the decoder did not take"] += 1
            case, null_free = parse_record(line, "bench", i), b"null" not in line
            validator.check(case, "bench", i)
        else:
            case, null_free = read
        if stage == "decide":
            for history in by_kind.get(case["kind"], ()):
                ref = history.latest().reference_time.fn(case, {REF_TIME: UNKNOWN})
                version = history.at(ref) if ref is not UNKNOWN else None
                fused = kernel._fused.get(id(version)) if kernel is not None else None  # noqa: SLF001
                if fused is not None:
                    fused(case, {REF_TIME: ref}, None)
        elif stage in ("evaluate", "serialise"):
            result = evaluator.evaluate(case, source="bench", record=i, null_free=null_free, checked=True)
            if stage == "serialise":
                result.to_json_bytes()
        return case

    return lines, one, other


def _inner(stage: str, n: int, made: int) -> None:
    """Run the stages up to ``stage`` over WARM records, then over ``n`` more, of ``made`` generated records
    (the same in both counts: making them is not a stage) (in a child under cachegrind)."""
    lines, one, _ = _stages(made)
    lines = lines[:WARM + n]
    for i, line in enumerate(lines[:WARM], 1):
        one(stage, i, line)
    # the cyclic collector off for the counted records: when it runs depends on the heap's history, which
    # differs from one install to another by more than a small change costs (8,000 instructions a record
    # were seen between two installs of the same serialiser); what the records cost it is measured apart
    gc.collect()
    gc.disable()
    for i, line in enumerate(lines[WARM:], WARM + 1):
        one(stage, i, line)


def _timed(n: int, rounds: int) -> int:
    """``--time``: CPU microseconds a record up to each stage, in this process (see the module)."""
    lines, one, other = _stages(WARM + n)
    gc.collect()
    gc.freeze()  # (as cli.common.settle_heap does in a batch's own process)
    gc.set_threshold(10_000)
    print(f"{n:,} after_sale records after {WARM} to warm up, --detail findings; CPU microseconds a record up to "
          f"each stage (and the stage's own), the least of {rounds} rounds")
    took: dict[str, float] = {}
    for stage in STAGES:
        for i, line in enumerate(lines[:WARM], 1):
            one(stage, i, line)
        best = float("inf")
        for _ in range(rounds):
            start = time.process_time()
            for i, line in enumerate(lines[WARM:], WARM + 1):
                one(stage, i, line)
            best = min(best, time.process_time() - start)
        took[stage] = best / n * 1e6
    whole = took["process"]
    for stage in STAGES:
        before = BEFORE.get(stage)
        own = f"{took[stage] - took[before]:+8.2f}" if before else " " * 8
        print(f"{stage:<10} {took[stage]:>8.2f} {own}   {100 * took[stage] / whole:3.0f} % of process")
    print(f"of process: the read {100 * took['decode'] / whole:.0f} %, the fused conditions "
          f"{100 * (took['decide'] - took['decode']) / whole:.0f} %, the rest of evaluating (versions, verdicts, the "
          f"result) {100 * (took['evaluate'] - took['decide']) / whole:.0f} %, the JSON line "
          f"{100 * (took['serialise'] - took['evaluate']) / whole:.0f} %, the glue "
          f"{100 * (whole - took['serialise']) / whole:.0f} %")
    for what, count in other.items():
        print(f"{what}: {count:,}")
    return 0


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
    ap.add_argument("--time", action="store_true", help="CPU time in this process, not instructions counted")
    ap.add_argument("--rounds", type=int, default=3, help="with --time: rounds a stage, the least taken")
    ap.add_argument("--inner", nargs=3, metavar=("STAGE", "N", "MADE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        _inner(args.inner[0], int(args.inner[1]), int(args.inner[2]))
        return 0
    if args.time:
        return _timed(args.cases, args.rounds)
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
            before = BEFORE.get(stage)
            cells = []
            for i, total in enumerate(rows[stage]):
                own = f" (+{total - rows[before][i]:,.0f})" if before else ""
                cells.append(f"{total:,.0f}{own}")
            print(f"{stage:<10}" + "".join(f" {c:>30}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: Python bytecode instructions a record executes, by function, counted (not timed).

    python bench/opcodes.py --cases 1000                  # the batch worker's path, after_sale records
    python bench/opcodes.py --cases 1000 --detail full
    python bench/opcodes.py --cases 1000 --api off        # Rulebook.evaluate on bench/peers.py's rule

bench/instructions.py and bench/stages.py count machine instructions (cachegrind), which says how much a stage
costs but not which Python function spends it; a profiler names the functions but its own cost per call
distorts code made of many small calls. This counts the interpreter's own steps: ``sys.settrace`` with
``f_trace_opcodes`` sees every bytecode instruction executed, and each is credited to its code object (file
and function; generated code shows its ``<policy-eval ...>`` name). The counts are exact and the same on every
run of one install (hash seeds aside), so two versions of the code compare by them; an instruction's cost is
not fixed (a ``CALL`` into C may do a microsecond of work, a ``LOAD_FAST`` a nanosecond), so confirm a gain
with the CPU figures of bench/throughput.py or bench/rulebook.py, or with machine instructions (bench/instructions.py).

Fewer bytecode instructions is not less work. Refuted here (2026-12-02): full detail's loops over a record's ~20
verdicts rewritten as C loops (``map`` of ``setattr`` and ``operator.attrgetter``, ``list.count``, ``bytes.join``)
went from 9,183 to 7,308 bytecode instructions a record, and from 685,668 to 753,982 machine instructions
(+10 %, cachegrind, 2,000 records): a specialised ``STORE_ATTR`` / ``LOAD_ATTR`` on a slot costs less than the
generic attribute path ``setattr`` and ``attrgetter`` take. The change was reverted. Use this script to see where
the interpreter spends its steps, and cachegrind or the CPU clock to decide.

Worker path: ``Processor.process`` and the record's JSON text (``to_json_bytes``), as ``eval -f jsonl`` runs
them, over ``--cases`` generated after_sale records after 200 to warm up. API path: the ``policy-eval API``
rows of bench/peers.py (``on``: validation on, ``off``: off, ``findings``), with hand-written Python and the
compiled conditions as ``hand`` and ``compiled``.

``--unspecialised`` (CPython 3.11) lists instead the instructions executed that are still in their adaptive form
after the warm-up, by executions a record: CPython tried to specialise them for what they met and could not (an
``|=`` on ints, a store meeting several classes in turn, a call with keywords). ``CALL_ADAPTIVE`` is left out: in
3.11 a call's specialisation is its ``PRECALL``'s. Found with it (2026-12-06): the API glue's verdict stores, met by
a rule's three verdict classes in turn, and the fused functions' ``|=``.
"""

from __future__ import annotations

import argparse
import collections
import dis
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WARM = 200


def executed(fn: Callable[[Any], Any], items: list[Any]) -> collections.Counter[tuple[Any, int]]:
    """Bytecode instructions executed by ``fn`` over ``items``: how many times each, by (code object, offset)."""
    at: collections.Counter[tuple[Any, int]] = collections.Counter()

    def step(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            at[frame.f_code, frame.f_lasti] += 1
        return step

    def enter(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return step

    sys.settrace(enter)
    try:
        for item in items:
            fn(item)
    finally:
        sys.settrace(None)
    return at


def _name(code: Any) -> str:
    return f"{Path(code.co_filename).name}:{code.co_name}"


def count(fn: Callable[[Any], Any], items: list[Any]) -> collections.Counter[str]:
    """Bytecode instructions executed by ``fn`` over ``items``, by code object (``file:function``)."""
    by_code: collections.Counter[str] = collections.Counter()
    for (code, _), ran in executed(fn, items).items():
        by_code[_name(code)] += ran
    return by_code


def unspecialised(fn: Callable[[Any], Any], items: list[Any]) -> list[tuple[int, str, str]]:
    """(executions, instruction and its argument, ``file:line function``) of each instruction executed by ``fn`` over
    ``items`` that is still adaptive: specialisation failed there (CPython 3.11's ``*_ADAPTIVE`` forms)."""
    at = executed(fn, items)
    rows = []
    for code in {code for code, _ in at}:
        for ins in dis.get_instructions(code, adaptive=True):  # (3.11: the adaptive forms)
            ran = at.get((code, ins.offset))
            if ran and ins.opname.endswith("_ADAPTIVE") and ins.opname != "CALL_ADAPTIVE":
                line = ins.positions.lineno if ins.positions else None
                rows.append((ran, f"{ins.opname} {str(ins.argval)[:24]}", f"{_name(code)}:{line}"))
    return sorted(rows, reverse=True)


def worker(cases: int, detail: str) -> tuple[Callable[[Any], Any], list[Any]]:
    from generate import json_lines

    from policy_eval.run.batch import BatchOptions, Processor

    proc = Processor(BatchOptions(detail=detail, explain="missing"))
    lines = json_lines(WARM + cases)
    items = [("bench", i, line) for i, line in enumerate(lines, 1)]

    def one(item: Any) -> Any:
        return proc.process(item).to_json_bytes()
    for item in items[:WARM]:
        one(item)
    return one, items[WARM:]


def api(cases: int, mode: str) -> tuple[Callable[[Any], Any], list[Any]]:
    import peers

    factories = {"on": peers._api(True), "off": peers._api(False), "findings": peers._api(True, "findings"),
                 "hand": lambda: peers.hand_written, "compiled": peers.policy_eval_engine}
    fn = factories[mode]()
    made = peers.generate(WARM + cases)
    for case in made[:WARM]:
        fn(case)
    return fn, made[WARM:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--detail", choices=("findings", "full"), default="findings")
    ap.add_argument("--api", choices=("on", "off", "findings", "hand", "compiled"),
                    help="count a call of bench/peers.py's rule instead of the worker's path")
    ap.add_argument("--top", type=int, default=25, help="functions listed (the rest are summed)")
    ap.add_argument("--unspecialised", action="store_true",
                    help="the instructions run that CPython 3.11 could not specialise, not the counts by function")
    args = ap.parse_args(argv)
    fn, items = api(args.cases, args.api) if args.api else worker(args.cases, args.detail)
    if args.unspecialised:
        if sys.version_info[:2] != (3, 11):
            print("--unspecialised reads CPython 3.11's adaptive instructions: run it on 3.11", file=sys.stderr)
            return 2
        for _ in range(2):  # (more warm-up: an instruction specialises after some runs, not at its first)
            for item in items:
                fn(item)
        rows = unspecialised(fn, items)
        print(f"instructions still adaptive after warm-up, executions a {'call' if args.api else 'record'} "
              f"({len(items):,} counted):")
        for ran, what, where in rows[:args.top]:
            print(f"{ran / len(items):8.1f}  {what:40s} {where}")
        return 0
    by_code = count(fn, items)
    n = len(items)
    total = sum(by_code.values())
    what = f"API ({args.api})" if args.api else f"worker, --detail {args.detail}, after_sale records"
    print(f"{what}: {total / n:,.1f} bytecode instructions a {'call' if args.api else 'record'} "
          f"(Python {sys.version.split()[0]}, {n:,} counted after {WARM})")
    shown = by_code.most_common(args.top)
    for name, ops in shown:
        print(f"{ops / n:10,.1f}  {ops / total:6.1%}  {name}")
    rest = total - sum(ops for _, ops in shown)
    if rest:
        print(f"{rest / n:10,.1f}  {rest / total:6.1%}  ({len(by_code) - len(shown)} other functions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

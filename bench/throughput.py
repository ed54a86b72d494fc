"""Benchmark: CPU per after-sale case, stage by stage, in one process (the batch worker's core).

    python bench/throughput.py --cases 5000

Generates after_sale records (bench/generate.py), then times each stage of what a worker does with
one JSON Lines record, as CPU seconds (time.process_time, so other work on a shared machine costs
less precision than wall time would), best of --repeat rounds:

  parse       json.loads with exact Decimals (the old reader), orjson alone, and the reader in use
              (orjson first, then the float and duplicate-key checks: the difference is their cost)
  validate    the case kind's JSON Schema as validation.py runs it (the compiled check of
              rulebook.schemacompile first), then the compiled check alone, fastjsonschema alone (the
              validator before it), and the case's timestamps parsed alone (a cost both share: the
              schema's date-time format reads them, memoised for the rules)
  evaluate    the bundled rulebook, findings detail (default) and full detail, each case validated just
              before (as a worker does: the check parses the timestamps the rules then read)
  serialise   the result's JSON text, findings and full
  process     all of it through batch.Processor, as `eval` runs it (findings and full; and findings with the
              per-record CPU limit armed, as eval arms it: its cost is the difference)
  verdict     per violated and per undetermined verdict (not per case): the evaluator's ``judged`` on the
              calls findings detail made for these cases, replayed (each just after its case's schema check, as
              in a worker, the check's own time taken off), with the violated
              verdict's message and remedies and the undetermined one's trace (the reference interpreter
              naming the missing paths) also timed alone; and the violated verdicts the kernel builds
              directly (``Judge.violated``, not through ``judged``: most of them), with their messages and
              remedies

and the output size per case (bytes), overall and for cases with nothing violated.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import json_lines  # noqa: E402


def best(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """Best CPU µs per case over ``repeat`` rounds."""
    out = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        out = min(out, time.process_time() - start)
    return out / n * 1e6


_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt].*")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _verdict_rows(evaluator: Any, cases: list[Any]) -> list[tuple[str, list[tuple[Any, ...]], Callable[..., Any]]]:
    """The calls findings detail makes to ``judged`` on these cases (violated and undetermined ones), to replay."""
    import inspect

    from policy_eval.run.explaining import trace_rule
    from policy_eval.run.result import Outcome

    try:  # the compiled forms (run.messages), or the evaluator's methods of an engine before them
        from policy_eval.run.messages import message_of, remedies_of

        def message(r: Any, c: Any, env: Any) -> Any:
            return message_of(r)(c, env)

        def remedies(r: Any, c: Any, env: Any) -> Any:
            return remedies_of(r)(c, env)
    except ImportError:
        message, remedies = evaluator._message, evaluator._remedies
    calls: list[tuple[Any, ...]] = []
    direct: list[tuple[Any, ...]] = []  # violated verdicts built without judged (run.judge.Judge.violated), if any
    judged = evaluator.judged
    violated_fn = getattr(evaluator, "violated", None)

    def record(*a: Any) -> Any:
        calls.append(a)
        return judged(*a)

    def record_direct(*a: Any) -> Any:
        result = violated_fn(*a)  # type: ignore[misc]
        if result is not None:
            direct.append(a)
        return result
    evaluator.judged = record
    if violated_fn is not None:
        evaluator.violated = record_direct
    try:
        for c in cases:
            evaluator.evaluate(c)
    finally:
        del evaluator.judged
        if violated_fn is not None:
            del evaluator.violated
    violated = [a for a in calls if a[8] is Outcome.VIOLATED]
    undetermined = [a for a in calls if a[8] is Outcome.UNDETERMINED]
    rows: list[tuple[str, list[tuple[Any, ...]], Callable[..., Any]]] = [
        ("verdict: violated (each)", violated, judged),
        ("verdict: violated, its message", violated, lambda v, r, c, env, *_: message(r, c, env)),
        ("verdict: violated, its remedies", violated, lambda v, r, c, env, *_: remedies(r, c, env)),
        ("verdict: violated, built directly (each)", direct, violated_fn),
        ("verdict: violated directly, its message", direct, lambda v, r, c, env, *_: message(r, c, env)),
        ("verdict: violated directly, its remedies", direct, lambda v, r, c, env, *_: remedies(r, c, env)),
        ("verdict: undetermined (each)", undetermined, judged),
        ("verdict: undetermined, traced with steps", undetermined, lambda v, r, c, env, *_: trace_rule(r, c, env)),
    ]
    from policy_eval.lang import values
    text_cache = getattr(values, "_DATETIME_TEXT", None)
    if text_cache is not None:  # each datetime formatted afresh, as a case's own timestamps are the first time
        rows.insert(1, ("verdict: violated, datetime text not cached", violated,
                        lambda *a: (text_cache.clear(), judged(*a))))
    if "explain" in inspect.signature(trace_rule).parameters:  # (an engine before it traced with steps only)
        rows.insert(-1, ("verdict: undetermined, its trace (findings)", undetermined,
                         lambda v, r, c, env, *_: trace_rule(r, c, env, False)))
    return [row for row in rows if row[1]]


def _armed(watchdog: Any, fn: Callable[[], Any]) -> Any:
    if not watchdog.arm():
        raise SystemExit("the record limit's timer is in use in this process")
    try:
        return fn()
    finally:
        watchdog.disarm()


def main(argv: list[str] | None = None) -> int:
    import orjson

    from policy_eval.lang.timestamps import parse_timestamp
    from policy_eval.rulebook.cases import parse_record
    from policy_eval.run.batch import BatchOptions, Processor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", help="only the rows whose name starts with this (e.g. verdict)")
    args = ap.parse_args(argv)
    lines = json_lines(args.cases)
    n = len(lines)
    findings = Processor(BatchOptions(detail="findings", explain="missing"))
    full = Processor(BatchOptions(detail="full", explain="missing"), rulebook=findings.rulebook)
    cases = [parse_record(x, "bench", i) for i, x in enumerate(lines, 1)]
    assert all(isinstance(c, dict) for c in cases)
    validator = findings.validator
    assert validator is not None
    compiled = validator._compiled["after_sale"]  # noqa: SLF001 - the two validators side by side
    fast = validator.fast("after_sale")
    assert compiled is not None and fast is not None
    stamps = [[v for v in _strings(c) if _TIMESTAMP.fullmatch(v)] for c in cases]
    warm = cases[:min(n, 400)]
    short = [findings.evaluator.evaluate(c) for c in cases]  # type: ignore[arg-type]
    long = [full.evaluator.evaluate(c) for c in cases]  # type: ignore[arg-type]
    rows = [
        ("parse: json + Decimal (before)", lambda: [json.loads(x, parse_float=Decimal) for x in lines]),
        ("parse: orjson alone (no checks)", lambda: [orjson.loads(x) for x in lines]),
        ("parse: parse_record (orjson first)", lambda: [parse_record(x, "b", 1) for x in lines]),
        ("validate: case schema", lambda: [validator.check(c, "b", 1) for c in cases]),  # type: ignore[arg-type]
        ("validate: compiled check alone", lambda: [compiled(c) for c in cases]),
        ("validate: fastjsonschema alone (before)", lambda: [fast(c) for c in cases]),
        ("validate: its timestamps alone", lambda: [[parse_timestamp(t) for t in ts] for ts in stamps]),
        # 400 cases hold fewer timestamps than read_timestamp's cache keeps: what is left is the schema's structure
        ("validate: compiled, timestamps cached", lambda: [[compiled(c) for c in warm] for _ in range(n // len(warm))]),
        ("validate: fastjsonschema, timestamps cached", lambda: [[fast(c) for c in warm] for _ in range(n // len(warm))]),
        # each case checked just before it is evaluated, as a worker does: the check parses the case's
        # timestamps and the rules find them parsed (lang.timestamps.read_timestamp)
        ("validate + evaluate: findings",
         lambda: [(validator.check(c, "b", 1), findings.evaluator.evaluate(c)) for c in cases]),  # type: ignore[arg-type]
        ("validate + evaluate: full",
         lambda: [(validator.check(c, "b", 1), full.evaluator.evaluate(c)) for c in cases]),  # type: ignore[arg-type]
        ("serialise: findings", lambda: [r.to_json() for r in short]),
        ("serialise: full", lambda: [r.to_json() for r in long]),
        ("process (all of it): findings",
         lambda: [findings.process(("b", i, x)).to_json() for i, x in enumerate(lines, 1)]),
        ("process (all of it): full", lambda: [full.process(("b", i, x)).to_json() for i, x in enumerate(lines, 1)]),
    ]
    watchdog = getattr(findings, "watchdog", None)  # the per-record CPU limit (run.runaway), armed as eval arms it
    if watchdog is not None:
        rows.append(("process: findings, record limit armed", lambda: _armed(watchdog, lambda: [
            findings.process(("b", i, x)).to_json() for i, x in enumerate(lines, 1)])))
    print(f"{n:,} after_sale cases, Python {sys.version.split()[0]}; CPU µs per case, best of {args.repeat}")
    for name, fn in rows:
        if args.only and not name.startswith(args.only):
            continue
        print(f"{name:44} {best(fn, n // len(warm) * len(warm) if 'cached' in name else n, args.repeat):8.1f}")
    for name, calls, fn in _verdict_rows(findings.evaluator, cases):
        if args.only and not name.startswith(args.only):
            continue
        # each call just after its case's check, as in a worker: the case's timestamps are then in the memo
        # and their texts in the display cache (replayed alone, 3,000+ calls over 5,000 cases' timestamps
        # overflow both: a message's timestamps were parsed and formatted again, and on 2026-12-04 the rows
        # read 10.6-12.7 µs a violated verdict and 5.4-7.4 its message, against 7.3-8.3 and 3.1-4.0 this way)
        together = best(lambda: [(compiled(a[2]), fn(*a)) for a in calls], len(calls), args.repeat)  # noqa: B023
        alone = best(lambda: [compiled(a[2]) for a in calls], len(calls), args.repeat)  # noqa: B023
        print(f"{name:44} {together - alone:8.1f}  (µs each, {len(calls):,} verdicts)")
    sizes = [len(r.to_json().encode()) + 1 for r in short]
    clean = [s for s, r in zip(sizes, short, strict=True) if not r.counts()["violated"]]
    full_sizes = [len(r.to_json().encode()) + 1 for r in long]
    print(f"{'bytes/case: findings (all / nothing violated)':40} {sum(sizes) / n:8.0f} "
          f"{(sum(clean) / len(clean)) if clean else 0:8.0f}  ({len(clean)} such cases)")
    print(f"{'bytes/case: full':40} {sum(full_sizes) / n:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

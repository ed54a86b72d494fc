"""Benchmark: reading and checking a batch record (the worker's ingest), the two ways policy-eval has.

    python bench/ingest.py --cases 5000 --repeat 5

``jsonrecord.read_checked``: orjson, then the case schema's compiled check (rulebook.schemacompile) walking the
whole record, then the timestamp parser (lang.timestamps) once per timestamp. ``rulebook.msgdecode``: msgspec
reads the record into dicts checking its types, enums, lengths and bounds as it reads (a TypedDict made from
the schema), and its timestamps into datetimes (a Struct of them only), then one generated function remembers
the timestamps, checks the patterns and counts the keys. ``texts``: what full detail asks (each timestamp's
text remembered for display). Every record is dropped before the next, as in a worker, and the timestamp memo
is emptied before each record (timestamps are new on every record of a stream; the "base" row is the emptying
alone). CPU µs a record, best of ``--repeat``, the CLI's heap settings (``gc.freeze``, threshold 10,000).

It also prints the timestamp forms on which msgspec's grammar and RFC 3339's (lang.timestamps) disagree: the
reason msgdecode remembers msgspec's datetime only for the commonest form and parses any other text itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FORMS = [
    "2023-06-02T16:00:00+08:00", "2023-06-02t16:00:00+08:00", "2023-06-02T16:00:00Z", "2023-06-02T16:00:00z",
    "2023-06-02 16:00:00+08:00", "2023-06-02T16:00:00.123+08:00", "2023-06-02T16:00:00.1234560+08:00",
    "2023-06-02T16:00:00.1234567+08:00", "2023-06-02T16:00:00.123456789Z", "2023-06-02T16:00:00",
    "2023-06-02T16:00+08:00", "2023-06-02T16:00:00+0800", "2023-06-02T16:00:00+08", "2023-06-02T23:59:60Z",
    "2023-06-02T07:59:60+08:00", "2023-06-02T16:00:00+08:60", "2023-06-02T16:00:00-00:00",
    "2023-06-31T16:00:00+08:00", "2023-06-02T24:00:00+08:00", "20230602T160000+0800", "2023-06-02",
]


def best(fn: Callable[[], Any], repeat: int, n: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    import msgspec
    import orjson
    from generate import json_lines

    from policy_eval.lang.timestamps import MEMO, parse_timestamp
    from policy_eval.lang.values import ValueParseError
    from policy_eval.rulebook.jsonrecord import read_checked
    from policy_eval.rulebook.msgdecode import _kind, compile_decoder
    from policy_eval.run.batch import BatchOptions, Processor

    processor = Processor(BatchOptions(detail="findings"))
    schemas = processor.rulebook.case_schemas
    exact = processor._exact
    findings, full = compile_decoder(schemas), compile_decoder(schemas, texts=True)
    made = _kind("after_sale", schemas["after_sale"])
    assert exact is not None and findings is not None and full is not None and made is not None
    as_dicts, stamps = made[0], made[1]
    assert stamps is not None
    lines = json_lines(args.cases)
    n = len(lines)
    clear = MEMO.clear

    def each(step: Callable[[bytes], Any]) -> Callable[[], None]:
        def run() -> None:
            for line in lines:
                clear()
                step(line)
        return run

    # (decode gives the case and whether it holds no null: the case is what read_checked must give)
    same = sum((got := findings(x)) is not None and got[0] == read_checked(x, exact) for x in lines)
    print(f"{n:,} after_sale records; msgdecode and read_checked give the same case for {same:,}")
    rows = [
        ("base: the timestamp memo emptied", each(lambda x: None)),
        ("orjson alone", each(orjson.loads)),
        ("read_checked (orjson, check, timestamps)", each(lambda x: read_checked(x, exact))),
        ("msgspec: the record's TypedDict alone", each(as_dicts)),
        ("msgspec: its timestamps' Struct alone", each(stamps)),
        ("msgdecode", each(findings)),
        ("msgdecode, texts remembered (full detail)", each(full)),
    ]
    gc.freeze()
    gc.set_threshold(10_000)
    print(f"CPU µs a record, best of {args.repeat} (Python {sys.version.split()[0]}, msgspec {msgspec.__version__})")
    for label, fn in rows:
        print(f"  {label:48} {best(fn, args.repeat, n):6.2f}")

    print("timestamp forms msgspec's grammar and RFC 3339's (lang.timestamps) disagree on:")
    one = msgspec.json.Decoder(msgspec.defstruct("One", [("t", dt.datetime)]))
    for form in FORMS:
        try:
            mine: Any = parse_timestamp(form)
        except ValueParseError:
            mine = None
        try:
            other: Any = one.decode(orjson.dumps({"t": form})).t
        except msgspec.ValidationError:
            other = None
        if other is not None and other.tzinfo is None and mine is not None:
            other = mine if other == mine.replace(tzinfo=None) else other  # (no offset: msgdecode's Shanghai too)
        if mine != other:
            print(f"  {form!r:38} RFC 3339 {'refuses' if mine is None else mine.isoformat():32} "
                  f"msgspec {'refuses' if other is None else other.isoformat()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Random conditions over untyped paths: the generated code and the interpreter must answer alike.

Without a schema every path has type ``any`` (docs/language.md, "Values of type any"), so the checker accepts
almost any condition and the values met at run time may be any JSON value. This generates conditions from the
language's grammar (paths one to four deep, literals of every type, operators, ``not``, ``if``, core functions,
quantifiers) and random JSON cases, and compares ``CompiledExpression.evaluate`` (generated code, closures as its
fall-back) with ``.interpret`` (the reference interpreter, what ``explain`` runs): the same value, or the same
data error (``EvalFailure``); never another exception.

    .venv/bin/python fuzz/fuzz_untyped.py --minutes 5 --seed 1

tests/test_any_values.py runs a fixed sample of it on every test run. Its first run (2026-12-06) found 1,034
disagreements in 110,000 conditions (lang.dynamic and bug 23 in fuzz/README.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

from policy_eval.errors import PolicyError
from policy_eval.expression import compile_expression, default_functions
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN, parse_datetime, render

NAMES = ("a", "b", "o", "p", "items", "t", "n")
KEYS = ("x", "y", "z", "w", "at", "v")
LITERALS = ("1", "0", "-2", "2.5", '"s"', '""', "true", "false", "1d", "48h", "2024-01-01T00:00:00+08:00",
            "[1, 2]", "[]", '["a"]', "10.00 CNY", "null")
OPERATORS = ("+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in")
FUNCTIONS = {"exists": 1, "default": 2, "len": 1, "max": 2, "min": 2, "abs": 1, "text": 1, "contains": 2,
             "lower": 1, "days": 1, "date_of": 1, "start_of_day": 1, "round": 2}
VALUES: tuple[Any, ...] = (None, 0, 1, 2, -1, 2.5, "s", "", "2024-01-01T00:00:00+08:00", "10.00", True, False, [],
                           [1, 2], ["a"], {})
REF_TIME = parse_datetime("2024-02-29T23:59:59+08:00")


def condition(rng: random.Random, depth: int = 0) -> str:
    """A random condition (most type-check without a schema)."""
    if depth > 3 or rng.random() < 0.3:
        if rng.random() < 0.6:
            return ".".join([rng.choice(NAMES)] + [rng.choice(KEYS) for _ in range(rng.randint(0, 3))])
        return rng.choice(LITERALS)
    r = rng.random()
    if r < 0.35:
        return f"({condition(rng, depth + 1)} {rng.choice(OPERATORS)} {condition(rng, depth + 1)})"
    if r < 0.45:
        return f"(not {condition(rng, depth + 1)})"
    if r < 0.55:
        return f"(if {condition(rng, depth + 1)} then {condition(rng, depth + 1)} else {condition(rng, depth + 1)})"
    if r < 0.6:
        return f"{rng.choice(NAMES)}[{condition(rng, depth + 1)}]"
    if r < 0.8:
        name = rng.choice(sorted(FUNCTIONS))
        return f"{name}({', '.join(condition(rng, depth + 1) for _ in range(FUNCTIONS[name]))})"
    var = rng.choice(("i", "j"))
    body = condition(rng, depth + 1)
    body = body.replace("a.", var + ".", 1) if rng.random() < 0.7 else body
    path = ".".join([rng.choice(NAMES)] + [rng.choice(KEYS) for _ in range(rng.randint(0, 2))])
    return f"({rng.choice(('any', 'all', 'count', 'filter', 'collect'))} {var} in {path}: {body})"


def value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth > 2 or r < 0.5:
        return rng.choice(VALUES)
    if r < 0.75:
        return {k: value(rng, depth + 1) for k in rng.sample(KEYS, rng.randint(0, 3))}
    return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def case(rng: random.Random) -> dict[str, Any]:
    return {k: value(rng) for k in rng.sample(NAMES, rng.randint(0, 5))}


def _answer(run: Any, record: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", run(record, ref_time=REF_TIME)
    except EvalFailure:
        return "data error", None
    except Exception as exc:  # noqa: BLE001 - what the harness looks for
        return "exception", repr(exc)[:200]


def disagreements(rng: random.Random, conditions: int, cases: int = 6) -> Iterator[str]:
    """Each condition (of ``conditions`` generated) on which the two evaluators differ, or either raises
    something other than a data error, described with the case."""
    functions = default_functions()
    for _ in range(conditions):
        text = condition(rng)
        try:
            compiled = compile_expression(text, functions=functions)
        except PolicyError:
            continue
        for _ in range(cases):
            record = case(rng)
            (k1, v1), (k2, v2) = _answer(compiled.evaluate, record), _answer(compiled.interpret, record)
            if k1 == k2 == "value":
                same = v1 is v2 if UNKNOWN in (v1, v2) else render(v1) == render(v2)
            else:
                same = k1 == k2 == "data error"
            if not same:
                shown = [render(v) if k == "value" else f"{k} {v or ''}" for k, v in ((k1, v1), (k2, v2))]
                yield f"{text!r} on {json.dumps(record)}: evaluate {shown[0]}, interpret {shown[1]}"
                break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    end = time.monotonic() + args.minutes * 60
    tried = found = 0
    while time.monotonic() < end:
        for line in disagreements(rng, 100):
            found += 1
            if found <= 50:
                print(line)
        tried += 100
    print(f"{tried:,} conditions generated, {found} disagreements")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

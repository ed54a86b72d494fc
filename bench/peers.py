"""Benchmark: one after-sales rule in policy-eval and in the engines a user might pick instead.

The rule (售后服务规则 2.1 + 2.2, later text):
  in_window  iff submitted >= confirmed and (receipt missing or
                 submitted <= max(receipt + 15 days, confirmed + promised days))
  overdue    iff the request is unhandled more than 48 h after submission
                 (handled_at, or the snapshot time when it is not handled yet).
Times are epoch seconds in every engine's input, so that engines without a
date type (json-logic) can run the same cases; hand-written Python is the
floor. Every engine must agree with hand-written Python on every case.

    python bench/peers.py [--cases 20000] [--repeat 3]

Prints cases/s per engine and the ratio to hand-written Python, in one run.
Peers come from the optional dependency group `bench` (pip install '.[bench]');
an engine that is not installed is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

DAY, HOUR = 86400, 3600


def generate(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases = []
    base = 1_700_000_000
    for _ in range(n):
        confirmed = base + rng.randrange(0, 90 * DAY)
        promised = rng.choice([0, 7, 15, 30])
        received = confirmed + rng.randrange(DAY, 10 * DAY) if rng.random() < 0.8 else None
        anchor = received if received is not None else confirmed
        submitted = anchor + rng.choice([-DAY, 0, 5 * DAY, 15 * DAY, 15 * DAY + 1, 20 * DAY, 31 * DAY])
        handled = submitted + rng.choice([HOUR, 47 * HOUR, 48 * HOUR, 48 * HOUR + 1, 72 * HOUR]) \
            if rng.random() < 0.7 else None
        order: dict[str, Any] = {"confirmed_at": confirmed, "promised_days": promised}
        if received is not None:
            order["received_at"] = received
        request: dict[str, Any] = {"submitted_at": submitted}
        if handled is not None:
            request["handled_at"] = handled
        cases.append({"kind": "bench", "order": order, "request": request,
                      "snapshot_at": submitted + rng.choice([DAY, 3 * DAY])})
    return cases


# --- the floor: hand-written Python --------------------------------------------------------------------------
def hand_written(case: dict[str, Any]) -> tuple[bool, bool]:
    order, request = case["order"], case["request"]
    submitted, confirmed = request["submitted_at"], order["confirmed_at"]
    received = order.get("received_at")
    in_window = submitted >= confirmed and (
        received is None or submitted <= max(received + 15 * DAY, confirmed + order["promised_days"] * DAY))
    handled = request.get("handled_at")
    overdue = (handled if handled is not None else case["snapshot_at"]) - submitted > 48 * HOUR
    return in_window, overdue


# --- policy-eval ---------------------------------------------------------------------------------------------
WINDOW = ("request.submitted_at >= order.confirmed_at and (not exists(order.received_at) or "
          "request.submitted_at <= max(order.received_at + window * 86400, "
          "order.confirmed_at + order.promised_days * 86400))")
OVERDUE = "default(request.handled_at, snapshot_at) - request.submitted_at > handling_limit"
SCHEMA = {
    "type": "object",
    "properties": {
        "order": {"type": "object", "properties": {"confirmed_at": {"type": "integer"},
                                                   "received_at": {"type": "integer"},
                                                   "promised_days": {"type": "integer"}}},
        "request": {"type": "object", "properties": {"submitted_at": {"type": "integer"},
                                                     "handled_at": {"type": "integer"}}},
        "snapshot_at": {"type": "integer"},
    },
}


def policy_eval_engine() -> Callable[[dict[str, Any]], tuple[bool, bool]]:
    from policy_eval import expression as lang

    params = {"window": "15", "handling_limit": str(48 * HOUR)}
    w = lang.compile_expression(WINDOW, case_schema=SCHEMA, params=params).fn
    o = lang.compile_expression(OVERDUE, case_schema=SCHEMA, params=params).fn
    env: dict[str, Any] = {}
    return lambda case: (w(case, env), o(case, env))


_POLICY = f"""
policy:
  id: bench
  title: peers benchmark rule (售后服务规则 2.1, 2.2)
  version: "1"
  source: {{document: bench/peers.py}}
  effective_from: 2020-01-01
  applies_to: bench
  reference_time: at
params:
  window: 15
  handling_limit: {48 * HOUR}
rules:
  - id: in-window
    title: refund-only request inside the window
    clause: "2.1"
    severity: medium
    require: "{WINDOW}"
    message: request outside the window
  - id: overdue
    title: merchant overdue
    clause: "2.2"
    severity: medium
    forbid: "{OVERDUE}"
    message: merchant overdue
"""


def _api(validate: bool, detail: str = "full") -> Callable[[], Callable[[dict[str, Any]], tuple[bool, bool]]]:
    """``Rulebook.load`` + ``Rulebook.evaluate(case)``: the path an embedder uses (enrichers, the case
    schema when ``validate``, version choice, verdicts; no explanation unless asked for). With
    ``detail="findings"`` only violated (and undetermined) verdicts are built."""
    def factory() -> Callable[[dict[str, Any]], tuple[bool, bool]]:
        import datetime as dt
        import tempfile
        from pathlib import Path

        from policy_eval.api import Outcome, Rulebook

        folder = Path(tempfile.mkdtemp(prefix="peers-"))
        (folder / "policies").mkdir()
        (folder / "schemas" / "cases").mkdir(parents=True)
        (folder / "policies" / "bench.yaml").write_text(_POLICY, encoding="utf-8")
        schema = {**SCHEMA, "required": ["kind"]}
        schema["properties"] = {**SCHEMA["properties"], "kind": {"const": "bench"},  # type: ignore[dict-item]
                                "at": {"type": "string", "format": "date-time"}}
        (folder / "schemas" / "cases" / "bench.schema.json").write_text(json.dumps(schema), encoding="utf-8")
        book = Rulebook.load(folder / "policies", schemas=folder / "schemas", entry_points=False,
                             validate=validate)
        # the cases carry epoch seconds, not a date: the version is picked by as_of
        as_of = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        violated = Outcome.VIOLATED

        def run(case: dict[str, Any]) -> tuple[bool, bool]:
            window, overdue = book.evaluate(case, as_of=as_of).results
            return window.outcome is not violated, overdue.outcome is violated

        def findings(case: dict[str, Any]) -> tuple[bool, bool]:
            found = {r.rule for r in book.evaluate(case, as_of=as_of, detail="findings").results
                     if r.outcome is violated}
            return "in-window" not in found, "overdue" in found
        return findings if detail == "findings" else run
    return factory


# --- peers -----------------------------------------------------------------------------------------------------
def cel_engine() -> Callable[[dict[str, Any]], tuple[bool, bool]]:
    import celpy  # type: ignore[import-not-found]

    env = celpy.Environment()
    window = env.program(env.compile(
        "request.submitted_at >= order.confirmed_at && (!has(order.received_at) || "
        "request.submitted_at <= (order.received_at + 15 * 86400 > order.confirmed_at + order.promised_days * 86400"
        " ? order.received_at + 15 * 86400 : order.confirmed_at + order.promised_days * 86400))"))
    overdue = env.program(env.compile(
        "(has(request.handled_at) ? request.handled_at : snapshot_at) - request.submitted_at > 172800"))

    def run(case: dict[str, Any]) -> tuple[bool, bool]:
        act = {"order": celpy.json_to_cel(case["order"]), "request": celpy.json_to_cel(case["request"]),
               "snapshot_at": celpy.json_to_cel(case["snapshot_at"])}
        return bool(window.evaluate(act)), bool(overdue.evaluate(act))
    return run


def jsonlogic_engine() -> Callable[[dict[str, Any]], tuple[bool, bool]]:
    from json_logic import jsonLogic  # type: ignore[import-not-found]  # panzi-json-logic

    limit = {"max": [{"+": [{"var": "order.received_at"}, 15 * DAY]},
                     {"+": [{"var": "order.confirmed_at"}, {"*": [{"var": "order.promised_days"}, DAY]}]}]}
    window = {"and": [{">=": [{"var": "request.submitted_at"}, {"var": "order.confirmed_at"}]},
                      {"or": [{"==": [{"var": "order.received_at"}, None]},
                              {"<=": [{"var": "request.submitted_at"}, limit]}]}]}
    overdue = {">": [{"-": [{"if": [{"==": [{"var": "request.handled_at"}, None]}, {"var": "snapshot_at"},
                                    {"var": "request.handled_at"}]},
                            {"var": "request.submitted_at"}]}, 48 * HOUR]}
    return lambda case: (bool(jsonLogic(window, case)), bool(jsonLogic(overdue, case)))


def zen_engine() -> Callable[[dict[str, Any]], tuple[bool, bool]]:
    import zen  # type: ignore[import-not-found]

    window = zen.compile_expression(
        "request.submitted_at >= order.confirmed_at and (order.received_at == null or "
        "request.submitted_at <= max([order.received_at + 15 * 86400, "
        "order.confirmed_at + order.promised_days * 86400]))")
    overdue = zen.compile_expression(
        "(request.handled_at ?? snapshot_at) - request.submitted_at > 172800")
    return lambda case: (bool(window.evaluate(case)), bool(overdue.evaluate(case)))


def rego_engine() -> Callable[[dict[str, Any]], tuple[bool, bool]]:
    from regopy import Interpreter  # type: ignore[import-not-found]

    rego = Interpreter()
    rego.add_module("bench", """
package bench
default received_missing := false
received_missing if not input.order.received_at
limit := max({input.order.received_at + 1296000, input.order.confirmed_at + input.order.promised_days * 86400})
in_window if { input.request.submitted_at >= input.order.confirmed_at; received_missing }
in_window if { input.request.submitted_at >= input.order.confirmed_at; input.request.submitted_at <= limit }
handled := input.request.handled_at
handled := input.snapshot_at if not input.request.handled_at
overdue if handled - input.request.submitted_at > 172800
default in_window_b := false
in_window_b := true if in_window
default overdue_b := false
overdue_b := true if overdue
result := {"in_window": in_window_b, "overdue": overdue_b}
""")
    bundle = rego.build("data.bench.result")

    def run(case: dict[str, Any]) -> tuple[bool, bool]:
        rego.set_input_term(json.dumps(case))
        value = json.loads(str(rego.query_bundle(bundle)))["expressions"][0]
        return bool(value["in_window"]), bool(value["overdue"])
    return run


ENGINES: dict[str, Callable[[], Callable[[dict[str, Any]], tuple[bool, bool]]]] = {
    "hand-written Python": lambda: hand_written,
    "policy-eval (compiled)": policy_eval_engine,
    "policy-eval API, validation on": _api(True),
    "policy-eval API, validation off": _api(False),
    "policy-eval API, findings, validation on": _api(True, "findings"),
    "zen-engine (compiled expression)": zen_engine,
    "json-logic": jsonlogic_engine,
    "regopy (compiled bundle)": rego_engine,
    "cel-python (compiled program)": cel_engine,
}


def measure(fn: Callable[[dict[str, Any]], Any], cases: list[dict[str, Any]]) -> tuple[float, float]:
    """One round over the cases: (wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for case in cases:
        fn(case)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds per engine at most (slow peers)")
    ap.add_argument("--only", action="append", help="engine name prefixes to run")
    args = ap.parse_args(argv)
    cases = generate(args.cases)
    expected = [hand_written(c) for c in cases]
    ready: dict[str, Callable[[dict[str, Any]], Any]] = {}
    notes: dict[str, str] = {}
    for name, factory in ENGINES.items():
        if args.only and name != "hand-written Python" and not any(name.startswith(p) for p in args.only):
            continue
        try:
            fn = factory()
        except ImportError as exc:
            notes[name] = f"skipped: not installed ({exc.name})"
            continue
        mismatches = sum(1 for c, e in zip(cases, expected, strict=True) if tuple(fn(c)) != e)
        if mismatches:
            notes[name] = f"DISAGREES on {mismatches} of {len(cases)} cases"
            continue
        ready[name] = fn
    # Rounds interleave the engines, so a machine slowing down mid-run hurts all of them alike;
    # each engine's best round is reported, by wall time and by CPU time (the machine is shared: CPU time
    # is the steadier figure, and the ratio is taken from it).
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    spent: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, fn in ready.items():
            if spent.get(name, 0.0) > args.budget:
                continue
            w, c = measure(fn, cases)
            spent[name] = spent.get(name, 0.0) + w
            wall[name] = min(wall.get(name, float("inf")), w)
            cpu[name] = min(cpu.get(name, float("inf")), c)
    floor = cpu["hand-written Python"]
    n = len(cases)
    print(f"{n:,} cases, Python {sys.version.split()[0]}; all engines checked against hand-written Python; "
          f"best of {args.repeat} interleaved rounds")
    print(f"{'engine':42} {'cases/s':>12} {'CPU µs/case':>12}  ratio to hand-written (CPU)")
    for name in ENGINES:
        if name in cpu:
            print(f"{name:42} {n / wall[name]:>12,.0f} {cpu[name] / n * 1e6:>12.2f}  {floor / cpu[name]:.3f}x")
        elif name in notes:
            print(f"{name:42} {'-':>12} {'-':>12}  {notes[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

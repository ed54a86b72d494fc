"""The generated null reading with its steps (lang.nullsteps) against ``interpret_nulls`` with an explaining trace.

A rule an explicit null decides is explained (full detail) by the steps of its ``when`` and condition read with the
nulls as unknown. The generated code must record what the interpreter records, in the same order: the value, the
blame and null blame, the trace's steps (text, value, line, column), witnesses, missing paths and values read, the
nulls found; and raise where it raises. Compared on hand-picked and random expressions, and on every bundled rule
over golden cases with each value made null in turn, the ``when`` and condition sharing one reading as
``compose.unknown`` shares it.
"""

from __future__ import annotations

from typing import Any

import pytest
import test_properties as properties
from hypothesis import given
from hypothesis import strategies as st
from test_null_kleene import CONFORMANCE_SCHEMA, _expressions, _same
from test_nulltrace import golden_null_sweep

from policy_eval.expression import compile_expression
from policy_eval.lang import ir, nullsteps
from policy_eval.lang.budget import BudgetExceeded
from policy_eval.lang.interpreter import Reading, Trace, interpret_nulls
from policy_eval.lang.nullsteps import traced_null_steps
from policy_eval.lang.ops import EvalFailure

_ERRORS = (EvalFailure, ArithmeticError, BudgetExceeded)


def _found(trace: Trace) -> tuple[Any, ...]:
    return ([(s.text, type(s.value).__name__, s.value, s.line, s.column) for s in trace.steps], dict(trace.witness),
            list(trace.missing), [(k, type(v).__name__, v) for k, v in trace.reads.items()])


def _run(fn: Any, node: ir.IR, case: dict[str, Any], env: dict[str, Any], reading: Reading) -> Any:
    trace = Trace(explain=True)
    try:
        value, blame, hidden = fn(node, case, env, trace, reading)
    except _ERRORS as exc:
        return type(exc).__name__, *_found(trace)
    return value, blame, hidden, *_found(trace), sorted(reading.nulls)


def _generated(node: ir.IR, case: dict[str, Any], env: dict[str, Any], trace: Trace, reading: Reading) -> Any:
    return traced_null_steps(node)(case, env, trace, reading)


def _same_run(got: Any, want: Any) -> bool:
    """Equal, a value compared as lang.values compares it (a Decimal and its int, NaN-free), steps by their text."""
    if len(got) != len(want) or (len(got) > 1 and not _same(got[0], want[0])):
        return False
    return all(a == b for a, b in zip(got[1:], want[1:], strict=True))


def _agree(node: ir.IR, case: dict[str, Any], env: dict[str, Any] | None = None) -> Any:
    env = env or {}
    want = _run(interpret_nulls, node, case, env, Reading())
    got = _run(_generated, node, case, env, Reading())
    assert _same_run(got, want), (node.text, case, got, want)
    return want


@pytest.mark.parametrize(("expr", "case"), [
    ("exists(order.shipped_at)", {"order": {"shipped_at": None}}),
    ("exists(order.received_at) or order.promised_days > 3", {"order": None}),
    ("default(order.shipped_at, order.received_at)", {"order": {"received_at": None}}),
    ("order.promised_days + order.rate > 1", {"order": {"promised_days": None, "rate": 1}}),
    ("order.promised_days > 1 and exists(order.shipped_at)", {"order": {"shipped_at": None, "promised_days": 2}}),
    ("any s in order.scores: s > order.promised_days", {"order": {"scores": [1, None], "promised_days": None}}),
    ("if exists(order.shipped_at) then order.promised_days else 0", {"order": {"shipped_at": None}}),
])
def test_hand_picked_expressions(expr: str, case: dict[str, Any]) -> None:
    node = compile_expression(expr, case_schema=CONFORMANCE_SCHEMA).node
    # (spelled with steps, not handed over whole; a quantifier is the interpreter's, which records its steps)
    assert "_Step" in nullsteps._generate(node)[0] or any(type(n) is ir.Quant for n in ir.walk(node))
    want = _agree(node, case)
    assert want[3], want  # (steps recorded: not vacuous)


@properties.PROPERTY_SETTINGS
@given(st.one_of(properties.typed_expressions().map(lambda typed: typed[0]), _expressions()),
       properties.case_records)
def test_random_expressions_record_what_the_interpreter_records(text: str, case: dict[str, Any]) -> None:
    _agree(compile_expression(text, case_schema=properties.SCHEMA).node, case)


def test_bundled_rules_on_golden_cases_with_each_value_null() -> None:
    """Every rule of the case's kind, its `when` and condition sharing one reading (per rule, as compose.unknown
    reads a rule whose verdict is explained)."""
    hidden = stepped = 0
    for name, path, case, env, rules in golden_null_sweep(2):
        for rule in rules:
            mine, theirs = Reading(), Reading()
            for cond in (rule.when, rule.condition):
                if cond is not None:
                    want = _run(interpret_nulls, cond.node, case, env, theirs)
                    got = _run(_generated, cond.node, case, env, mine)
                    assert _same_run(got, want), (name, path, rule.id, got, want)
                    finished = len(want) == 8  # (value, blames, steps, witnesses, missing, reads, nulls: no error)
                    hidden += finished and bool(want[2])
                    stepped += len(want[3 if finished else 1])
    assert hidden > 500 and stepped > 10_000, (hidden, stepped)  # (not vacuous)


def test_a_failure_in_generated_code_leaves_the_interpreter_s_steps_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated code that raises what no data error is (a bug) gives way to the interpreter; the steps it had
    recorded are dropped first, so none is listed twice."""
    node = compile_expression("exists(order.shipped_at) or order.promised_days > 3",
                              case_schema=CONFORMANCE_SCHEMA).node
    case = {"order": {"shipped_at": None, "promised_days": 5}}
    want = _run(interpret_nulls, node, case, {}, Reading())
    source, namespace = nullsteps._generate(node)
    calls = []

    def broken(*args: Any) -> Any:  # (`exists`'s null check: after its argument's step was recorded)
        calls.append(args)
        raise RuntimeError("a bug")
    namespace["_hidden"] = broken
    exec(compile(source, "<test>", "exec"), namespace)  # noqa: S102
    monkeypatch.setitem(nullsteps._TRACED, node, nullsteps.nulltrace._wrapped(node, namespace["_f"]))
    got = _run(_generated, node, case, {}, Reading())
    assert calls and _same_run(got, want), (got, want)

"""A trace with steps from generated code (lang.stepcode) records what the reference interpreter records.

An explanation lists the value of each sub-expression evaluated, in the interpreter's order, with its
witnesses; the missing paths and the values read go with it. For every rule of the bundled rulebook on every
golden case (every fourth) and variants of each (one value made null, removed or mistyped, by turns), and for each construct
on cases that make each part known, missing, null or mistyped, under budgets that cut the walk short, the
generated trace must hold the same steps (text, value, line, column, in order), witnesses, missing paths and
reads, and charge the same budget. These tests fail if a step is dropped, added, reordered or valued otherwise.
(The fallback to the interpreter is tested with tracecode's, in tests/test_trace_code.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import test_trace_code as trace_code
from goldencorpus import golden_tests
from test_trace_code import EXPRESSIONS, SCHEMA, _book, compare_on_cases, golden_sweep

from policy_eval import expression as lang
from policy_eval.lang import stepcode
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.interpreter import MAX_STEPS, Trace, interpret
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook.policy import Rule
from policy_eval.run.explaining import DATA_ERRORS, explanation, trace_rule

TESTS = golden_tests()


def _reference(rule: Rule, case: dict[str, Any], env: dict[str, Any]) -> Trace:
    return trace_code._reference(rule, case, env, explain=True)


def _found(run: Any, budget: int | None) -> tuple[Any, ...]:
    return trace_code._found(run, budget, steps=True)


def _compare(rule: Rule, case: dict[str, Any], env: dict[str, Any]) -> int:
    when = rule.when.node if rule.when is not None else None
    expected = _found(lambda: _reference(rule, case, dict(env)), 10**9)
    got = _found(lambda: stepcode.trace_with_steps(when, rule.condition.node, case, dict(env), DATA_ERRORS), 10**9)
    assert got == expected, (rule.id, case)
    return len(expected[0])


@pytest.mark.parametrize("index", range(0, len(TESTS), 4), ids=[f"{Path(t.file).stem}:{t.line}" for t in TESTS[::4]])
def test_generated_steps_equal_the_interpreters(index: int) -> None:
    steps = 0
    for rule, case, env, original in golden_sweep(index):
        steps += _compare(rule, case, env)
        if original:  # as the evaluator calls it, and as an explanation shows it
            assert [explanation(trace_rule(rule, case, dict(env)))] == [explanation(_reference(rule, case, dict(env)))]
    assert steps


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_each_construct_steps_as_the_interpreter(text: str) -> None:
    node = lang.compile_expression(text, case_schema=SCHEMA).node
    assert stepcode.traced_steps(node).__code__.co_filename == "<policy-eval: trace>"
    compare_on_cases(node, stepcode.traced_steps(node), True, _found)


def test_steps_stop_at_the_cap() -> None:
    text = "max(" + ", ".join(["a", "b"] * MAX_STEPS) + ") > 0"  # (each argument a step, one level deep)
    node = lang.compile_expression(text, case_schema=SCHEMA).node
    a, b = Trace(explain=True), Trace(explain=True)
    interpret(node, {"a": -1, "b": 2}, {}, a, None)
    stepcode.traced_steps(node)({"a": -1, "b": 2}, {}, b, {})
    assert len(a.steps) == MAX_STEPS and [(s.text, s.value) for s in a.steps] == [(s.text, s.value) for s in b.steps]


def test_a_let_used_by_when_and_condition_is_shown_in_each() -> None:
    """The interpreter explains ``when`` and condition each with let values of its own: a let both use is
    walked, and listed, in each."""
    rb = _book(None)
    rule = next(r for v in rb.versions() for r in v.rules if r.id == "refund-only-handling-limit")
    case = next(t.case for t in TESTS if t.params is None and t.case.get("request", {}).get("type") == "refund_only")
    env = {REF_TIME: UNKNOWN}
    got = stepcode.trace_with_steps(rule.when.node if rule.when else None, rule.condition.node, case, env)
    texts = [s.text for s in got.steps]
    assert texts == [s.text for s in _reference(rule, case, env).steps]
    assert any(texts.count(t) > 1 for t in texts)  # (a sub-expression shown in both)

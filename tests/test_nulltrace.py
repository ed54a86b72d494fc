"""The generated null reading with its blame (lang.nulltrace) against ``interpret_nulls``, the reference.

A rule that an explicit null decides is worded from what the null reading finds: the value, the paths its unknown
comes from (``missing``) and those of them at or under a null (the reason). The generated code must find exactly
what the interpreter finds, in the same order: the value, the blame, the null blame, the trace's missing paths and
values read, the nulls recorded; and raise where it raises. Compared on random expressions and records, and on
every bundled rule over golden cases with each value made null in turn.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import test_properties as properties
from goldencorpus import golden_tests
from hypothesis import given
from hypothesis import strategies as st
from test_null_kleene import CONFORMANCE_SCHEMA, _expressions, _same
from test_nullcode import _leaves

from policy_eval.expression import compile_expression
from policy_eval.lang import ir
from policy_eval.lang.ast import Span
from policy_eval.lang.budget import BudgetExceeded
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.interpreter import Reading, Trace, interpret_nulls
from policy_eval.lang.nulltrace import generate, traced_nulls
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.types import ANY, BOOL, INT
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import Rule, parse_instant

_ERRORS = (EvalFailure, ArithmeticError, BudgetExceeded)


def _run(fn: Any, node: ir.IR, case: dict[str, Any], env: dict[str, Any], reading: Reading) -> Any:
    trace = Trace(explain=False)
    try:
        value, blame, hidden = fn(node, case, env, trace, reading)
    except _ERRORS as exc:
        return type(exc).__name__, trace.missing, trace.reads
    return value, blame, hidden, trace.missing, trace.reads, sorted(reading.nulls)


def _generated(node: ir.IR, case: dict[str, Any], env: dict[str, Any], trace: Trace, reading: Reading) -> Any:
    return traced_nulls(node)(case, env, trace, reading)


def _agree(node: ir.IR, case: dict[str, Any], env: dict[str, Any] | None = None) -> Any:
    env = env or {}
    want = _run(interpret_nulls, node, case, env, Reading())
    got = _run(_generated, node, case, env, Reading())
    assert len(got) == len(want), (node.text, case, got, want)
    assert all(_same(a, b) if i == 0 else a == b for i, (a, b) in enumerate(zip(got, want, strict=True))), \
        (node.text, case, got, want)
    return want


@pytest.mark.parametrize(("expr", "case", "hidden"), [
    ("exists(order.shipped_at)", {"order": {"shipped_at": None}}, ("order.shipped_at",)),
    ("exists(order.received_at) or order.promised_days > 3", {"order": None},
     ("order.received_at", "order.promised_days")),
    ("default(order.shipped_at, order.received_at)", {"order": {"received_at": None}}, ("order.received_at",)),
    ("order.promised_days + order.rate > 1", {"order": {"promised_days": None}}, ()),  # the missing operand blamed
    ("order.promised_days + order.rate > 1", {"order": {"promised_days": None, "rate": 1}}, ("order.promised_days",)),
    ("order.promised_days > 1 and exists(order.shipped_at)", {"order": {"shipped_at": None}}, ("order.shipped_at",)),
    ("any s in order.scores: s > order.promised_days", {"order": {"scores": [1, None], "promised_days": None}},
     ("order.promised_days",)),
    ("exists(if (any m in messages: m.sent_at > order.received_at) then 1 else 1)",
     {"order": {"received_at": None}, "messages": [{"sender": "buyer"}, {"sent_at": "2024-03-01T10:00:00Z"}]},
     ("order.received_at",)),
])
def test_hand_picked_expressions(expr: str, case: dict[str, Any], hidden: tuple[str, ...]) -> None:
    """The null blame worked out by hand from docs/language.md ("Absent and null"); the rest as the interpreter."""
    node = compile_expression(expr, case_schema=CONFORMANCE_SCHEMA).node
    assert "_mk" not in generate(node)[0] or any(type(n) is ir.Quant for n in ir.walk(node))  # (spelled, not handed over)
    want = _agree(node, case)
    assert want[2] == hidden, want


@properties.PROPERTY_SETTINGS
@given(st.one_of(properties.typed_expressions().map(lambda typed: typed[0]), _expressions()),
       properties.case_records)
def test_random_expressions_find_what_the_interpreter_finds(text: str, case: dict[str, Any]) -> None:
    _agree(compile_expression(text, case_schema=properties.SCHEMA).node, case)


def golden_null_sweep(start: int) -> Iterator[tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any], list[Rule]]]:
    """Every fourth golden case from ``start``, each of its leaves made null in turn: (the test's name, the path made
    null, the case, its environment, every rule of its kind in every version). (tests/test_nullsteps.py's too.)"""
    books: dict[Any, Any] = {}
    for test in golden_tests()[start::4]:
        book = books.get(test.params) or books.setdefault(test.params, load_rulebook(params=test.params))
        env = {REF_TIME: parse_instant(test.as_of) if test.as_of else parse_instant("2024-06-01T00:00:00+08:00")}
        rules = [r for h in book.for_kind(str(test.case.get("kind"))) for v in h.versions for r in v.rules]
        for path in _leaves(test.case):
            case = copy.deepcopy(test.case)
            node: Any = case
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = None
            yield test.name, path, case, env, rules


def test_bundled_rules_on_golden_cases_with_each_value_null() -> None:
    """Every rule of the case's kind, its `when` and condition sharing one reading as compose.unknown shares it."""
    hidden = 0
    for name, path, case, env, rules in golden_null_sweep(1):
        mine, theirs = Reading(), Reading()
        for rule in rules:
            for cond in (rule.when, rule.condition):
                if cond is not None:
                    want = _run(interpret_nulls, cond.node, case, env, theirs)
                    got = _run(_generated, cond.node, case, env, mine)
                    assert got[1:] == want[1:] and _same(got[0], want[0]), (name, path, rule.id, got, want)
                    hidden += len(want) > 2 and bool(want[2])
    assert hidden > 1000, hidden  # (not vacuous: many null-dependent values worded)


def test_a_null_under_an_environment_variable_is_missing_not_null_dependent() -> None:
    """Only a null read from the case root through fields is null-dependent (``_Interp._field``): a field of an
    object the environment holds reads a null there as missing, as in a list. (No expression spells such a read:
    the tree is made by hand.)"""
    span = Span(1, 1, 1, 1, 0, 0)
    var = ir.Var(ANY, span, "x", "x")
    node = ir.Call(BOOL, span, "exists(x.k)", "exists", lambda v: v is not UNKNOWN,
                   (ir.Field(INT, span, "x.k", var, "k", None),), strict=False)
    want = _agree(node, {}, {"x": {"k": None}})
    assert want[:3] == (False, (), ()), want

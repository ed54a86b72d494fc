"""A trace without steps from generated code (lang.tracecode) finds what the reference interpreter finds.

An undetermined verdict in findings detail names its missing paths and keeps the values its rule read
(``inputs``); both came from the interpreter re-running ``when`` and condition, and now come from a
function generated per condition. For every rule of the bundled rulebook, on every golden case and on
variants of each with one value made null, removed or mistyped (each value one of the three, by turns: the
unknowns and the data errors that end a walk half way), the generated trace must hold the same missing paths in the same order, the same
values read in the same order, and charge the same budget; and a walk cut short by the budget must stop
at the same read. These tests fail if the generated code dropped, added or reordered a recorded path.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from goldencorpus import golden_tests
from test_kernel import _variants

from policy_eval import expression as lang
from policy_eval.lang import ir, tracecode
from policy_eval.lang.budget import BudgetExceeded, metered
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.interpreter import Trace, interpret
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import Rule, parse_instant
from policy_eval.run import explaining
from policy_eval.run.explaining import DATA_ERRORS, trace_rule

TESTS = golden_tests()


def _reference(rule: Rule, case: dict[str, Any], env: dict[str, Any], explain: bool = False) -> Trace:
    """What the interpreter finds without steps (trace_rule before generated code); with them (``explain``), each
    condition with let values of its own, as the interpreter's explained walk has."""
    trace = Trace(explain=explain)
    lets: dict[int, Any] | None = None if explain else {}
    try:
        applies = interpret(rule.when.node, case, env, trace, lets) if rule.when is not None else True
        if applies is True:
            interpret(rule.condition.node, case, env, trace, lets)
    except DATA_ERRORS:
        pass
    return trace


def _found(run: Any, budget: int | None, steps: bool = False) -> tuple[Any, ...]:
    """missing, reads (in order, with their types) and the budget left; or the exception raised. With ``steps``,
    the steps (text, value, line, column, in order) and the witnesses first."""
    with metered(budget) as meter:
        try:
            trace = run()
        except Exception as exc:  # noqa: BLE001 - an error must be the same error
            return ("raised", type(exc).__name__, meter.left if meter else None)
    shown = ([(s.text, type(s.value).__name__, s.value, s.line, s.column) for s in trace.steps],
             dict(trace.witness)) if steps else ()
    return (*shown, list(trace.missing), [(k, type(v).__name__, v) for k, v in trace.reads.items()],
            meter.left if meter else None)


_BOOKS: dict[str | None, Any] = {}


def _book(params: str | None) -> Any:
    if params not in _BOOKS:
        _BOOKS[params] = load_rulebook(params=params)
    return _BOOKS[params]


@pytest.mark.parametrize("index", range(len(TESTS)), ids=[f"{Path(t.file).stem}:{t.line}" for t in TESTS])
def test_generated_trace_equals_the_interpreters(index: int) -> None:
    compared = 0
    for rule, case, env, original in golden_sweep(index, unknown_time=True):
        _compare(rule, case, env, through_trace_rule=original)
        compared += 1
    assert compared


def golden_sweep(index: int, unknown_time: bool = False) -> Iterator[tuple[Rule, dict[str, Any], dict[str, Any], bool]]:
    """Each rule of the versions for golden case ``index``'s kind, on the case and its variants (one value made
    null, removed or mistyped, by turns), with the version's reference time (``unknown_time``: on the case itself,
    with none too, where a dated parameter is missing): (rule, case, environment, whether it is the case itself)."""
    test = TESTS[index]
    rb = _book(test.params)
    if test.case.get("kind") not in rb.case_schemas:
        pytest.skip("a case of another kind")
    as_of = parse_instant(test.as_of) if test.as_of else None
    versions = [v for v in rb.versions() if v.applies_to == test.case["kind"]]
    for case in _variants(test.case, items=True, rotate=index):
        for version in versions:
            envs = [{REF_TIME: as_of if as_of is not None else _reference_time(version, case)}]
            if unknown_time and case is test.case:
                envs.append({REF_TIME: UNKNOWN})
            for env in envs:
                for rule in version.rules:
                    yield rule, case, env, case is test.case


def _reference_time(version: Any, case: dict[str, Any]) -> Any:
    try:
        return version.reference_time.fn(case, {REF_TIME: UNKNOWN})
    except DATA_ERRORS:
        return UNKNOWN


def _compare(rule: Rule, case: dict[str, Any], env: dict[str, Any], through_trace_rule: bool) -> None:
    when = rule.when.node if rule.when is not None else None
    expected = _found(lambda: _reference(rule, case, dict(env)), 10**9)
    got = _found(lambda: tracecode.trace_without_steps(when, rule.condition.node, case, dict(env)), 10**9)
    assert got == expected, (rule.id, case)
    if through_trace_rule:  # as the evaluator calls it (unmetered)
        assert _found(lambda: trace_rule(rule, case, dict(env), False), None)[:2] == expected[:2]


def test_the_golden_variants_meet_unknowns_and_errors() -> None:
    """The comparison above is not vacuous: over a sample of the golden cases the variants give missing
    paths, reads, and data errors that stop a walk half way (every rule's generated code, no fallback)."""
    rb = load_rulebook()
    missing = errors = 0
    for n, test in enumerate(TESTS[::5]):
        if test.params is not None or test.case.get("kind") not in rb.case_schemas:
            continue
        for case in _variants(test.case, items=True, rotate=n):
            for version in (v for v in rb.versions() if v.applies_to == test.case["kind"]):
                env = {REF_TIME: _reference_time(version, case)}
                for rule in version.rules:
                    assert tracecode.traced(rule.condition.node).__code__.co_filename == "<policy-eval: trace>"
                    trace = tracecode.trace_without_steps(rule.when.node if rule.when else None,
                                                          rule.condition.node, case, env)
                    missing += bool(trace.missing)
                    try:
                        _reference_raises(rule, case, env)
                    except DATA_ERRORS:
                        errors += 1
    assert missing > 100 and errors > 10


def _reference_raises(rule: Rule, case: dict[str, Any], env: dict[str, Any]) -> None:
    trace, lets = Trace(explain=False), {}  # type: ignore[var-annotated]
    if rule.when is None or interpret(rule.when.node, case, env, trace, lets) is True:
        interpret(rule.condition.node, case, env, trace, lets)


SCHEMA = {"type": "object", "properties": {
    "a": {"type": "integer"}, "b": {"type": "integer"}, "s": {"type": "string"},
    "at": {"type": "string", "format": "date-time"},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "x": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}}}},
    "order": {"type": "object", "properties": {"p": {"type": "integer"}, "q": {"type": "integer"},
                                               "inner": {"type": "object", "properties": {
                                                   "r": {"type": "integer"}}}}}}}

EXPRESSIONS = [
    "a > 1 or b > 1",
    "not (a > 1) and order.p == 2",
    "(if a > 0 then order.p else order.q) == 1",
    "default(order.inner.r, b) + order.p > a",
    "exists(order.inner.r) or exists(s) or s == 'x'",
    "max(order.p, order.q) == 3 and min(a, b) < 2",
    "a / b > 1",
    "any i in items: i.x > a",
    "all i in items: i.x > 0 and exists(i.tags)",
    "(count i in items: i.x > 0) >= 0 and a > 0",
    "(sum i in items: i.x) > order.p",
    "items[0].x > 1 and order.q > 1",
    "len(s) > a and at > at",
    "a in [1, b, 3]",
]
CASES = [
    {}, {"a": 1}, {"a": 2, "b": 0}, {"a": 0, "b": 2, "s": "x"}, {"order": {"p": 1}}, {"order": None},
    {"order": {"p": 2, "q": 3, "inner": {"r": 1}}, "a": 1, "b": 1}, {"order": {"inner": None}, "b": 4},
    {"order": "x", "a": 1}, {"a": "x"}, {"at": "not a time", "s": "yy", "a": 1},
    {"at": "2024-01-01T00:00:00Z", "s": "yy", "a": 1},
    {"items": [{"x": 1}, {"x": 5, "tags": ["t"]}, {}], "a": 2, "order": {"p": 3}},
    {"items": [{"x": 3}] * 6, "a": 0, "order": {"p": 1}}, {"items": [None, {"x": "x"}], "a": 0},
    {"items": "x"}, {"items": [], "a": 1, "b": 3},
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_each_construct_traces_as_the_interpreter(text: str) -> None:
    """Every kind of node, on cases that make each part known, missing, null or of the wrong type; with
    budgets from none to enough, so that a walk cut short stops at the same read as the interpreter's."""
    node = lang.compile_expression(text, case_schema=SCHEMA).node
    assert tracecode.traced(node).__code__.co_filename == "<policy-eval: trace>"
    compare_on_cases(node, tracecode.traced(node), False, _found)


def compare_on_cases(node: ir.IR, generated: Any, explain: bool, found: Any) -> None:
    """``generated`` against the interpreter (with steps: ``explain``) on each of CASES, under budgets from none to
    enough; ``found``: what is compared of a trace (this module's :func:`_found`, or lang.stepcode's test's)."""
    def run(fn: Any, case: dict[str, Any]) -> Any:
        def go() -> Trace:
            trace = Trace(explain=explain)
            try:
                fn(case, {REF_TIME: UNKNOWN}, trace, {})
            except DATA_ERRORS:
                trace.missing.append("<data error>")
            return trace
        return go
    for case in CASES:
        for budget in (None, 0, 1, 2, 3, 5, 8, 13):
            expected = found(run(lambda c, e, t, lets: interpret(node, c, e, t, None if explain else lets), case), budget)
            assert found(run(generated, case), budget) == expected, (case, budget)


def test_a_budget_run_out_half_way_stops_at_the_same_read() -> None:
    """``any`` charges its list, then replays the item that decided it (its reads are the verdict's)."""
    node = lang.compile_expression("a > 0 and (any i in items: i.x > 1) and order.p > 0", case_schema=SCHEMA).node
    case = {"a": 1, "items": [{"x": 1}] * 9 + [{"x": 2}], "order": {"p": 1}}
    for budget, left in ((5, None), (11, 0)):
        for fn in (tracecode.traced(node), lambda c, e, t, lets: interpret(node, c, e, t, lets)):
            trace = Trace(explain=False)
            with metered(budget) as meter:
                assert meter is not None
                if left is None:
                    with pytest.raises(BudgetExceeded):
                        fn(case, {}, trace, {})
                    assert list(trace.reads) == ["a"]
                else:
                    assert fn(case, {}, trace, {}) is True
                    assert meter.left == left and list(trace.reads) == ["a", "items[9].x", "order.p"]


def test_a_let_found_by_one_condition_is_not_walked_again_by_the_next() -> None:
    """``lets`` is shared by ``when`` and condition: a let the first walked records its reads once; the
    generated code keeps the interpreter's ``(value, blame)`` pairs, so either may find the other's."""
    rb = load_rulebook()
    rules = [r for v in rb.versions() for r in v.rules if _has_let(r.condition.node)]
    assert rules
    for rule in rules:
        for case in ({"kind": "after_sale"}, TESTS[0].case):
            env = {REF_TIME: UNKNOWN}
            lets_a: dict[int, Any] = {}
            lets_b: dict[int, Any] = {}
            ta, tb = Trace(explain=False), Trace(explain=False)
            for node in filter(None, (rule.when.node if rule.when else None, rule.condition.node)):
                try:
                    va = interpret(node, case, env, ta, lets_a)
                except DATA_ERRORS:
                    va = "error"
                try:
                    vb = tracecode.traced(node)(case, env, tb, lets_b)
                except DATA_ERRORS:
                    vb = "error"
                assert va is vb or va == vb
            assert lets_a == lets_b and ta.missing == tb.missing and list(ta.reads.items()) == list(tb.reads.items())


def _has_let(node: ir.IR) -> bool:
    return isinstance(node, ir.LetRef) or any(_has_let(n) for n in ir.children(node))


@pytest.mark.parametrize("explain", [False, True])
def test_an_error_of_the_generated_code_gives_the_interpreters_answer_with_its_budget(
        monkeypatch: pytest.MonkeyPatch, explain: bool) -> None:
    """Should generated code fail in a way the interpreter does not, trace_rule gives the interpreter's
    trace, charged once (the budget is reset to what it was): without steps (lang.tracecode) and with them
    (lang.stepcode)."""
    rb = load_rulebook()
    rule = next(r for v in rb.versions() for r in v.rules if r.id == "refund-only-handling-limit")
    case = {"kind": "after_sale", "request": {"type": "refund_only"}}
    env = {REF_TIME: UNKNOWN}
    expected = _found(lambda: _reference(rule, case, env, explain), 100, explain)

    def broken(*args: Any) -> Trace:
        meter = explaining.current()
        assert meter is not None
        meter.left -= 7  # charged, then failed
        raise KeyError("a bug")
    monkeypatch.setattr(explaining, "trace_with_steps" if explain else "trace_without_steps", broken)
    assert _found(lambda: trace_rule(rule, case, env, explain), 100, explain) == expected


def test_a_condition_too_large_for_generated_code_is_traced_by_the_interpreter(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the source cap (a deeply nested condition) the trace is the interpreter's own walk."""
    node = lang.compile_expression("a > 1 or (b > 1 and order.p > 1)", case_schema=SCHEMA).node
    monkeypatch.setattr(tracecode, "MAX_SOURCE", 100)
    fn = tracecode.traced(node)
    assert fn.__code__.co_filename != "<policy-eval: trace>"
    trace = Trace(explain=False)
    assert fn({"b": 2}, {}, trace, {}) is UNKNOWN
    assert trace.missing == ["a", "order.p"] and trace.reads == {"b": 2}


@pytest.mark.parametrize("text", ["order.inner.r > 1", "any i in items: i.x > 1", "a / b > 1 or s == 'x'"])
def test_generated_code_does_not_keep_its_condition_alive(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions are weakly keyed by their condition: a rulebook dropped is collected with its code (a
    root field or quantifier, which the code hands to the interpreter, is held weakly), generated or not.
    What lived before the test is frozen out of the collections (a full one over the suite's heap took
    seconds); what the frozen objects hold stays alive, so freezing can only make the test fail, not pass."""
    gc.freeze()
    try:
        _collected_with_its_code(text, monkeypatch)
    finally:
        gc.unfreeze()


def _collected_with_its_code(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for cap in (tracecode.MAX_SOURCE, 10):
        monkeypatch.setattr(tracecode, "MAX_SOURCE", cap)
        prog = lang.compile_expression(text, case_schema=SCHEMA)
        node = prog.node
        assert tracecode.traced(node)({"a": 1, "b": 0, "items": [{"x": 2}]}, {}, Trace(explain=False), {}) \
            is not None
        held = weakref.ref(node)
        del node, prog
        gc.collect()
        assert held() is None

"""A trace without the explanation (``Trace(explain=False)``) finds what a full one finds.

Findings detail traces an undetermined verdict only for its missing paths (``trace_rule(..., explain=False)``):
the walk is the same, it only records no steps and no witnesses. Checked on Hypothesis-made well-typed
expressions over random case records (the generators of tests/test_properties.py) and on every rule of every
golden case, with each value of every sixth case also made null, removed or mistyped (by turns): the same value
(or the same error), the same missing paths and the same values read, in the same order.
"""

from __future__ import annotations

from typing import Any

from goldenrules import rules_in_force
from hypothesis import given
from hypothesis import strategies as st
from test_kernel import TESTS, _variants
from test_properties import PROPERTY_SETTINGS, SCHEMA, case_records, typed_expressions

from policy_eval import expression as lang
from policy_eval.errors import PolicyError
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.interpreter import Trace, interpret
from policy_eval.lang.values import UNKNOWN, render
from policy_eval.run.explaining import trace_rule


def _traced(node: Any, case: dict[str, Any], env: dict[str, Any], explain: bool) -> tuple[Any, ...]:
    trace = Trace(explain=explain)
    try:
        outcome: tuple[str, str] = ("value", render(interpret(node, case, env, trace)))
    except Exception as exc:  # noqa: BLE001 - compared between the two modes
        outcome = ("raised", f"{type(exc).__name__}: {exc}")
    return outcome, trace


@PROPERTY_SETTINGS
@given(typed_expressions(), st.lists(case_records, min_size=1, max_size=3))
def test_expressions_traced_without_steps(typed: tuple[str, str], cases: list[dict[str, Any]]) -> None:
    text, _ = typed
    try:
        prog = lang.compile_expression(text, case_schema=SCHEMA)
    except PolicyError:
        return
    for case in [{}, *cases]:
        full, full_trace = _traced(prog.node, case, {REF_TIME: UNKNOWN}, True)
        bare, bare_trace = _traced(prog.node, case, {REF_TIME: UNKNOWN}, False)
        assert bare == full, text
        assert bare_trace.missing == full_trace.missing, text
        assert list(bare_trace.reads.items()) == list(full_trace.reads.items()), text
        assert not bare_trace.steps and not bare_trace.witness


def test_golden_rules_traced_without_steps() -> None:
    checked = missing = 0
    cases = ((t.params, case) for index, t in enumerate(TESTS)
             for case in (_variants(t.case, rotate=index // 6) if index % 6 == 0 else [t.case]))
    for rule, case, ref in rules_in_force(cases):
        full = trace_rule(rule, case, {REF_TIME: ref})
        bare = trace_rule(rule, case, {REF_TIME: ref}, explain=False)
        assert bare.missing == full.missing, rule.full_id
        assert list(bare.reads.items()) == list(full.reads.items()), rule.full_id
        assert not bare.steps and not bare.witness
        checked += 1
        missing += bool(full.missing)
    assert checked > 10_000 and missing > 1_000, (checked, missing)


def test_a_quantifier_witness_is_read_without_steps() -> None:
    """The item that decides ``any``/``all`` is evaluated again for the explanation; what it reads is the
    verdict's evidence with or without the explanation."""
    prog = lang.compile_expression('any m in messages: m.text == "b"', case_schema=SCHEMA)
    case = {"messages": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}
    full = _traced(prog.node, case, {}, True)[1]
    bare = _traced(prog.node, case, {}, False)[1]
    assert full.witness and full.steps
    assert bare.reads == full.reads



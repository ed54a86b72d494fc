"""Two-valued generated code (lang.twovalued): plain Python first, the three-valued code at the first unknown.

Most cases hold every fact a rule reads, and ``a <= b and c`` decides them with a fraction of the tests that
three-valued code spells out. The two-valued code must never change a result: where it meets an unknown it
gives up and the three-valued code decides from the start, with the budget it had; a fused version falls
back rule by rule within the version. These tests fail if the two-valued code decided a case with an unknown
itself (Kleene's ``unknown or true`` is true, not an error), if the fall back paid the budget twice, or if
fused outcomes differed from the three-valued ones on the golden cases or on any of them with a field removed.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval import expression as lang
from policy_eval.lang import codegen, fusion, twovalued
from policy_eval.lang.budget import BudgetExceeded, metered
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.testing import load_tests

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = {"type": "object", "properties": {
    "a": {"type": "integer"}, "b": {"type": "integer"},
    "items": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    "order": {"type": "object", "properties": {"p": {"type": "integer"}, "q": {"type": "integer"}}}}}


def _fn(text: str) -> Any:
    return lang.compile_expression(text, case_schema=SCHEMA)


@pytest.mark.parametrize(("text", "case", "expected"), [
    ("a > 1 or b > 1", {"a": 5, "b": 0}, True),
    ("a > 1 or b > 1", {"b": 2}, True),  # unknown or true: the three-valued code decides
    ("a > 1 or b > 1", {"b": 0}, UNKNOWN),
    ("a > 1 and b > 1", {"b": 0}, False),  # unknown and false
    ("a > 1 and b > 1", {"b": 2}, UNKNOWN),
    ("not (a > 1)", {}, UNKNOWN),
    ("default(a, b) + 1 > 2", {"b": 2}, True),
    ("default(a, b) + 1 > 2", {}, UNKNOWN),
    ("max(order.p, order.q) == 3", {"order": {"p": 3, "q": 1}}, True),
    ("max(order.p, order.q) == 3", {"order": {"p": 3}}, UNKNOWN),
    ("max(order.p, order.q) == 3", {"order": None}, UNKNOWN),
    ("order.p + order.q > a", {"order": {"p": 1, "q": 1}, "a": 1}, True),
    ("order.p + order.q > a", {"order": {"p": 1, "q": None}, "a": 1}, UNKNOWN),
    ("(if a > 0 then order.p else order.q) == 1", {"a": 1, "order": {"p": 1}}, True),
    ("(if a > 0 then order.p else order.q) == 1", {"a": 0, "order": {"p": 1}}, UNKNOWN),
    ("exists(a) or b > 0", {}, UNKNOWN),
    ("exists(a) or b > 0", {"a": 1}, True),
])
def test_generated_code_decides_as_the_interpreter(text: str, case: dict[str, Any], expected: Any) -> None:
    prog = _fn(text)
    assert prog.interpret(case) is expected or prog.interpret(case) == expected
    assert prog.evaluate(case) is expected or prog.evaluate(case) == expected


# fields the schema leaves untyped ({}), and no schema at all: a read under an untyped field whose base is missing
UNTYPED = {"type": "object", "properties": {"o": {"type": "object", "properties": {"x": {}}}, "p": {}}}


@pytest.mark.parametrize("schema", [UNTYPED, None], ids=["untyped", "no-schema"])
@pytest.mark.parametrize(("text", "case", "expected"), [
    ("o.x.z != 1", {}, UNKNOWN),  # (the two-valued code read the missing o.x as unknown and compared it: true)
    ("o.x.z != 1", {"o": {}}, UNKNOWN),
    ("o.x.z == p.w", {"o": {"x": {}}}, UNKNOWN),
    ("o.x.z == p.w", {}, UNKNOWN),  # (was true: unknown == unknown)
    ("o.x.z != 1", {"o": {"x": {"z": 2}}}, True),
    ("o.x.z == p.w", {"o": {"x": {"z": 2}}, "p": {"w": 2}}, True),
    ("o.x.z == 1 or p.w == 2", {"p": {"w": 2}}, True),
])
def test_a_read_under_an_untyped_field_is_unknown_when_its_base_is_missing(
        schema: dict[str, Any] | None, text: str, case: dict[str, Any], expected: Any) -> None:
    prog = lang.compile_expression(text, case_schema=schema)
    assert prog.interpret(case) is expected
    assert prog.evaluate(case) is expected


def test_a_condition_gets_two_valued_code_and_a_three_valued_fall_back() -> None:
    source, namespace = codegen.generate(_fn("a > 1 or b > 1").node)
    assert "except _Unsure:" in source and namespace["_u"] is twovalued.unsure
    plain, _ = codegen.generate(_fn("a > 1 or b > 1").node, two_valued=False)
    assert "_Unsure" not in plain
    # a condition that is never unknown needs no second code
    assert "_Unsure" not in codegen.generate(_fn("exists(a) and not exists(b)").node)[0]


_PRESENT = "exists(order.p) and order.p > order.q"


@pytest.mark.parametrize(("text", "tested"), [
    (_PRESENT, False),  # the right operand runs only where exists found order.p
    ("not exists(order.p) or order.p > order.q", False),  # only where `not exists` was false
    ("(if exists(order.p) then order.p else 0) > order.q", False),
    ("(if not exists(order.p) then 0 else order.p) > order.q", False),
    ("exists(order.q) and exists(order.p) and order.p > order.q", False),  # the left operand is itself an `and`
    ("order.p > order.q and exists(order.p)", True),  # read before exists: tested
    ("exists(order.p) or order.p > order.q", True),  # the right operand runs where it was NOT found
    ("(if exists(order.p) then 0 else order.p) > order.q", True),
    ("not (exists(order.p) and a > 0) or order.p > 1", False),  # `not (x and y)` false: x and y both true
    ("not (exists(order.p) or a > 0) or order.p > 1", True),  # `not (x or y)` false: x or y, not x alone
])
def test_a_hoisted_read_is_not_tested_again_where_exists_found_it(text: str, tested: bool) -> None:
    source, _ = codegen.generate(_fn(text).node)
    two_valued = source.split("except _Unsure")[0]
    assert "_p0 = " in two_valued  # (order.p is read twice: once, at the top)
    assert ("(_p0 if _p0 is not U else _u())" in two_valued) is tested


@pytest.mark.parametrize(("text", "tested"), [
    ("order.p > 1 and order.p < 9", 1),  # the left operand tested it on every way through: once
    ("order.p > 1 or order.p < -9", 1),
    ("order.p - order.q > 0 and order.p > order.q", 1),  # operands are computed in turn
    ("max(order.p, order.q) > 1 and order.p > 0", 1),
    ("(if order.p > 1 then order.p else order.q) > 0", 1),  # the test ran before either branch
    ("(if a > 1 then order.p else order.q) > 0 and order.p > 0", 2),  # one branch only: not on every way
    ("(a > 1 and order.p > 1) or order.p < 0", 2),  # `and`'s right operand may not have run
    ("default(order.p, 0) > 1 and order.p > 0", 1),  # default's operand is three-valued: no test there
])
def test_a_hoisted_read_tested_on_every_way_is_not_tested_again(text: str, tested: int) -> None:
    source, _ = codegen.generate(_fn(text).node)
    two_valued = source.split("except _Unsure")[0]
    assert "_p0 = " in two_valued
    assert two_valued.count("(_p0 if _p0 is not U else _u())") == tested


@pytest.mark.parametrize("text", [_PRESENT, "not exists(order.p) or order.p > order.q",
                                  "order.p > 1 and order.p < 9", "order.p - order.q > 0 and order.p > order.q",
                                  "max(order.p, order.q) > 1 and order.p > 0",
                                  "(if order.p > 1 then order.p else order.q) > 0",
                                  "(if a > 1 then order.p else order.q) > 0 and order.p > 0",
                                  "(a > 1 and order.p > 1) or order.p < 0",
                                  "(if exists(order.p) then order.p else order.q) > 1",
                                  "exists(order.q) and exists(order.p) and order.p + order.q > a",
                                  "not (exists(order.p) and a > 0) or order.p > 1",
                                  "not (exists(order.p) or a > 0) or order.p > 1"])
@pytest.mark.parametrize("order", [{}, {"p": 2}, {"q": 1}, {"p": 2, "q": 1}, {"p": 0, "q": 5}, {"p": None, "q": 1},
                                   None])
@pytest.mark.parametrize("a", [None, 0, 1])
def test_an_untested_hoisted_read_decides_as_the_interpreter(text: str, order: Any, a: int | None) -> None:
    case: dict[str, Any] = {} if order is None else {"order": order}
    if a is not None:
        case["a"] = a
    prog = _fn(text)
    want = prog.interpret(case)
    assert prog.evaluate(case) is want or prog.evaluate(case) == want


def test_the_fall_back_starts_with_the_budget_the_two_valued_code_had() -> None:
    """The count walks 10 items (11 with the list), then ``a`` is missing: the three-valued code walks them
    again. With a budget of 11 the condition is unknown, not over budget; with 10, over budget."""
    prog = _fn("(count i in items: i.x > 0) >= 0 and a > 0")
    case = {"items": [{"x": 1}] * 10}
    with metered(11):
        assert prog.evaluate(case) is UNKNOWN
    with metered(10), pytest.raises(BudgetExceeded):
        prog.evaluate(case)
    with metered(11):
        assert prog.evaluate({**case, "a": 1}) is True


def _rules_in_force(ev: Evaluator) -> Iterator[tuple[Any, Any, dict[str, Any], dict[str, Any]]]:
    """(version, test, case, env) for each golden case without parameters, and the same case with each of its
    fields and sub-fields removed in turn (the unknowns that make two-valued code give up)."""
    for file in sorted(GOLDEN.glob("*.yaml")):
        for test in load_tests(file):
            if test.params is not None or test.case.get("kind") not in ev.rulebook.case_schemas:
                continue
            as_of = parse_instant(test.as_of) if test.as_of else None
            variants = [test.case]
            for key, value in test.case.items():
                if key not in ("kind", "case_id"):
                    variants.append({k: v for k, v in test.case.items() if k != key})
                if isinstance(value, dict):
                    for sub in value:
                        cut = copy.deepcopy(test.case)
                        del cut[key][sub]
                        variants.append(cut)
            for case in variants:
                for history in ev._by_kind.get(case["kind"], ()):
                    ref = as_of or history.latest().reference_time.fn(case, {REF_TIME: None})
                    version = history.at(ref) if ref is not None and ref is not UNKNOWN else None
                    if version is not None and not version.waivers:
                        yield version, test, case, {REF_TIME: ref}


def test_fused_outcomes_equal_the_three_valued_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    rb = load_rulebook()
    two = Evaluator(rb, detail="findings")
    source = fusion._source
    monkeypatch.setattr(fusion, "_source", lambda steps, tokens, two_valued=True, exact_nulls=False:
                        source(steps, tokens, False, exact_nulls))
    three = Evaluator(rb, detail="findings")
    k2, k3 = two._kernel, three._kernel
    assert k2 is not None and k3 is not None
    compared = fell_back = 0
    unsure = twovalued.unsure
    calls: list[int] = []

    def counting() -> Any:
        calls.append(1)
        return unsure()
    for version, test, case, env in _rules_in_force(two):
        f2, f3 = k2._fused[id(version)], k3._fused[id(version)]
        assert f2 is not None and f3 is not None
        f2.__globals__["_u"] = counting
        before = len(calls)
        with metered(1_000_000) as meter:
            got = f2(case, dict(env), meter)
        with metered(1_000_000) as meter:
            want = f3(case, dict(env), meter)
        f2.__globals__["_u"] = unsure
        assert got == want, f"{test.file}:{test.line} {sorted(case)}"
        compared += 1
        fell_back += len(calls) > before
    assert compared > 2000
    assert 0 < fell_back < compared  # both paths were taken


def test_a_version_too_large_for_two_valued_code_is_still_fused(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """The two-valued code about doubles the source: a version that fits the cap only without it is fused
    three-valued, not left to run rule by rule."""
    text = pt.policy(pt.rules_text(*(pt.rule(f"r{i}", f"len(messages) > {i} or exists(store_id)")
                                     for i in range(40))), **pt.CHAT, id="big")
    rb = pt.load(pt.write(tmp_path / "p" / "big.yaml", text).parent)
    (version,) = list(rb.versions())
    steps = Evaluator(rb, detail="findings")._kernel._steps[id(version)]  # type: ignore[union-attr]
    plain = len(fusion._source([fusion.Step(None, r.condition.node, False, (), True) for r, _, _ in steps],
                               fusion.Tokens(1, 2, 3, 4, 5), two_valued=False)[0])
    monkeypatch.setattr(fusion, "MAX_FUSED_SOURCE", plain + 100)
    version.fused.clear()  # (the function the first evaluator made is kept on the version: run.fusing)
    ev = Evaluator(rb, detail="findings")
    fused = ev._kernel._fused[id(version)]  # type: ignore[union-attr]
    assert fused is not None and "_Unsure" not in fused.__code__.co_names
    case = {"kind": "chat", "case_id": "C", "store_id": "S", "messages": [
        {"sender": "buyer", "sent_at": "2024-03-01T10:00:00+08:00", "text": "hi"}]}
    assert ev.evaluate(case).counts()["complied"] == 40


def test_a_condition_is_compiled_on_its_first_call_and_keeps_its_identity() -> None:
    """Loading makes hundreds of conditions and a run calls many never: the code is generated on the first
    call, which gives the very function object the caller holds the generated code (no indirection after)."""
    prog = _fn("order.p + order.q > a")
    fn = prog.fn
    assert fn.__code__.co_filename == "<policy-eval: not compiled yet>"
    assert fn({"order": {"p": 1, "q": 1}, "a": 1}, {}) is True
    assert prog.fn is fn and fn.__code__.co_filename == "<policy-eval: 'order.p + order.q > a'>"
    assert fn({"order": {"p": 1}, "a": 1}, {}) is UNKNOWN


def test_a_condition_past_the_source_cap_runs_its_closures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codegen, "MAX_SOURCE", 10)
    prog = _fn("a > 1 or b > 1")
    assert prog.fn({"b": 2}, {}) is True and prog.fn({"b": 0}, {}) is UNKNOWN
    assert prog.fn.__code__.co_filename == "<policy-eval: not compiled yet>"  # the stub calls the closures


def test_what_a_chain_of_shared_lets_tests_is_worked_out_once_a_node() -> None:
    # twelve lets, each the one before plus itself: walked once a use, thousands of walks; once a node, 25
    from policy_eval.lang import ir
    from policy_eval.lang.fusion import _FusedGen

    op = _fn("a + a > 1").node.args[0]
    node = op
    for k in range(12):
        let = ir.LetRef(op.type, op.span, f"l{k}", f"l{k}", node)
        node = dataclasses.replace(op, args=(let, let))
    gen = _FusedGen()
    gen.hoist_all([node])
    walked: list[Any] = []
    tested = gen.tested

    def counting(n: Any) -> frozenset[str]:
        walked.append(n)
        return tested(n)
    gen.tested = counting  # type: ignore[method-assign]
    assert gen.checked(node) == gen.checked(node)
    assert len(walked) == len({id(n) for n in walked}) <= 3 * 13

"""The generated null reading (lang.nullcode) against the reference interpreter's (``interpret_nulls``).

A rule that reads an explicit null is gated (undetermined, naming the null) when what its `when` and condition
come to depends on what the null hides. The interpreter decides that by tracking the paths each unknown value
comes from; the generated code carries two unknowns instead (``U``: missing whatever the nulls are; ``N``: null
dependent) and must come to the same kind wherever the interpreter's value is unknown, and to the same value
elsewhere. Compared here expression by expression (random expressions and records, and a table worked out by
hand from docs/language.md), rule by rule on golden cases with each value made null in turn, and verdict by
verdict against the evaluator without the generated reading (nor the fused outcomes it now uses on a case with
a null).
"""

from __future__ import annotations

import copy
import random
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import test_properties as properties
from goldencorpus import golden_tests
from hypothesis import given
from hypothesis import strategies as st
from test_null_kleene import CONFORMANCE_SCHEMA, _expressions, _same

from policy_eval.expression import compile_expression
from policy_eval.lang import ir, nullcode
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.interpreter import interpret_nulls
from policy_eval.lang.nullcode import NULL_DEPENDENT, fused_gate, null_gate, null_reading
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run import compose
from policy_eval.run.evaluate import Evaluator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402

N, U = NULL_DEPENDENT, UNKNOWN


def _expected(node: ir.IR, case: dict[str, Any]) -> Any:
    """What the interpreter says, as the generated code spells it (N for a null-dependent unknown)."""
    value, _, hidden = interpret_nulls(node, case)
    return N if value is UNKNOWN and hidden else value


def _agrees(node: ir.IR, case: dict[str, Any]) -> None:
    fn = null_reading(node)
    assert fn is not None, node.text
    try:
        want = _expected(node, case)
    except (EvalFailure, ArithmeticError):
        return  # (the interpreter's failure leaves the rule ungated; the generated code's hands it back)
    got = fn(case, {})
    assert got is want if want is N or got is N else _same(got, want), (node.text, case, got, want)


@pytest.mark.parametrize(("expr", "case", "expect"), [
    # worked out from docs/language.md, "Absent and null"
    ("exists(order.shipped_at)", {"order": {"shipped_at": None}}, N),
    ("exists(order.shipped_at)", {"order": {}}, False),
    ("not exists(order.shipped_at)", {"order": {"shipped_at": None}}, N),
    ("exists(order.received_at)", {"order": None}, N),  # under a null object
    ("exists(order.received_at)", {}, False),
    ("default(order.promised_days, 7)", {"order": {"promised_days": None}}, N),
    ("default(order.promised_days, 7)", {"order": {}}, 7),
    ("default(order.shipped_at, order.received_at)", {"order": {"received_at": None}}, N),  # the fallback's kind
    ("default(order.shipped_at, order.received_at)", {"order": {}}, U),
    ("exists(order.shipped_at) and false", {"order": {"shipped_at": None}}, False),
    ("exists(order.shipped_at) or true", {"order": {"shipped_at": None}}, True),
    # a missing operand makes a strict operator missing whatever the null is
    ("exists(order.promised_days + order.rate)", {"order": {"rate": None}}, False),
    ("order.promised_days + order.rate > 1", {"order": {"rate": None}}, U),
    ("order.promised_days + order.rate > 1", {"order": {"promised_days": 1, "rate": None}}, N),
    # `and`/`or` of a missing and a null-dependent unknown: null-dependent
    ("order.promised_days > 1 and exists(order.shipped_at)", {"order": {"shipped_at": None}}, N),
    ("order.promised_days > 1 or exists(order.shipped_at)", {"order": {"shipped_at": None}}, N),
    ("order.promised_days > 1 or order.rate > 1", {"order": {}}, U),
    ("if exists(order.shipped_at) then true else true", {"order": {"shipped_at": None}}, N),
    ("if order.shipped then true else false", {"order": {}}, U),
    # a quantifier over a null list; and inside lists a null is a missing value
    ("any s in order.scores: s > 1", {"order": {"scores": None}}, N),
    ("any s in order.scores: s > 1", {"order": {}}, U),
    ("any s in order.scores: s > 1", {"order": {"scores": [None, 0]}}, U),
    ("any s in order.scores: s > 1", {"order": {"scores": [None, 5]}}, True),
])
def test_the_kind_of_each_unknown(expr: str, case: dict[str, Any], expect: Any) -> None:
    node = compile_expression(expr, case_schema=CONFORMANCE_SCHEMA).node
    fn = null_reading(node)
    assert fn is not None
    got = fn(case, {})
    assert got is expect if expect is N or expect is U else _same(got, expect)
    assert _same(_expected(node, case), expect)  # (the table is the interpreter's reading too)


@properties.PROPERTY_SETTINGS
@given(st.one_of(properties.typed_expressions().map(lambda typed: typed[0]), _expressions()),
       properties.case_records)
def test_random_expressions_agree_with_the_interpreter(text: str, case: dict[str, Any]) -> None:
    node = compile_expression(text, case_schema=properties.SCHEMA).node
    if null_reading(node) is None:  # (a quantifier whose item reads from the root: the interpreter's)
        assert any(type(n) is ir.Quant and ir.root_paths(n.body) for n in ir.walk(node))
        return
    _agrees(node, case)


def test_what_the_templates_do_not_spell_is_left_to_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    node = compile_expression("any s in order.scores: s > order.promised_days",
                              case_schema=CONFORMANCE_SCHEMA).node
    assert null_reading(node) is None and null_gate(None, node) is None
    node = compile_expression(" or ".join(f"order.promised_days > {i}" for i in range(20)),
                              case_schema=CONFORMANCE_SCHEMA).node
    assert null_gate(None, node) is not None
    monkeypatch.setattr(nullcode, "MAX_SOURCE", 2000)  # (loading costs no more than the cap, whatever the rule)
    assert null_gate(None, node) is None


def _leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "kind":
                out += [path + (k,), *_leaves(v, path + (k,))]
    return out


def _nulled(case: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    other = copy.deepcopy(case)
    for path in paths:
        node: Any = other
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = None
    return other


def _gate(gates: dict[int, Any], rule: Any) -> Any:
    if id(rule) not in gates:
        gates[id(rule)] = null_gate(rule.when.node if rule.when else None, rule.condition.node)
    return gates[id(rule)]


def test_each_bundled_rule_on_golden_cases_with_each_value_null() -> None:
    """Every rule of the case's kind, on every fourth golden case with each of its values null in turn: where the
    interpreter gates the rule the generated reading does too, and where it does not, neither does the reading;
    and each version's fused reading (one function, lets shared) says of each rule what the rule's own says."""
    books: dict[Any, Any] = {}
    gates: dict[int, Any] = {}
    fused: dict[int, Any] = {}
    counts = {"gated": 0, "ungated": 0, "handed back": 0, "fused": 0}
    for test in golden_tests()[::4]:
        book = books.get(test.params) or books.setdefault(test.params, load_rulebook(params=test.params))
        ref = parse_instant(test.as_of) if test.as_of else parse_instant("2024-06-01T00:00:00+08:00")
        versions = [v for h in book.for_kind(str(test.case.get("kind"))) for v in h.versions]
        for v in versions:
            if id(v) not in fused:
                fused[id(v)] = fused_gate([(r.when.node if r.when else None, r.condition.node) for r in v.rules])
                assert fused[id(v)] is not None or v.applies_to == "chat", v.id  # (one chat rule is not spelled)
        for path in _leaves(test.case):
            case = _nulled(test.case, [path])
            for v in versions:  # the version's fused reading: each rule's bit is what its own reading says
                whole = fused[id(v)]
                if whole is not None:
                    mask = whole(case, {REF_TIME: ref}, (1 << len(v.rules)) - 1, None)
                    own = [_gate(gates, r) for r in v.rules]
                    assert mask is not None and all(bool(mask >> i & 1) is g(case, {REF_TIME: ref})
                                                    for i, g in enumerate(own) if g is not None), (v.id, path)
                    counts["fused"] += 1
            for rule in (r for v in versions for r in v.rules):
                gate = _gate(gates, rule)
                if gate is None:
                    continue
                want = compose.unknown(rule, case, {REF_TIME: ref}) is not None
                got = gate(case, {REF_TIME: ref})
                if got is None:
                    counts["handed back"] += 1
                    continue
                assert got is want, (test.name, path, rule.id)
                counts["gated" if want else "ungated"] += 1
    assert counts["gated"] > 1000 and counts["ungated"] > 2 * counts["gated"], counts  # not vacuous
    assert counts["handed back"] < counts["gated"] / 100 and counts["fused"] > 1000, counts


SETTINGS = ({"detail": "full", "explain": True}, {"detail": "full", "explain": "missing"}, {"detail": "findings"})


class _Interpreted(Evaluator):
    """The evaluator as it was: every rule that reads a null judged and worded by the interpreter, rule by rule."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._nulls.gate = lambda rule: None  # type: ignore[method-assign]
        self._kernel.run_nulls = lambda *args: None  # type: ignore[method-assign]
        self._kernel.null_gated = lambda *args: None  # type: ignore[method-assign]
        outcomes = self._kernel.outcomes
        self._kernel.outcomes = lambda version, case, env, nulls=False: (  # type: ignore[method-assign]
            None if nulls else outcomes(version, case, env))

    def evaluate(self, *args: Any, **kwargs: Any) -> Any:
        def interpreted(node: Any) -> Any:
            return lambda c, e, t, r: interpret_nulls(node, c, e, t, r)
        with mock.patch.object(compose, "traced_nulls", interpreted):
            return super().evaluate(*args, **kwargs)


@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_verdicts_are_those_of_the_interpreter(setting: int) -> None:
    """Golden cases (every fifth, each value null in turn) and generated after-sale cases with one, two and four
    nulls: the same verdicts, reasons, missing paths and explanations."""
    books: dict[Any, tuple[Evaluator, Evaluator]] = {}
    compared = 0
    for test in golden_tests()[setting::5]:
        if test.params not in books:
            book = load_rulebook(params=test.params)
            books[test.params] = (Evaluator(book, **SETTINGS[setting]),  # type: ignore[arg-type]
                                  _Interpreted(book, **SETTINGS[setting]))
        new, old = books[test.params]
        as_of = parse_instant(test.as_of) if test.as_of else None
        for path in _leaves(test.case):
            case = _nulled(test.case, [path])
            assert new.evaluate(case, as_of=as_of).to_dict() == old.evaluate(case, as_of=as_of).to_dict()
            compared += 1
    rng = random.Random(17 + setting)
    book = load_rulebook()
    new, old = Evaluator(book, **SETTINGS[setting]), _Interpreted(book, **SETTINGS[setting])  # type: ignore[arg-type]
    for case in generate(150, seed=23 + setting):
        paths = _leaves({k: case[k] for k in ("order", "request") if k in case})
        for n in (1, 2, 4):
            if len(paths) >= n:
                nulled = _nulled(case, rng.sample(paths, n))
                assert new.evaluate(nulled).to_dict() == old.evaluate(nulled).to_dict()
                compared += 1
    assert compared > 1000


def test_the_apis_gated_verdicts_explain_as_eager_ones() -> None:
    """The embedding API's evaluator (lazy) traces a gated verdict's explanation when it is first read: it must read
    as the batch evaluator's, traced at once (golden cases, every fifth, each value null in turn)."""
    books: dict[Any, tuple[Evaluator, Evaluator]] = {}
    gated = 0
    for test in golden_tests()[2::5]:
        if test.params not in books:
            book = load_rulebook(params=test.params)
            books[test.params] = (Evaluator(book, lazy=True), Evaluator(book))
        lazy, eager = books[test.params]
        as_of = parse_instant(test.as_of) if test.as_of else None
        for path in _leaves(test.case):
            case = _nulled(test.case, [path])
            a, b = lazy.evaluate(case, as_of=as_of), eager.evaluate(case, as_of=as_of)
            assert [(r.outcome, r.reason, r.missing) for r in a.results] == \
                [(r.outcome, r.reason, r.missing) for r in b.results]
            assert [list(r.explanation) for r in a.results if r.outcome.value == "undetermined"] == \
                [list(r.explanation) for r in b.results if r.outcome.value == "undetermined"]
            gated += sum(1 for r in b.results if r.outcome.value == "undetermined" and "(null)" in (r.reason or "")
                         and r.explanation)
    assert gated > 100, gated

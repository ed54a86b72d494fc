"""An explicit null in a case is unknown, judged by three-valued logic (issue 19 refinement).

What docs/language.md ("Absent and null") says, and so what these tests expect (worked out by hand from the
rule text, never read off the engine first):

* a key left out is absent: ``exists(x)`` is false, ``default(x, d)`` is ``d``, reading it is unknown;
* ``"x": null`` is unknown, any value or none: reading it, ``exists(x)`` and ``default(x, d)`` are unknown,
  and so is every field under a null object;
* ``and``, ``or``, ``not`` and ``if`` follow Kleene logic, so ``false and unknown`` is false whatever the
  unknown is: a rule is undetermined by a null only when its outcome depends on it, its ``missing`` naming
  the paths the unknown comes from and its reason ``undetermined: unknown in the case (null): <paths>``;
* inside lists a null item or field is read as a missing value, as before (``exists`` of it is false).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
import test_properties as properties
from hypothesis import given
from hypothesis import strategies as st

from policy_eval.expression import compile_expression
from policy_eval.lang.interpreter import Trace, interpret, interpret_nulls
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.testing import load_tests

SHIPPED = "2024-02-21T10:00:00+08:00"
RETURNS = 'request.type == "return_refund"'
REFUNDS = 'request.type == "refund_only"'
GOLDEN = Path(__file__).parent / "golden" / "after_sales_v2.yaml"
CONFORMANCE_SCHEMA = json.loads((Path(__file__).parent / "conformance" / "case.schema.json").read_text("utf-8"))

RULES = pt.rules_text(
    # the brief's example: false for a refund-only request, whatever shipped_at is
    pt.rule("return-window", "request.submitted_at >= order.shipped_at",
            when=f"{RETURNS} and exists(order.shipped_at)"),
    pt.rule("shipped-only", "true", when="exists(order.shipped_at)"),
    pt.rule("refund-or-shipped", f"{REFUNDS} or exists(order.shipped_at)"),
    pt.rule("return-and-shipped", f"{RETURNS} and exists(order.shipped_at)"),
    pt.rule("refund-and-shipped", f"{REFUNDS} and exists(order.shipped_at)"),
    pt.rule("ship-time-known", "order.shipped_at <= request.submitted_at or true"),
    pt.rule("promised-days", "default(order.promised_after_sale_days, 7) >= 7"),
    pt.rule("promised-or-refund", f"default(order.promised_after_sale_days, 7) >= 7 or {REFUNDS}"),
    pt.rule("answered-or-shipped", "exists(request.merchant_response) or exists(order.shipped_at)"),
    pt.rule("if-shipped", "if exists(order.shipped_at) then true else true"),  # `if unknown`: unknown
    pt.rule("after-return-window", "exists(request.merchant_response)",
            depends_on="{return-and-shipped: complied}"),
    pt.rule("after-refund-and-shipped", "exists(request.merchant_response)",
            depends_on="{refund-and-shipped: complied}"),
) + pt.rule("forbid-refund-or-shipped", f"{REFUNDS} or exists(order.shipped_at)").replace("require:", "forbid:")


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> Evaluator:
    folder = tmp_path_factory.mktemp("null_kleene")
    pt.write(folder / "demo.yaml", pt.policy(RULES))
    return Evaluator(pt.load(folder), explain="all")


def _verdicts(ev: Evaluator, shipped: Any = ..., order: Any = ..., **request: Any) -> dict[str, Any]:
    case = pt.after_sale_case(**request)
    if shipped is not ...:
        case["order"]["shipped_at"] = shipped
    if order is not ...:
        case["order"] = order
    return {r.rule: r for r in ev.evaluate(case).results}


def _outcomes(got: dict[str, Any], *rules: str) -> list[str]:
    return [got[r].outcome.value for r in rules]


def _unknown(result: Any, *paths: str, null: tuple[str, ...] | None = None) -> None:
    """Undetermined by a null: ``missing`` names ``paths``, the reason the null ones among them."""
    assert result.outcome.value == "undetermined", (result.rule, result.outcome, result.reason)
    assert result.missing == paths
    assert result.reason == f"undetermined: unknown in the case (null): {', '.join(null or paths)}"
    assert result.error is None


# --- the `when` ------------------------------------------------------------------------------------------
def test_a_when_false_whatever_the_null_is_does_not_apply(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, None)  # refund-only: `false and unknown` is false
    assert got["return-window"].outcome.value == "not_applicable"
    assert got["return-window"].reason == f"does not apply: `{RETURNS} and exists(order.shipped_at)` is false"


def test_a_when_that_depends_on_the_null_is_undetermined_naming_it(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, None, type="return_refund")["return-window"]
    _unknown(got, "order.shipped_at")
    # the explanation shows what the `when` came to, read with the null unknown
    assert {"expr": "exists(order.shipped_at)", "value": "unknown"} in got.explanation
    assert {"expr": f"{RETURNS} and exists(order.shipped_at)", "value": "unknown"} in got.explanation
    _unknown(_verdicts(evaluator, None)["shipped-only"], "order.shipped_at")


def test_without_the_null_the_same_rules_are_judged(evaluator: Evaluator) -> None:
    assert _outcomes(_verdicts(evaluator, type="return_refund"), "return-window", "shipped-only") == \
        ["not_applicable", "not_applicable"]  # absent: not shipped
    assert _outcomes(_verdicts(evaluator, SHIPPED, type="return_refund"), "return-window", "shipped-only") == \
        ["complied", "complied"]  # submitted 03-01, shipped 02-21


# --- the condition ---------------------------------------------------------------------------------------
def test_a_condition_decided_despite_the_null_decides_the_rule(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, None)  # a refund-only request
    assert got["refund-or-shipped"].outcome.value == "complied"  # true or unknown
    assert got["return-and-shipped"].outcome.value == "violated"  # false and unknown
    assert got["return-and-shipped"].message == "M"
    assert got["forbid-refund-or-shipped"].outcome.value == "violated"  # forbidden: true or unknown
    assert got["ship-time-known"].outcome.value == "complied"  # `unknown <= t or true`


def test_a_condition_that_depends_on_the_null_is_undetermined_naming_it(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, None)
    _unknown(got["refund-and-shipped"], "order.shipped_at")  # true and unknown
    _unknown(got["if-shipped"], "order.shipped_at")  # docs/language.md: `if unknown then a else b` is unknown
    got = _verdicts(evaluator, None, type="return_refund")
    _unknown(got["refund-or-shipped"], "order.shipped_at")  # false or unknown
    _unknown(got["forbid-refund-or-shipped"], "order.shipped_at")


def test_missing_names_an_absent_path_beside_the_null_one(evaluator: Evaluator) -> None:
    # no answer recorded (absent: false) or shipped unknown: unknown, from the null alone
    _unknown(_verdicts(evaluator, None)["answered-or-shipped"], "order.shipped_at")
    # an answer recorded: true whatever shipped_at is
    answered = {"at": "2024-03-02T10:00:00+08:00", "action": "agree"}
    assert _verdicts(evaluator, None, merchant_response=answered)["answered-or-shipped"].outcome.value == "complied"
    # both unknown: both named, the reason the null ones
    _unknown(_verdicts(evaluator, None, merchant_response=None)["answered-or-shipped"],
             "request.merchant_response", "order.shipped_at")


def test_an_unknown_from_an_absent_value_is_undetermined_the_ordinary_way(tmp_path: Path) -> None:
    # the rule reads a null (shipped_at) but what leaves it unknown is an absent value (received_at)
    folder = pt.write(tmp_path / "p" / "demo.yaml", pt.policy(pt.rules_text(
        pt.rule("r", "request.submitted_at <= order.received_at + 15d or exists(order.shipped_at) and false")))).parent
    case = pt.after_sale_case()
    case["order"]["shipped_at"] = None
    (got,) = Evaluator(pt.load(folder)).evaluate(case).results
    assert got.outcome.value == "undetermined"
    assert got.missing == ("order.received_at",)
    assert got.reason == "undetermined: missing order.received_at"


# --- exists and default --------------------------------------------------------------------------------
def test_default_of_a_null_is_unknown_and_of_an_absent_value_the_fallback(evaluator: Evaluator) -> None:
    assert _verdicts(evaluator)["promised-days"].outcome.value == "complied"  # absent: 7 >= 7
    order = {**pt.after_sale_case()["order"], "promised_after_sale_days": 3}
    assert _verdicts(evaluator, order=order)["promised-days"].outcome.value == "violated"
    order["promised_after_sale_days"] = None
    got = _verdicts(evaluator, order=order)
    _unknown(got["promised-days"], "order.promised_after_sale_days")
    assert got["promised-or-refund"].outcome.value == "complied"  # unknown or true


@pytest.mark.parametrize(("expr", "case", "absent_case", "expect", "expect_absent"), [
    ("exists(order.shipped_at)", {"order": {"shipped_at": None}}, {"order": {}}, UNKNOWN, False),
    ("not exists(order.shipped_at)", {"order": {"shipped_at": None}}, {"order": {}}, UNKNOWN, True),
    ("default(order.promised_days, 7)", {"order": {"promised_days": None}}, {"order": {}}, UNKNOWN, 7),
    ("default(order.shipped_at, order.received_at)", {"order": {"received_at": None}}, {"order": {}},
     UNKNOWN, UNKNOWN),
    ("exists(order.shipped_at) and false", {"order": {"shipped_at": None}}, {"order": {}}, False, False),
    ("exists(order.shipped_at) or true", {"order": {"shipped_at": None}}, {"order": {}}, True, True),
    ("exists(order.received_at)", {"order": None}, {}, UNKNOWN, False),
    # missing whatever the null is: absent received_at makes the sum missing, so exists is false
    ("exists(order.promised_days + order.rate)", {"order": {"rate": None}}, {"order": {}}, False, False),
    ("exists(order.promised_days + order.rate)", {"order": {"promised_days": 1, "rate": None}},
     {"order": {"promised_days": 1}}, UNKNOWN, False),
    # one item's body missing (no sent_at), another's null-dependent: `any` could be true, so null-dependent
    ("exists(if (any m in messages: m.sent_at > order.received_at) then 1 else 1)",
     {"order": {"received_at": None}, "messages": [{"sender": "buyer"}, {"sent_at": "2024-03-01T10:00:00Z"}]},
     {"order": {}, "messages": [{"sender": "buyer"}, {"sent_at": "2024-03-01T10:00:00Z"}]}, UNKNOWN, False),
])
def test_the_expression_values(expr: str, case: dict[str, Any], absent_case: dict[str, Any], expect: Any,
                               expect_absent: Any) -> None:
    node = compile_expression(expr, case_schema=CONFORMANCE_SCHEMA).node
    value, blame, hidden = interpret_nulls(node, case)
    assert _same(value, expect)
    assert bool(hidden) == (value is UNKNOWN) and set(hidden) <= set(blame)
    # with the null left out, it is absent: the null-aware reading agrees with the plain one
    plain, _, hidden_absent = interpret_nulls(node, absent_case)
    assert _same(plain, expect_absent) and hidden_absent == ()
    assert _same(interpret(node, absent_case), plain)
    if expect is not UNKNOWN:  # known whatever the null is: the plain reading (null as absent) agrees
        assert _same(interpret(node, case), value)


def test_the_trace_names_the_null_leaf_under_a_null_object() -> None:
    node = compile_expression("exists(order.received_at) or order.promised_days > 3",
                              case_schema=CONFORMANCE_SCHEMA).node
    trace = Trace()
    value, blame, hidden = interpret_nulls(node, {"order": None}, trace=trace)
    assert value is UNKNOWN
    assert blame == hidden == ("order.received_at", "order.promised_days")
    assert trace.missing == ["order.received_at", "order.promised_days"]


def _same(a: Any, b: Any) -> bool:
    return a is b if a is UNKNOWN or b is UNKNOWN else bool(a == b and type(a) is type(b))


# --- nulls above and inside ------------------------------------------------------------------------------
def test_a_null_object_above_a_read_path(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, order=None)  # the whole order unknown
    assert got["return-window"].outcome.value == "not_applicable"  # refund-only: false and unknown
    assert got["refund-or-shipped"].outcome.value == "complied"
    _unknown(got["shipped-only"], "order.shipped_at")
    _unknown(_verdicts(evaluator, order=None, type="return_refund")["return-window"], "order.shipped_at")
    got = _verdicts(evaluator, merchant_response=None)
    assert got["answered-or-shipped"].outcome.value == "undetermined"  # not shipped (absent), answer unknown
    assert got["answered-or-shipped"].missing == ("request.merchant_response",)


CHAT_RULES = pt.rules_text(
    pt.rule("all-texts", "all m in messages: exists(m.text)"),
    pt.rule("any-text", "any m in messages: exists(m.text)"),
    pt.rule("first-text", "exists(messages[0].text)"),
    pt.rule("second-message", "exists(messages[1])"),
)


def test_nulls_inside_lists_are_read_as_missing_as_before(tmp_path: Path) -> None:
    # documented (docs/language.md): inside lists a null item or field is a missing value, so exists() of
    # it is false and the rules are judged, not undetermined
    folder = pt.write(tmp_path / "p" / "chat.yaml", pt.policy(CHAT_RULES, **pt.CHAT)).parent
    ev = Evaluator(pt.load(folder))
    case = {"kind": "chat", "case_id": "C1", "store_id": "S1", "messages": [
        {"id": "m1", "sender": "buyer", "sent_at": "2024-03-01T10:00:00+08:00", "attachments": [], "text": None},
        None]}
    got = {r.rule: r.outcome.value for r in ev.evaluate(case).results}
    assert got == {"all-texts": "violated", "any-text": "violated", "first-text": "violated",
                   "second-message": "violated"}


# --- dependencies ----------------------------------------------------------------------------------------
def test_a_rule_that_depends_on_a_rule_a_null_left_undetermined(evaluator: Evaluator) -> None:
    got = _verdicts(evaluator, None)
    assert got["after-refund-and-shipped"].outcome.value == "undetermined"
    assert got["after-refund-and-shipped"].missing == ("order.shipped_at",)
    assert "demo/refund-and-shipped, which is undetermined (missing order.shipped_at)" in \
        got["after-refund-and-shipped"].reason
    # its dependency decided despite the null (violated): the rule does not apply
    assert got["after-return-window"].outcome.value == "not_applicable"


# --- findings detail and the bundled rulebook ----------------------------------------------------------
def test_findings_detail_gives_the_same_verdicts(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("null_kleene_findings")
    pt.write(folder / "demo.yaml", pt.policy(RULES))
    book = pt.load(folder)
    full, fast = Evaluator(book, explain="missing"), Evaluator(book, detail="findings")
    for shipped in (None, SHIPPED, ...):
        for kind in ("refund_only", "return_refund"):
            for answer in ({}, {"merchant_response": None}):  # a null object, the only null when shipped
                case = pt.after_sale_case(type=kind, **answer)
                if shipped is not ...:
                    case["order"]["shipped_at"] = shipped
                assert fast.evaluate(case).to_findings() == full.evaluate(case).to_findings()
    # the verdicts behind them, on the null object alone: judged by it, not read as absent
    case = pt.after_sale_case(merchant_response=None)
    case["order"]["shipped_at"] = SHIPPED
    got = {r.rule: r.outcome.value for r in fast.evaluate(case).results}
    assert "answered-or-shipped" not in got  # complied (shipped): counted, not listed
    case["order"].pop("shipped_at")
    got = {r.rule: r.outcome.value for r in fast.evaluate(case).results}
    assert got["answered-or-shipped"] == "undetermined"  # absent shipping: the unknown answer decides


def test_the_bundled_rulebook_on_a_refund_only_case_with_shipping_unknown() -> None:
    (test,) = [t for t in load_tests(GOLDEN) if t.case["case_id"] == "V2-001"]  # refund-only, shipped, refunded
    case = copy.deepcopy(test.case)
    assert case["request"]["type"] == "refund_only"
    case["order"]["shipped_at"] = None
    got = {f"{r.policy}/{r.rule}": r for r in Evaluator(load_rulebook(), only=["after-sales"]).evaluate(case).results}
    # every return-and-refund rule asks `request.type == "return_refund"` first: not applicable whatever
    # shipped_at is, as the golden case expects with shipping known
    returns = [k for k in got if k.startswith("after-sales/return-")]
    assert "after-sales/return-refund-window" in returns and len(returns) == 7
    for rule in returns:
        expected = test.expect[rule] if isinstance(test.expect[rule], str) else test.expect[rule]["outcome"]
        assert expected == "not_applicable"
        assert got[rule].outcome.value == "not_applicable", (rule, got[rule].reason)
    assert not [k for k, r in got.items() if r.outcome.value == "undetermined" and "return" in k], got


# --- the three-valued reading is sound: a value it calls known is the value for every reading of the nulls
def _nulls(case: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of the explicit nulls outside lists."""
    if type(case) is not dict:
        return []
    out: list[tuple[str, ...]] = []
    for key, value in case.items():
        out += [path + (key,)] if value is None else _nulls(value, path + (key,))
    return out


def _reading(case: dict[str, Any], filler: dict[str, Any], nulls: list[tuple[str, ...]]) -> dict[str, Any]:
    """The case with each null replaced by what ``filler`` has at its path (a value, or nothing: absent)."""
    out = copy.deepcopy(case)
    for path in nulls:
        value: Any = filler
        for key in path:
            value = value.get(key) if type(value) is dict else None
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        if value is None:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(value)
    return out


# a value at every path of tests/test_properties.py's cases that can be null (a reading where none is absent)
FULL: dict[str, Any] = {
    "order": {"id": "O1", "category": "水果", "received_at": "2024-02-28T10:00:00+08:00",
              "confirmed_at": "2024-02-20T09:30:00+08:00", "shipped_at": "2024-02-21T02:00:00Z", "promised_days": 7,
              "paid": "59.90", "rate": Decimal("0.1"), "day": "2024-02-29", "limit": "PT48H", "tags": ["水果"],
              "scores": [3, 5], "shipped": True},
    "messages": [{"sender": "buyer", "text": "加我微信 abc", "sent_at": "2024-03-01T10:00:00+08:00"}],
    "orders": [{"reason": "quality", "amount": "9.90", "at": "2024-03-01T10:00:00+08:00"}],
    "nested": {"a": {"b": {"c": 1}}},
}


# expressions over the fields those cases null: exists, default, Kleene logic, arithmetic, quantifiers
_DATETIMES = ["order.received_at", "order.shipped_at", "order.confirmed_at"]
_INTS = ["order.promised_days", "nested.a.b.c", "len(order.scores)", "default(order.promised_days, 3)"]


@st.composite
def _expressions(draw: Any, t: str = "bool", depth: int = 3) -> str:
    sub = depth - 1
    if t == "datetime":
        choice = draw(st.integers(0, 3 if depth > 0 else 0))
        return [lambda: draw(st.sampled_from(_DATETIMES)),
                lambda: f"default({draw(_expressions('datetime', sub))}, {draw(_expressions('datetime', sub))})",
                lambda: f"({draw(_expressions('datetime', sub))} + days({draw(_expressions('int', sub))}))",
                lambda: f"max({draw(_expressions('datetime', sub))}, {draw(_expressions('datetime', sub))})"][choice]()
    if t == "int":
        choice = draw(st.integers(0, 3 if depth > 0 else 0))
        return [lambda: draw(st.sampled_from(_INTS)),
                lambda: f"default({draw(_expressions('int', sub))}, {draw(_expressions('int', sub))})",
                lambda: f"({draw(_expressions('int', sub))} + {draw(_expressions('int', sub))})",
                lambda: f"(count s{depth} in order.scores: s{depth} > {draw(_expressions('int', sub))})"][choice]()
    choice = draw(st.integers(0, 9 if depth > 0 else 2))
    field = st.sampled_from(["datetime", "int"])
    return [lambda: draw(st.sampled_from(["true", "false", "order.shipped"])),
            lambda: f"exists({draw(_expressions(draw(field), 1))})",
            lambda: f"exists({draw(st.sampled_from(['order', 'nested.a', 'nested.a.b']))})",
            lambda: f"not {draw(_expressions('bool', sub))}",
            lambda: f"({draw(_expressions('bool', sub))} and {draw(_expressions('bool', sub))})",
            lambda: f"({draw(_expressions('bool', sub))} or {draw(_expressions('bool', sub))})",
            lambda: f"({draw(_expressions('datetime', sub))} <= {draw(_expressions('datetime', sub))})",
            lambda: f"({draw(_expressions('int', sub))} > {draw(_expressions('int', sub))})",
            lambda: (f"(if {draw(_expressions('bool', sub))} then {draw(_expressions('bool', sub))} "
                     f"else {draw(_expressions('bool', sub))})"),
            lambda: f"(any s{depth} in order.scores: s{depth} > {draw(_expressions('int', sub))})"][choice]()


@properties.PROPERTY_SETTINGS
@given(st.one_of(properties.typed_expressions().map(lambda typed: typed[0]), _expressions()),
       properties.case_records, st.lists(properties.case_records, max_size=3))
def test_a_known_value_is_the_value_whatever_the_nulls_hide(text: str, case: dict[str, Any],
                                                            fillers: list[dict[str, Any]]) -> None:
    node = compile_expression(text, case_schema=properties.SCHEMA).node
    value, blame, hidden = interpret_nulls(node, case)
    nulls = _nulls(case)
    if not nulls:  # nothing hidden: the plain reading, to the letter
        assert not hidden and _same(value, interpret(node, case)), (text, case)
        return
    if hidden:
        assert value is UNKNOWN and set(hidden) <= set(blame)
        return
    # known (or missing whatever the nulls are): the same with every null absent, and with values put there
    assert _same(value, interpret(node, case)), (text, case)
    for filler in [FULL, *fillers]:
        world = _reading(case, filler, nulls)
        assert _same(value, interpret(node, world)), (text, case, world)

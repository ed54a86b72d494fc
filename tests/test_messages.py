"""Messages and remedies compiled once per rule (run.messages) equal their interpreted forms.

The interpreted forms are ``Template.render`` with ``run.shown._display`` of each condition's value (unknown on a
data error) and ``run.remedies.remedies``. They are compared on every rule of every golden case (whatever the
rule's outcome: a message of a rule that complied shows unknowns and other values too) and on Hypothesis-made
values of every kind a message shows: datetimes in several zones and offsets with and without microseconds,
money, durations, lists, matches, unknowns. Also: ``render``'s exact-type dispatch and its datetime cache
give the text of the isinstance chain, and ``money_shown`` what a remedy wrote before.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from goldencorpus import golden_tests
from goldenrules import rules_in_force
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_eval.lang import ir
from policy_eval.lang.ast import Span
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.types import DURATION, STRING, list_of
from policy_eval.lang.values import (
    SHANGHAI,
    UNKNOWN,
    Money,
    WrittenDuration,
    _render,
    money_shown,
    render,
    render_datetime,
    to_cents,
    to_json,
)
from policy_eval.rulebook.policy import Condition, Remedy, Template
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.messages import compile_message, compile_remedies, message_of, remedies_of
from policy_eval.run.remedies import remedies as interpreted_remedies
from policy_eval.run.shown import _display

TESTS = golden_tests()


def _value(cond: Condition, case: dict[str, Any], env: dict[str, Any]) -> Any:
    try:
        return cond.fn(case, env)
    except DATA_ERRORS:
        return UNKNOWN


def _interpreted_message(template: Template, case: dict[str, Any], env: dict[str, Any]) -> str:
    return template.render(lambda c: _display(_value(c, case, env)))


def test_golden_cases_every_rule() -> None:
    """On every golden case, every rule of the version in force: compiled message and remedies equal the
    interpreted ones (each given a fresh environment, as a let computed by one must not help the other)."""
    checked = violated_like = 0
    for rule, case, ref in rules_in_force((t.params, t.case) for t in TESTS):
        env = {REF_TIME: ref}
        want = _interpreted_message(rule.message, case, dict(env))
        assert message_of(rule)(case, dict(env)) == want, rule.full_id
        want_remedies = interpreted_remedies(rule, lambda c: _value(c, case, env))  # noqa: B023
        assert remedies_of(rule)(case, dict(env)) == want_remedies, rule.full_id
        checked += 1
        violated_like += bool(want_remedies)
    assert checked > 2000 and violated_like > 200  # the corpus reaches messages and remedies of every shape


def _node(type_name: str) -> Any:
    return SimpleNamespace(type=SimpleNamespace(name=type_name))


def _cond(value: Any, type_name: str = "any") -> Condition:
    def fn(case: dict[str, Any], env: dict[str, Any]) -> Any:
        if isinstance(value, Exception):
            raise value
        return value
    return Condition(text="x", node=_node(type_name), fn=fn, line=1, column=1)


ZONES = st.sampled_from([SHANGHAI, ZoneInfo("UTC"), ZoneInfo("America/New_York"), ZoneInfo("Europe/London"),
                         _dt.UTC, _dt.timezone(_dt.timedelta(hours=8)), _dt.timezone(_dt.timedelta(hours=-5, minutes=-30)),
                         _dt.timezone(_dt.timedelta(hours=5, minutes=45)), None])
DATETIMES = st.builds(lambda d, tz, fold: d.replace(tzinfo=tz, fold=fold),
                      st.datetimes(min_value=_dt.datetime(1900, 1, 1), max_value=_dt.datetime(2200, 1, 1)),
                      ZONES, st.integers(0, 1))
DECIMALS = st.one_of(st.decimals(allow_nan=False, allow_infinity=False, places=2),
                     st.decimals(allow_nan=True, allow_infinity=True),
                     st.sampled_from([Decimal("-0.001"), Decimal("0.125"), Decimal("9.995"), Decimal("1E+400"),
                                      Decimal("1E-400"), Decimal("59.90"), Decimal("-0"), Decimal("1E+24"),
                                      Decimal("123456789012345678901234.565"), Decimal("1E+25")]))
MONEY = st.builds(Money, DECIMALS, st.sampled_from(["CNY", "USD"]))
DURATIONS = st.one_of(st.timedeltas(min_value=_dt.timedelta(days=-9999), max_value=_dt.timedelta(days=9999)),
                      st.builds(lambda n: WrittenDuration(n * 3600, f"{n}h"), st.integers(0, 10**6)))
SCALARS = st.one_of(DATETIMES, MONEY, DURATIONS, DECIMALS, st.integers(), st.booleans(), st.none(), st.just(UNKNOWN),
                    st.text(), st.dates(), st.sampled_from(["", 'quote " and \\ and \n and 中文', "\ud800"]))
MATCHES = st.lists(st.fixed_dictionaries({"text": st.text(max_size=5)}), min_size=1, max_size=8)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4), st.tuples(SCALARS, SCALARS), MATCHES,
                   st.dictionaries(st.text(max_size=3), SCALARS, max_size=3),
                   st.just(EvalFailure("boom")), st.just(ArithmeticError("range")))
TYPES = st.sampled_from(["datetime", "string", "money", "duration", "int", "list", "any"])


@settings(max_examples=400)
@given(st.lists(st.one_of(st.text(max_size=6), st.tuples(VALUES, TYPES)), max_size=8))
def test_compiled_message_equals_the_interpreted_one(parts: list[Any]) -> None:
    template = Template([p if isinstance(p, str) else _cond(*p) for p in parts])
    compiled = compile_message(template.parts, "t")
    assert compiled({}, {}) == _interpreted_message(template, {}, {})


@pytest.mark.parametrize(("value", "kind"), [
    (["水果", "生鲜", "汽车"], list_of(STRING)), ("a \"text\"", STRING), ("", STRING),
    (_dt.timedelta(hours=48), DURATION), (WrittenDuration(172800, "48h"), DURATION)])
def test_a_constant_placeholder_is_shown_once_when_compiled(value: Any, kind: Any) -> None:
    """A parameter or literal (ir.Const) is shown when the message is compiled: its condition is not called
    per message, and the text is the one the interpreted form shows."""
    calls = []

    def fn(case: dict[str, Any], env: dict[str, Any]) -> Any:
        calls.append(1)
        return value

    node = ir.Const(kind, Span(1, 1, 1, 6, 0, 5), "goods", value, "goods")
    template = Template(["goods: ", Condition(text="goods", node=node, fn=fn, line=1, column=1), ".", _cond("x")])
    compiled = compile_message(template.parts, "t")
    assert compiled({}, {}) == compiled({}, {}) == _interpreted_message(template, {}, {})
    assert len(calls) == 1  # the interpreted form's call only
    assert compiled({}, {}) == "goods: " + _display(value) + ".x"


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["refund", "notice"]), st.one_of(st.none(), st.just("buyer")),
                          st.one_of(st.none(), st.just("text")), st.one_of(st.none(), st.just("a form")),
                          st.one_of(st.none(), MONEY, VALUES), st.one_of(st.none(), st.booleans(), VALUES),
                          st.one_of(st.none(), DURATIONS, VALUES)), max_size=4))
def test_compiled_remedies_equal_the_interpreted_ones(specs: list[tuple[Any, ...]]) -> None:
    rule = SimpleNamespace(remedies=[
        Remedy(kind=kind, to=to, description=description, form=form,
               amount=None if amount is None else _cond(amount), when=None if when is None else _cond(when),
               duration=None if duration is None else _cond(duration))
        for kind, to, description, form, amount, when, duration in specs])
    got = compile_remedies(rule)({}, {})  # type: ignore[arg-type]
    assert got == interpreted_remedies(rule, lambda c: _value(c, {}, {}))  # type: ignore[arg-type]
    assert [list(e) for e in got] == [list(e) for e in interpreted_remedies(  # the keys in the same order
        rule, lambda c: _value(c, {}, {}))]  # type: ignore[arg-type]


@settings(max_examples=500)
@given(VALUES.filter(lambda v: not isinstance(v, Exception)))
def test_render_dispatch_equals_the_chain(value: Any) -> None:
    assert render(value) == _render(value)
    assert render(value) == _render(value)  # the second time from the datetime cache


@given(DATETIMES, ZONES)
def test_datetime_cache_keeps_equal_instants_apart(value: _dt.datetime, zone: Any) -> None:
    """An equal instant in another offset, or the other fold of an ambiguous local time, has its own text."""
    first = render_datetime(value)
    assert first == value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if value.tzinfo is not None and zone is not None:
        try:
            other = value.astimezone(zone)
        except (OverflowError, ValueError):
            return
        assert render_datetime(other) == other.isoformat(timespec="microseconds" if other.microsecond else "seconds")
    flipped = value.replace(fold=1 - value.fold)
    assert render_datetime(flipped) == flipped.isoformat(
        timespec="microseconds" if flipped.microsecond else "seconds")
    assert render_datetime(value) == first


@pytest.mark.parametrize(("text", "shown"), [
    ("2020-06-05T12:00:00+08:00", "2020-06-05T12:00:00+08:00"),
    ("2020-06-05T04:00:00+00:00", "2020-06-05T04:00:00+00:00"),
    ("2020-06-05T04:00:00.250000-05:30", "2020-06-05T04:00:00.250000-05:30"),
])
def test_equal_instants_in_two_offsets(text: str, shown: str) -> None:
    value = _dt.datetime.fromisoformat(text)
    render(value.astimezone(SHANGHAI))
    render(value.astimezone(_dt.UTC))
    assert render(value) == shown


@settings(max_examples=500)
@given(MONEY)
def test_money_shown_is_what_a_remedy_wrote(value: Money) -> None:
    cents = to_cents(value)
    assert money_shown(value) == (to_json(cents), _display(cents))


CHAT_SCHEMA = {"type": "object", "properties": {
    "case_id": {"type": "string"},
    "opened_at": {"type": "string", "format": "date-time"},
    "messages": {"type": "array", "items": {"type": "object", "properties": {"sender": {"type": "string"}}}}}}


def _real(text: str) -> Condition:
    from policy_eval import expression

    compiled = expression.compile_expression(text, case_schema=CHAT_SCHEMA)
    return Condition(text=text, node=compiled.node, fn=compiled.fn, line=1, column=1)


def test_placeholders_inline_where_they_cannot_spend_and_called_where_they_can() -> None:
    """A placeholder's code is inline in the message function (no call of its own function), except one that
    can spend from the budget (a walk), which is called and so spends as before: under a budget too small for
    it, it is unknown, and the inline ones are shown."""
    from policy_eval.lang.budget import metered

    walk = _real('count m in messages: m.sender == "buyer"')
    parts: list[Any] = ["case ", _real("case_id"), " opened ", _real("opened_at"), ": ", walk, " from the buyer"]
    case = {"case_id": "C1", "opened_at": "2024-03-01T10:00:00+08:00",
            "messages": [{"sender": "buyer"}, {"sender": "merchant"}, {"sender": "buyer"}]}
    calls: list[str] = []

    def counted(cond: Condition) -> Condition:
        fn = cond.fn

        def traced(c: dict[str, Any], v: dict[str, Any]) -> Any:
            calls.append(cond.text)
            return fn(c, v)
        return Condition(text=cond.text, node=cond.node, fn=traced, line=1, column=1)
    message = compile_message([p if isinstance(p, str) else counted(p) for p in parts], "t")
    assert message(case, {}) == "case C1 opened 2024-03-01T10:00:00+08:00: 2 from the buyer"
    assert calls == [walk.text]  # the field reads ran inline
    with metered(1):
        assert message(case, {}) == "case C1 opened 2024-03-01T10:00:00+08:00: unknown from the buyer"
    # a value of the wrong type (no validation here): the inline read raises, the condition's own function
    # decides (a data error: unknown), as it did before
    del calls[:]
    assert message({**case, "opened_at": 5}, {}).startswith("case C1 opened unknown: ")
    assert calls == ["opened_at", walk.text]


def test_a_let_kept_in_the_environment_is_taken_and_one_of_another_case_is_not() -> None:
    """A message or remedy reads a let where its memoised function keeps it (lang.codegen.inline): kept for this
    case and reference time, the value is taken (a planted value shows, which computing it would not give); kept for
    another case or time, or not kept, it is computed, equal to the interpreted form."""
    from policy_eval.lang import ir as ir_
    from policy_eval.lang.compiler import let_key

    planted = reached = 0
    for rule, case, ref in rules_in_force((t.params, t.case) for t in TESTS):
        lets = {id(n.expr): n.expr for n in ir_.walk(*rule.shown_nodes()) if isinstance(n, ir_.LetRef)}
        if not lets:
            continue
        env = {REF_TIME: ref}
        want = _interpreted_message(rule.message, case, dict(env))
        want_remedies = interpreted_remedies(rule, lambda c: _value(c, case, env))  # noqa: B023
        stale = dict(env)
        for target in lets.values():  # kept for another case, and for this case at another time
            stale[let_key(target)] = ({}, ref, "planted")
        assert message_of(rule)(case, dict(stale)) == want, rule.full_id
        assert remedies_of(rule)(case, dict(stale)) == want_remedies, rule.full_id
        other_time = {REF_TIME: ref, **{let_key(t): (case, object(), "planted") for t in lets.values()}}
        assert message_of(rule)(case, other_time) == want, rule.full_id
        reached += 1
        shown_lets = [p.node.expr for p in rule.message.parts if not isinstance(p, str) and type(p.node) is ir_.LetRef]
        if shown_lets:  # (a placeholder that is a let: the value kept for this case and time is what it shows)
            kept = {REF_TIME: ref, **{let_key(t): (case, ref, "PLANTED") for t in shown_lets}}
            planted += "PLANTED" in message_of(rule)(case, kept)
    assert reached > 100
    assert planted > 0  # a kept value is taken, not computed again


ORDER_SCHEMA = {"type": "object", "properties": {
    "order": {"type": "object", "properties": {"id": {"type": "string"}, "paid_at": {"type": "string", "format": "date-time"},
                                               "note": {"type": "string"}}},
    "case_id": {"type": "string"}}}


def _order(text: str) -> Condition:
    from policy_eval import expression

    compiled = expression.compile_expression(text, case_schema=ORDER_SCHEMA)
    return Condition(text=text, node=compiled.node, fn=compiled.fn, line=1, column=1)


class _CountedCase(dict[str, Any]):
    """A case that counts its own ``get`` calls by key (generated code reads a case with ``c.get``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: dict[str, int] = {}

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked[key] = self.asked.get(key, 0) + 1
        return super().get(key, default)


def test_a_record_two_placeholders_read_is_read_once_from_the_case() -> None:
    """lang.codegen.inline reads a record of the case that two reads or more start from once, at the top of the
    function (a let's reads counted too); a record read once is read where it is. The message is the one the
    interpreted placeholders give whether the record is there, missing, null or not a record at all (no
    validation: the read into it raises, and the placeholder's own function decides, as before)."""
    parts: list[Any] = ["order ", _order("order.id"), " paid ", _order("order.paid_at"), " (",
                        _order('if exists(order.note) then order.note else "no note"'), ") case ", _order("case_id")]
    message = compile_message(parts, "t")
    template = Template(parts)
    whole = {"order": {"id": "O-1", "paid_at": "2024-03-01T10:00:00+08:00", "note": "fragile"}, "case_id": "C1"}
    for case in (whole, {**whole, "order": {"id": "O-2"}}, {"case_id": "C1"}, {**whole, "order": None},
                 {**whole, "order": "not a record"}, {}):
        counted = _CountedCase(case)
        assert message(counted, {}) == _interpreted_message(template, case, {}), case
        if isinstance(case.get("order"), dict) or "order" not in case:
            assert counted.asked.get("order") == 1, (case, counted.asked)  # once, though read by five reads
        assert counted.asked.get("case_id") == 1

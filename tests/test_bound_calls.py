"""A call whose arguments after the first are constants is bound once (lang.functions.Function.bind), and the
generated code looks the first argument up in the bound call's answers before it calls.

``in_category(order.category, special_goods)`` is such a call: the after-sales rules make five a record, each with a
parameter list. Bound when the policy is checked, its entries are split once and its answers are read by the
generated code (a dict's ``get``) instead of a Python call that found the list's entries by its identity.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_in_category import ENTRIES, PATHS, _plain

from policy_eval import expression as lang
from policy_eval.lang import ir
from policy_eval.lang.ast import Span
from policy_eval.lang.functions import Function, FunctionRegistry
from policy_eval.lang.interpreter import interpret
from policy_eval.lang.types import BOOL, STRING, list_of
from policy_eval.plugins.core import in_category

ORDER = {"type": "object", "properties": {"order": {"type": "object", "properties": {
    "category": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
    "paid": {"type": "integer"}}}}}


def _call(node: ir.IR) -> ir.Call:
    found = [n for n in ir.walk(node) if isinstance(n, ir.Call)]
    assert len(found) == 1
    return found[0]


def _compiled(text: str, params: dict[str, str] | None = None, functions: FunctionRegistry | None = None) -> Any:
    prog = lang.compile_expression(text, case_schema=ORDER, params=params, functions=functions)
    prog.evaluate({})  # (the code is generated on the first call)
    assert prog.fn.__code__.co_filename.startswith("<policy-eval: '"), "fell back to the closures"
    return prog


def _case(category: str | None, paid: int | None = None) -> dict[str, Any]:
    order: dict[str, Any] = {} if category is None else {"category": category}
    if paid is not None:
        order["paid"] = paid
    return {"order": order}


def _counting_registry(calls: list[str]) -> FunctionRegistry:
    """A registry of one bindable function, ``starts(text, prefixes)``, whose bound form counts its calls."""

    def starts(text: str, prefixes: Sequence[str]) -> bool:
        return text.startswith(tuple(prefixes))

    def bind(prefixes: Sequence[str]) -> tuple[Any, dict[str, bool]]:
        answers: dict[str, bool] = {}
        wanted = tuple(prefixes)

        def bound(text: str, _prefixes: Sequence[str]) -> bool:
            calls.append(text)
            answers[text] = found = text.startswith(wanted)
            return found

        return bound, answers

    return FunctionRegistry([Function("starts", (STRING, list_of(STRING)), BOOL, starts, bind=bind)])


def test_a_call_on_a_parameter_list_is_bound_and_one_on_case_data_is_not() -> None:
    params = {"goods": '["水果", "汽车>新能源整车"]', "more": '["生鲜"]'}
    bound = _call(_compiled("in_category(order.category, goods)", params).node)
    assert bound.fn is not in_category and bound.answers == {}
    joined = _call(_compiled("in_category(order.category, goods + more)", params).node)  # (constants joined)
    assert joined.answers is not None and joined.answers is not bound.answers
    from_case = _call(_compiled("in_category(order.category, order.tags)", params).node)
    assert from_case.answers is None
    first_constant = _call(_compiled('in_category("水果", order.tags)', params).node)
    assert first_constant.answers is None


def test_the_generated_code_reads_the_answers_before_it_calls() -> None:
    """Two-valued code (the category known) and three-valued code (``order.paid`` missing, so the two-valued
    code gives up and the three-valued code decides): the bound function is called once a distinct text, not
    once a case. Without the look-up in the generated code every case calls it."""
    calls: list[str] = []
    registry = _counting_registry(calls)
    prog = _compiled('starts(order.category, ["汽车", "水果"]) and order.paid >= 0', functions=registry)
    call = _call(prog.node)
    for _ in range(3):
        assert prog.evaluate(_case("汽车>新能源整车", paid=1)) is True  # two-valued
        assert prog.evaluate(_case("家居", paid=1)) is False
        assert prog.evaluate(_case("水果生鲜", paid=None)) is lang.UNKNOWN  # three-valued: paid is unknown
        assert prog.evaluate(_case("家居", paid=None)) is False
        assert prog.evaluate(_case(None, paid=1)) is lang.UNKNOWN  # (unknown first argument: not called)
    assert sorted(calls) == sorted(["汽车>新能源整车", "家居", "水果生鲜"])
    assert call.answers == {"汽车>新能源整车": True, "家居": False, "水果生鲜": True}


def test_an_answer_the_call_does_not_keep_is_computed_each_time() -> None:
    """A bound function may leave a first argument out of its answers (in_category: a long path); the generated
    code then calls it every time, and gets the same answer as the interpreter."""
    goods = {"goods": '["汽车>新能源整车"]'}
    prog = _compiled("in_category(order.category, goods)", goods)
    long_path = ">".join(["汽车", "新能源整车", *(["x"] * 100)])
    for _ in range(2):
        assert prog.evaluate(_case(long_path)) is True
        assert prog.evaluate(_case("汽车用品>坐垫")) is False
    assert _call(prog.node).answers == {"汽车用品>坐垫": False}


@settings(max_examples=300, deadline=None)
@given(ENTRIES, st.lists(PATHS, min_size=1, max_size=6))
def test_a_bound_call_answers_as_the_plain_form(entries: list[str], paths: list[str]) -> None:
    prog = _compiled("in_category(order.category, goods)", {"goods": json.dumps(entries, ensure_ascii=False)})
    for path in paths + paths:  # (each path twice: the second from the answers)
        case = _case(path)
        assert prog.evaluate(case) is _plain(path, entries)
        assert interpret(prog.node, case) is _plain(path, entries)


def test_a_constant_the_binding_refuses_is_a_located_error() -> None:
    """``bind`` raising ValueError (a constant the function cannot take) is the call's error, at its place, as
    ``check_constant``'s is: not an exception out of loading."""

    def bind(prefixes: Sequence[str]) -> tuple[Any, None]:
        if not prefixes:
            raise ValueError("starts() needs at least one prefix")
        return (lambda text, _prefixes: text.startswith(tuple(prefixes))), None

    registry = FunctionRegistry([Function("starts", (STRING, list_of(STRING)), BOOL, lambda t, p: False, bind=bind)])
    try:
        lang.compile_expression("order.paid > 0 and starts(order.category, [])", case_schema=ORDER,
                                functions=registry)
    except lang.PolicyError as exc:
        assert "at least one prefix" in str(exc) and exc.line == 1 and exc.column == 20, (str(exc), exc.column)
    else:
        raise AssertionError("no error")
    assert _compiled('starts(order.category, ["a"])', functions=registry).evaluate(_case("ab")) is True


def _checked(text: str, params: dict[str, ir.IR], functions: FunctionRegistry | None = None) -> ir.IR:
    from policy_eval.expression import default_functions
    from policy_eval.lang.checker import Scope, check
    from policy_eval.lang.parser import parse
    from policy_eval.lang.types import schema_to_type

    return check(parse(text), Scope(schema_to_type(ORDER), functions or default_functions(), params), text)


def test_a_parameter_without_a_value_leaves_the_call_unbound() -> None:
    """A parameter declared without a value (the platform's to set) is unknown: ``bind`` is not given it (the
    fifty-fourth session's checker gave it, and in_category's ``bind`` raised TypeError out of loading: found by
    tests/test_fuzz.py at ten times its budget). The call runs as written: unknown."""
    goods = ir.Const(list_of(STRING), Span(1, 1, 1, 6, 0, 5), "goods", lang.UNKNOWN, name="goods")
    node = _checked("in_category(order.category, goods)", {"goods": goods})
    assert _call(node).answers is None and _call(node).fn is in_category
    assert interpret(node, _case("水果")) is lang.UNKNOWN


def test_a_constant_list_holding_a_null_leaves_the_call_unbound() -> None:
    """A constant list holding a null is not given to ``bind`` either (in_category's split of its entries raised
    AttributeError out of loading); the call is made as it was before calls were bound. (A policy cannot write one
    now: a null item is a load error, tests/test_null_items.py; this is the checker's own guard.)"""
    goods = ir.Const(list_of(STRING), Span(1, 1, 1, 6, 0, 5), "goods", ["水果", None], name="goods")
    node = _checked("in_category(order.category, goods)", {"goods": goods})
    assert _call(node).answers is None and _call(node).fn is in_category


def test_a_binding_that_fails_otherwise_leaves_the_call_unbound() -> None:
    """A plugin's ``bind`` raising anything but ValueError (its bug, or a constant it did not foresee) costs the
    saving, not the load: the call stays unbound and answers as the plain function does."""

    def bind(prefixes: Sequence[str]) -> tuple[Any, None]:
        raise TypeError("not foreseen")

    def starts(text: str, prefixes: Sequence[str]) -> bool:
        return text.startswith(tuple(prefixes))

    registry = FunctionRegistry([Function("starts", (STRING, list_of(STRING)), BOOL, starts, bind=bind)])
    prog = _compiled('starts(order.category, ["a"])', functions=registry)
    assert _call(prog.node).answers is None
    assert prog.evaluate(_case("ab")) is True and prog.evaluate(_case("ba")) is False

"""``/`` on values of unknown type divides in the engine's own decimal context, never the thread's.

A field the case schema leaves untyped (or a case without a schema) has no type at load time, so its ``/`` was
Python's ``operator.truediv``: on decimals it rounded in ``decimal.getcontext()``, the host program's to change
(a thread context of 3 digits made ``1 / 3`` ``0.333``), and two ints gave a binary float. It now divides as a
typed ``/`` does (docs/language.md: a decimal rounded half-even to 28 significant digits, lang.decimals), in
every path that evaluates a condition: the generated code (two- and three-valued), the closures and the
interpreter.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from policy_eval.expression import compile_expression
from policy_eval.lang.compiler import REF_TIME, compile_ir
from policy_eval.lang.values import UNKNOWN

THIRD = Decimal("0.3333333333333333333333333333")  # 1 / 3 to 28 significant digits
UNTYPED = {"type": "object", "properties": {"a": {}, "b": {}}}  # a schema that leaves both fields untyped


def _paths(text: str, schema: dict[str, Any] | None) -> dict[str, Callable[[dict[str, Any]], Any]]:
    fn = compile_expression(text, case_schema=schema)
    assert fn.type.name in ("any", "bool"), fn.type  # (the division's operands have no type)
    slow = compile_ir(fn.node)
    return {"generated": fn.evaluate, "interpreter": fn.interpret,
            "closures": lambda case: slow(dict(case), {REF_TIME: UNKNOWN})}


@pytest.mark.parametrize("schema", [None, UNTYPED], ids=["no schema", "untyped fields"])
@pytest.mark.parametrize("path", ["generated", "interpreter", "closures"])
def test_untyped_division_ignores_the_threads_decimal_context(schema: dict[str, Any] | None, path: str) -> None:
    value = _paths("a / b", schema)[path]
    condition = _paths(f"a / b == {THIRD}", schema)[path]
    with decimal.localcontext(prec=3):
        assert value({"a": Decimal(1), "b": Decimal(3)}) == THIRD
        assert value({"a": Decimal(1), "b": 3}) == THIRD
        assert value({"a": 1, "b": 3}) == THIRD  # two ints: a decimal, as a typed int / int, not a float
        assert type(value({"a": 1, "b": 3})) is Decimal
        assert condition({"a": Decimal(1), "b": Decimal(3)}) is True
        assert str(value({"a": Decimal("1.50"), "b": 1})) == "1.5"  # trailing zeros dropped, as typed
        assert value({"a": Decimal(1), "b": 0}) is UNKNOWN  # division by zero: unknown, as before
    assert decimal.getcontext().prec == 28


def test_untyped_division_gives_what_typed_division_gives() -> None:
    typed = compile_expression("a / b", case_schema={"type": "object", "properties": {
        "a": {"type": "number"}, "b": {"type": "number"}}})
    untyped = compile_expression("a / b")
    for a, b in [(Decimal(10), Decimal(3)), (Decimal("2.50"), 5), (7, 2), (Decimal("1E+20"), Decimal("7"))]:
        with decimal.localcontext(prec=5, rounding=decimal.ROUND_DOWN):
            assert untyped.evaluate({"a": a, "b": b}) == typed.evaluate({"a": a, "b": b}), (a, b)
            assert untyped.interpret({"a": a, "b": b}) == typed.interpret({"a": a, "b": b}), (a, b)


def test_untyped_division_of_a_non_number_is_still_refused() -> None:
    """A string is no number: the operator fails on the case as Python's ``/`` did (the interpreter names it)."""
    from policy_eval.lang.ops import EvalFailure

    fn = compile_expression("a / b")
    with pytest.raises(EvalFailure, match="unsupported operand"):
        fn.interpret({"a": Decimal(1), "b": "3"})

"""Values of type ``any`` checked where the language needs a type: a data error, not Python's own behaviour.

A value has type ``any`` where the case schema does not type it (a field written ``{}``, an untyped list's items)
and everywhere a condition is compiled without a schema (``policy_eval.expression.compile_expression``). The checker
lets such a value stand where any type is due; at run time it may be any JSON value. Without a check, a value of
the wrong type reached Python code that assumed the declared one: ``lower(p)`` on a list, ``date_of(p)`` on a text
ended the record as an internal error; ``p or true`` on ``{}`` answered with Python's truthiness; ``p > 1`` took
``true`` for the number 1, and ``p == 1`` was true for it.

Here, :func:`cast` wraps an ``any``-typed expression that stands where a type is due (a function's declared
argument, the operand of ``and``, ``or``, ``not``, the condition of ``if``, a quantifier's test, a rule's
condition) in a call that lets a value of that type through and makes any other a data error naming the
expression, the place and what it got; an unknown value stays unknown (the call is strict). :func:`any_op` gives
the operators between two ``any`` values JSON's reading of booleans: ``true`` is neither ``1`` nor a number, so
``true == 1`` is false and ``true + 1``, ``true < 2`` are data errors (as they are between typed values, which
the checker refuses).
"""

from __future__ import annotations

import datetime as _dt
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policy_eval.errors import shown_repr
from policy_eval.lang import decimals, ir
from policy_eval.lang.ops import EvalFailure, any_div, any_mul
from policy_eval.lang.types import ANY, BOOL, DECIMAL, Type
from policy_eval.lang.values import Money

__all__ = ["TEXT_OR_LIST", "cast", "operand_type", "any_op", "any_neg", "no_bool", "json_equal"]

_NUMBERS = (int, Decimal, float)  # (a float only from an embedder's dict: JSON numbers are read as int or Decimal)
_SCALAR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "bool": lambda v: type(v) is bool,
    "int": lambda v: type(v) is int,
    "decimal": lambda v: type(v) in _NUMBERS,
    "string": lambda v: type(v) is str,
    "datetime": lambda v: isinstance(v, _dt.datetime) and v.tzinfo is not None,
    "date": lambda v: type(v) is _dt.date,
    "duration": lambda v: isinstance(v, _dt.timedelta),
    "money": lambda v: isinstance(v, Money),
    "record": lambda v: type(v) is dict,
    "string or list": lambda v: type(v) is str or type(v) is list,
}
TEXT_OR_LIST = Type("string or list")  # (what len() takes: a check of type any's values only, never a value's type)
_JSON_NAMES = {bool: "a boolean", int: "a number", Decimal: "a number", float: "a number", str: "a text",
               list: "a list", dict: "an object"}


def _conforms(value: Any, expected: Type) -> bool:
    if expected.name == "list":
        if type(value) is not list:
            return False
        item = expected.item
        check = _SCALAR_CHECKS.get(item.name) if item is not None else None
        return check is None or all(check(v) for v in value)  # (items of a scalar type: as the function reads them)
    check = _SCALAR_CHECKS.get(expected.name)
    return check is None or check(value)


def _got(value: Any) -> str:
    kind = _JSON_NAMES.get(type(value), type(value).__name__)
    text = shown_repr(value, 41)  # (an embedder's integer too long to write is named, not a ValueError)
    return f"{kind} ({text[:40]}{'…' if len(text) > 40 else ''})"


def _checker(text: str, expected: Type, where: str) -> Callable[[Any], Any]:
    def checked(value: Any) -> Any:
        if _conforms(value, expected):
            return value
        raise EvalFailure(f"{text}: {where} must be {expected}, got {_got(value)}", text)
    return checked


def cast(node: ir.IR, expected: Type, where: str) -> ir.IR:
    """``node``, checked at run time against ``expected`` when its own type is ``any`` (see the module); any other
    node, or ``expected`` ``any``, as it is. ``where`` names the place in the error: ``"argument 1 of lower()"``."""
    if node.type.name != "any" or expected.name == "any":
        return node
    return ir.Call(expected, node.span, node.text, f"({expected})", _checker(node.text, expected, where), (node,),
                   True)


def operand_type(t: Type) -> Type:
    """What a side of type ``any`` of an operator is checked against when the other side's type is ``t``: a number
    for a number (an int and a decimal mix, as the other side's operator takes them), else ``t`` itself."""
    return DECIMAL if t.name in ("int", "decimal") else t


def json_equal(a: Any, b: Any) -> bool:
    """``==`` as JSON reads values: a boolean equals only a boolean (Python's ``True == 1`` is true), in lists and
    objects too; other values as Python compares them (``1 == 1.0``, a decimal and an int)."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta is list and tb is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict and tb is dict:
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return bool(a == b)


def no_bool(fn: Callable[[Any, Any], Any], symbol: str) -> Callable[[Any, Any], Any]:
    """``fn``, an operator between values of type ``any``, refusing a boolean (a data error where it is called)."""
    def op(a: Any, b: Any) -> Any:
        if type(a) is bool or type(b) is bool:
            raise TypeError(f"'{symbol}' does not take a boolean ({_got(a if type(a) is bool else b)})")
        return fn(a, b)
    return op


def any_neg(a: Any) -> Any:
    """``-x`` of a value of type ``any``: a number, not a boolean."""
    if type(a) is bool:
        raise TypeError(f"'-' does not take a boolean ({_got(a)})")
    return decimals.neg(a)


def _contains(a: Any, b: Any) -> bool:
    if type(b) is list:
        return any(json_equal(a, x) for x in b)
    return bool(a in b)


def any_op(op: str) -> tuple[Type, Any]:
    """The result type and the function of operator ``op`` between values of type ``any`` (see the module)."""
    table: dict[str, tuple[Type, Any]] = {
        "+": (ANY, no_bool(decimals.plus, "+")), "-": (ANY, no_bool(decimals.minus, "-")),
        "*": (ANY, no_bool(any_mul, "*")), "/": (ANY, no_bool(any_div, "/")),
        "==": (BOOL, json_equal), "!=": (BOOL, lambda a, b: not json_equal(a, b)),
        "<": (BOOL, no_bool(operator.lt, "<")), "<=": (BOOL, no_bool(operator.le, "<=")),
        ">": (BOOL, no_bool(operator.gt, ">")), ">=": (BOOL, no_bool(operator.ge, ">=")),
        "in": (BOOL, _contains), "notin": (BOOL, lambda a, b: not _contains(a, b)),
    }
    return table[op]

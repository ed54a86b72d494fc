"""Operator typing and exact runtime implementations.

:func:`binary` maps (operator, left type, right type) to a result type and a
Python callable, or None when the combination is ill-typed. The table is the
single source of the arithmetic rules in docs/language.md.
"""

from __future__ import annotations

import datetime as _dt
import operator
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, DecimalException
from typing import Any, NoReturn

from policy_eval.lang import decimals
from policy_eval.lang.types import (
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INT,
    MONEY,
    STRING,
    Type,
    is_number,
    is_ordered,
    unify,
)
from policy_eval.lang.values import Money, render

__all__ = ["binary", "negate", "EvalFailure", "int_mul", "any_mul", "any_div", "int_too_large", "MAX_INT_DIGITS",
           "MAX_INT_BITS"]


class EvalFailure(Exception):
    """A runtime failure on one case (bad data, currency mismatch): reported on that case."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def _us(td: _dt.timedelta) -> int:
    return (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds


# the most microseconds a duration holds (timedelta's 999,999,999 days), with room: a larger number is refused
# before it is made an integer, which for a decimal such as 1E+917519 is one C call of half a minute
MAX_DURATION_US = Decimal(10) ** 21


_DURATION_RANGE = "duration out of range (more than 999,999,999 days)"


def _td(us: Decimal | int) -> _dt.timedelta:
    exact = Decimal(us)
    if not -MAX_DURATION_US <= exact <= MAX_DURATION_US:
        raise OverflowError(_DURATION_RANGE)
    try:
        return _dt.timedelta(microseconds=int(exact.to_integral_value(ROUND_HALF_EVEN)))
    except (OverflowError, DecimalException):  # (Python's words: "days=...; must have magnitude <= 999999999")
        raise OverflowError(_DURATION_RANGE) from None


def _num_div(a: Any, b: Any) -> Decimal:
    return _normal(decimals.div(Decimal(a), Decimal(b)))


MAX_INT_DIGITS = 4300  # Python's own limit for printing an int; a product past it is out of range
MAX_INT_BITS = int(MAX_INT_DIGITS * 3.3219280948873626)


def int_mul(a: Any, b: Any) -> Any:
    """``*`` whose result stays printable: squaring a let over and over would double its size each time.
    (Generated code multiplies two ints inline and tests the bound itself: lang.threevalued.int_product.)"""
    r = a * b
    if type(r) is int and r.bit_length() > MAX_INT_BITS:
        int_too_large(r)
    return r


def any_mul(a: Any, b: Any) -> Any:
    """``*`` of values of unknown type (a case without a schema): money and decimals exact, ints bounded."""
    if isinstance(a, Money) or isinstance(b, Money):
        return _money_mul(a, b) if isinstance(a, Money) else _money_mul(b, a)
    if type(a) is Decimal or type(b) is Decimal:
        return decimals.mul(a, b)
    return int_mul(a, b)


_NUMBERS = frozenset({int, bool, Decimal})  # (what Python's ``/`` divides as numbers; a bool is an int)


def any_div(a: Any, b: Any) -> Any:
    """``/`` of values of unknown type (a case without a schema): two numbers divide as typed ones do (to 28 digits
    in the engine's own context, never the thread's; two ints give a decimal, not a binary float); the rest by
    Python's ``/`` (which refuses a decimal beside anything but a number before any context is read)."""
    if type(a) in _NUMBERS and type(b) in _NUMBERS:
        return _normal(decimals.div(a, b))
    return a / b


def int_too_large(r: int) -> NoReturn:
    """What a product of two ints past :data:`MAX_INT_BITS` raises."""
    raise OverflowError(f"integer result over {MAX_INT_DIGITS:,} digits")


def _normal(d: Decimal) -> Decimal:
    """Division results drop trailing zeros (1.50 / 1 is 1.5); rendering never uses exponents."""
    return decimals.normal(d)


def _dur_mul(a: _dt.timedelta, n: Any) -> _dt.timedelta:
    if isinstance(n, int):
        try:
            return a * n
        except OverflowError:  # (Python's words: "Python int too large to convert to C int")
            raise OverflowError(_DURATION_RANGE) from None
    return _td(decimals.scale(_us(a), n))


def _dur_div(a: _dt.timedelta, n: Any) -> _dt.timedelta:
    if n == 0:
        raise ZeroDivisionError
    return _td(decimals.div(Decimal(_us(a)), Decimal(n)))


def _dur_ratio(a: _dt.timedelta, b: _dt.timedelta) -> Decimal:
    return _normal(decimals.div(Decimal(_us(a)), Decimal(_us(b))))


def _money_mul(a: Money, n: Any) -> Money:
    return Money(decimals.mul(a.amount, n), a.currency)


def _money_div(a: Money, n: Any) -> Money:
    return Money(decimals.div(a.amount, Decimal(n)), a.currency)


def _money_ratio(a: Money, b: Money) -> Decimal:
    if a.currency != b.currency:
        raise EvalFailure(f"currency mismatch: {a.currency} vs {b.currency}")
    return _normal(decimals.div(a.amount, b.amount))


def _whole_days(td: _dt.timedelta) -> int:
    if td.seconds or td.microseconds:
        raise EvalFailure(f"date arithmetic needs whole days, got {render(td)}; for hours, start from a datetime "
                          "(start_of_day(d) + 12h)")
    return td.days


def _date_add(d: _dt.date, td: _dt.timedelta) -> _dt.date:
    return d + _dt.timedelta(days=_whole_days(td))


def _date_sub(d: _dt.date, td: _dt.timedelta) -> _dt.date:
    return d - _dt.timedelta(days=_whole_days(td))


def _money_checked(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def run(a: Any, b: Any) -> Any:
        try:
            return fn(a, b)
        except ArithmeticError as exc:
            if isinstance(exc, (ZeroDivisionError, OverflowError)):  # (an inexact sum: named where it is)
                raise
            raise EvalFailure(str(exc)) from None
    return run


_ARITH: dict[tuple[str, str, str], tuple[Type, Callable[[Any, Any], Any]]] = {
    ("+", "datetime", "duration"): (DATETIME, operator.add),
    ("-", "datetime", "duration"): (DATETIME, operator.sub),
    ("+", "duration", "datetime"): (DATETIME, operator.add),
    ("-", "datetime", "datetime"): (DURATION, operator.sub),
    ("+", "date", "duration"): (DATE, _date_add),
    ("-", "date", "duration"): (DATE, _date_sub),
    ("-", "date", "date"): (DURATION, operator.sub),
    ("+", "duration", "duration"): (DURATION, operator.add),
    ("-", "duration", "duration"): (DURATION, operator.sub),
    ("/", "duration", "duration"): (DECIMAL, _dur_ratio),
    ("+", "money", "money"): (MONEY, _money_checked(operator.add)),
    ("-", "money", "money"): (MONEY, _money_checked(operator.sub)),
    ("/", "money", "money"): (DECIMAL, _money_ratio),
    ("+", "string", "string"): (STRING, operator.add),
}


_ORDER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _compare_hint(lt: Type, rt: Type) -> str:
    """What a datetime or a duration compared with a number probably meant."""
    names = {lt.name, rt.name}
    if names & {"int", "decimal"} and "datetime" in names:
        return ("; a datetime compares with a datetime: write a deadline as a time plus a duration, e.g. "
                "request.merchant_response.at <= request.submitted_at + 48h")
    if names & {"int", "decimal"} and "duration" in names:
        return "; a duration compares with a duration: give the number its unit (48h, 7d, 30m) or use days(n)"
    return _mixed_hint(names)


def _mixed_hint(names: set[str]) -> str:
    """What money beside a number, a date or time beside a string, a datetime beside a date probably meant."""
    if names & {"int", "decimal"} and "money" in names:
        return ("; money goes with money: give the number its currency (e.g. 0.00 CNY), or take the number out "
                "of the money with amount(...)")
    if "string" in names and names & {"datetime", "date"}:
        return ("; a date or time is written without quotes: 2024-01-01T00:00:00 (a datetime, Asia/Shanghai) or "
                "2024-01-01 (a date)")
    if names == {"datetime", "date"}:
        return "; date_of(t) gives a datetime's day (Asia/Shanghai), start_of_day(d) a date's first instant"
    if names == {"string", "money"}:
        return "; money is written without quotes, with its currency: 100.00 CNY"
    if names == {"string", "duration"}:
        return "; a duration is written without quotes, with its unit: 48h, 15d"
    return ""


def binary(op: str, lt: Type, rt: Type) -> tuple[Type, Callable[[Any, Any], Any]] | str:
    """Result type and implementation of ``lt op rt``, or an error message."""
    if op in ("+", "-", "*", "/"):
        return _arith(op, lt, rt)
    if op in ("==", "!="):
        if unify(lt, rt) is None or lt.name == "null" or rt.name == "null":
            if lt.name == "null" or rt.name == "null":
                return "cannot compare with null; use exists(...) to test for a missing value"
            return f"cannot compare {lt} with {rt}" + _mixed_hint({lt.name, rt.name})
        fn = operator.eq if op == "==" else operator.ne
        if lt.name == "money":
            fn = _money_checked(fn)
        return BOOL, fn
    if op in ("<", "<=", ">", ">="):
        if lt.name == "null" or rt.name == "null":
            return "cannot order a value against null; use exists(...) to test for a missing value"
        common = unify(lt, rt)
        if common is None or not is_ordered(common):
            if common is None:
                return f"cannot compare {lt} with {rt}" + _compare_hint(lt, rt)
            return f"values of type {common} have no order"
        fn = _ORDER_OPS[op]
        if common.name == "money":
            fn = _money_checked(fn)
        return BOOL, fn
    if op in ("in", "notin"):
        if lt.name == "null":
            return "cannot look for null in a list; use exists(...) to test for a missing value"
        if rt.name != "list" or rt.item is None:
            return f"'in' needs a list on the right, got {rt}"
        if unify(lt, rt.item) is None:
            return f"cannot look for {lt} in {rt}"
        if op == "in":
            return BOOL, lambda a, b: a in b
        return BOOL, lambda a, b: a not in b
    return f"unknown operator {op}"


def _arith(op: str, lt: Type, rt: Type) -> tuple[Type, Callable[[Any, Any], Any]] | str:
    key = (op, lt.name, rt.name)
    if key in _ARITH:
        return _ARITH[key]
    if op == "+" and lt.name == "list" and rt.name == "list":
        common = unify(lt, rt)
        if common is not None:
            return common, operator.add  # (the checker puts the budget's charging concatenation in its place)
    if is_number(lt) and is_number(rt):
        if op == "/":
            return DECIMAL, _num_div
        if lt == INT and rt == INT:
            return INT, {"+": operator.add, "-": operator.sub, "*": int_mul}[op]
        return DECIMAL, {"+": decimals.add, "-": decimals.sub, "*": decimals.mul}[op]  # exact or refused
    if op == "*" and lt == DURATION and is_number(rt):
        return DURATION, _dur_mul
    if op == "*" and is_number(lt) and rt == DURATION:
        return DURATION, lambda a, b: _dur_mul(b, a)
    if op == "/" and lt == DURATION and is_number(rt):
        return DURATION, _dur_div
    if op == "*" and lt == MONEY and is_number(rt):
        return MONEY, _money_mul
    if op == "*" and is_number(lt) and rt == MONEY:
        return MONEY, lambda a, b: _money_mul(b, a)
    if op == "/" and lt == MONEY and is_number(rt):
        return MONEY, _money_div
    verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[op]
    joiner = {"+": "to", "-": "from", "*": "by", "/": "by"}[op]
    money = _mixed_hint({lt.name, rt.name}) if op in "+-" and "money" in (lt.name, rt.name) else ""
    if op == "-":
        return f"cannot subtract {rt} from {lt}{money}"
    if op == "+":
        if lt.name in ("datetime", "date") and is_number(rt):
            return f"cannot add {rt} to {lt}; make the number a duration with days(n) or hours(n)"
        return f"cannot add {rt} to {lt}{money}"
    return f"cannot {verb} {lt} {joiner} {rt}"


def negate(t: Type) -> Callable[[Any], Any] | None:
    if t == DECIMAL:
        return decimals.neg  # (Python's ``-`` rounds a decimal to 28 digits)
    if is_number(t) or t in (DURATION, MONEY):
        return operator.neg
    return None



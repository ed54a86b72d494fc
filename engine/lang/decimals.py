"""Exact decimal arithmetic: a sum, difference or product of decimals (money amounts included) is exact or refused.

Input: ``Decimal`` and ``int`` operands from the operators, ``sum``, money and ``round``. Output: their exact
result, or a :class:`DecimalRefused` (an ``OverflowError``, so every evaluation path reports it as a failure of
that expression on that case, the expression named) in plain words. Python's default decimal context rounds to
28 significant digits without a word (``10**30 + 1.0 == 10**30`` was true), and the thread's context is the host
program's to change: every operation here names its own context instead.

``+``, ``-`` and ``*`` keep up to :data:`DIGITS` significant digits and refuse a result that would need more
(``Inexact`` trapped); ``/`` is exact to 28 significant digits, as docs/language.md says (1 / 3 has no exact
decimal), and refuses only a result out of range. ``round`` rounds half up, as asked. Nothing here reads or
sets the thread's decimal context.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Underflow,
)
from typing import Any

__all__ = ["DIGITS", "DecimalRefused", "add", "sub", "mul", "div", "scale", "normal", "neg", "absolute", "plus",
           "minus", "round_half_up", "refused"]

DIGITS = 100  # significant digits of an exact sum, difference or product; far beyond any amount of money
_EMAX = 999_999  # the exponent range of Python's default context, which case numbers are read within
_EXACT = Context(prec=DIGITS, rounding=ROUND_HALF_EVEN, Emax=_EMAX, Emin=-_EMAX,
                 traps=[Inexact, Overflow, Underflow, InvalidOperation, DivisionByZero])
# division: 28 digits rounded (1 / 3), out of range refused; 0 / 0 (InvalidOperation) and x / 0 (DivisionByZero)
# raised as they are, which the evaluators make unknown
_ROUNDED = Context(prec=28, rounding=ROUND_HALF_EVEN, Emax=_EMAX, Emin=-_EMAX,
                  traps=[Overflow, InvalidOperation, DivisionByZero])
_ROUND = Context(prec=DIGITS, rounding=ROUND_HALF_UP, Emax=_EMAX, Emin=-_EMAX, traps=[Overflow, InvalidOperation])


class DecimalRefused(OverflowError):
    """A decimal result that cannot be given exactly (too many digits) or at all (out of range)."""


def refused(exc: DecimalException) -> DecimalRefused:
    """The plain words for a decimal signal (the class names in ``str(exc)`` mean nothing to a policy's reader)."""
    if isinstance(exc, Overflow):
        return DecimalRefused(f"the result is too large for a decimal (an exponent over {_EMAX:,})")
    if isinstance(exc, Underflow):
        return DecimalRefused(f"the result is too small for a decimal (an exponent under -{_EMAX:,})")
    if isinstance(exc, Inexact):
        return DecimalRefused(f"the exact result needs more than {DIGITS} significant digits, so it is not "
                              "computed (decimal and money arithmetic is exact or refused)")
    return DecimalRefused(f"the result cannot be given within {DIGITS} significant digits")


_ADD, _SUB, _MUL = _EXACT.add, _EXACT.subtract, _EXACT.multiply  # (bound once: money sums are on the hot path)


def add(a: Any, b: Any) -> Decimal:
    try:
        return _ADD(a, b)
    except DecimalException as exc:
        raise refused(exc) from None


def sub(a: Any, b: Any) -> Decimal:
    try:
        return _SUB(a, b)
    except DecimalException as exc:
        raise refused(exc) from None


def mul(a: Any, b: Any) -> Decimal:
    try:
        return _MUL(a, b)
    except DecimalException as exc:
        raise refused(exc) from None


def div(a: Any, b: Any) -> Decimal:
    """``a / b`` to 28 significant digits; a zero divisor raises what Python's decimal raises (unknown to the
    evaluators), a result out of range :class:`DecimalRefused`."""
    try:
        return _ROUNDED.divide(a, b)
    except (Overflow, Underflow) as exc:
        raise refused(exc) from None


def scale(a: Any, b: Any) -> Decimal:
    """``a * b`` to 28 significant digits, for a duration (microseconds then rounded whole); out of range refused."""
    try:
        return _ROUNDED.multiply(a, b)
    except (Overflow, Underflow) as exc:
        raise refused(exc) from None


def normal(d: Decimal) -> Decimal:
    """A division's result without trailing zeros (1.50 / 1 is 1.5), zero as 0."""
    return d.normalize(_ROUNDED) if d else Decimal(0)


def neg(a: Any) -> Any:
    """``-a``: exact (Python's ``-`` on a decimal rounds it to the context's digits); ``-0.00`` is ``0.00``, as
    Python's ``-`` gives it."""
    if type(a) is Decimal:
        return a.copy_negate() if a else a.copy_abs()
    return -a


def absolute(a: Any) -> Any:
    """``abs(a)``: exact for a decimal, as :func:`neg`."""
    return a.copy_abs() if type(a) is Decimal else abs(a)


def plus(a: Any, b: Any) -> Any:
    """``a + b`` of a ``sum``: exact for decimals, Python's ``+`` for the rest (ints, money, durations)."""
    if type(a) is Decimal or type(b) is Decimal:
        return add(a, b)
    return a + b


def minus(a: Any, b: Any) -> Any:
    """``a - b`` of values of unknown type (a case without a schema): exact for decimals."""
    if type(a) is Decimal or type(b) is Decimal:
        return sub(a, b)
    return a - b


def round_half_up(x: Any, places: int) -> Decimal:
    """``x`` rounded half up to ``places`` decimal places (negative: tens, hundreds...)."""
    if not -DIGITS <= places <= DIGITS:
        raise DecimalRefused(f"round() takes -{DIGITS} to {DIGITS} places, got {places:,}")
    try:
        return Decimal(x).quantize(Decimal(1).scaleb(-places), context=_ROUND)
    except InvalidOperation:  # (what quantize signals for a result longer than the context's digits)
        raise refused(Inexact()) from None
    except DecimalException as exc:
        raise refused(exc) from None

"""Durations and money written the way analysts write them, and what the language writes instead.

A policy author writes ``7D``, ``1.5d``, ``24 h``, ``7d 12h``, ``1w`` or ``P1D`` for a duration, and ``￥0.01``,
``0.01元`` or ``0.01 cny`` for money; the parser says only "unexpected character". :func:`literal_hint` finds
such a literal in a condition that did not parse and names the literal meant (``7d``, ``36h``, ``0.01 CNY``);
:func:`typed_hint` does so for a number given where a duration or money is declared (``value: 24``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from policy_eval.lang.currencies import ISO_4217, currency_alias
from policy_eval.lang.types import DURATION, MONEY, Type

__all__ = ["literal_hint", "typed_hint"]

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_SECONDS = dict(_UNITS)
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_ISO = re.compile(r"(?<![\w.])P(?=\d|T\d)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?(?!\w)")
_FRACTION = re.compile(r"(?<![\w.])(\d+\.\d+)\s*([dhms])(?!\w)")
_WEEKS = re.compile(r"(?<![\w.])(\d+)\s*(w|wk|wks|week|weeks|周|星期)(?![^\W\d_])", re.IGNORECASE)
_UPPER = re.compile(r"(?<![\w.])(\d+)([DHMS])(?!\w)")
_APART = re.compile(r"(?<![\w.])\d+[dhms](?:\s+\d+[dhms])+(?!\w)")
_SPACED = re.compile(r"(?<![\w.])(\d+)\s+([dhms])(?!\w)")
_WIDE_YEN = re.compile(r"￥\s*(\d+(?:\.\d+)?)")
_MONEY_WORD = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(元|块|人民币|[A-Za-z]{3})(?![A-Za-z])")


def _exact(amount: Decimal, unit: str) -> str | None:
    """``1.5d`` as the language writes it, in the largest unit that keeps it whole (36h), or None."""
    for smaller, size in _UNITS:
        if size <= _SECONDS[unit]:
            value = amount * _SECONDS[unit] / size
            if value == value.to_integral_value():
                return f"{int(value)}{smaller}"
    return None


def _duration_text(text: str) -> tuple[str, str] | None:
    """(the literal meant, what was written) for the first duration written another way in ``text``."""
    m = _ISO.search(text)
    if m is not None and any(m.groups()):
        w, d, h, mi, s = (int(g or 0) for g in m.groups())
        parts = ((w * 7 + d, "d"), (h, "h"), (mi, "m"), (s, "s"))  # (each unit as written: PT24H is 24h)
        return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s", m.group(0)
    m = _FRACTION.search(text)
    if m is not None:
        meant = _exact(Decimal(m.group(1)), m.group(2))
        if meant is not None:
            return meant, m.group(0)
    m = _WEEKS.search(text)
    if m is not None:
        return f"{int(m.group(1)) * 7}d", m.group(0)
    m = _UPPER.search(text)
    if m is not None:
        return f"{m.group(1)}{m.group(2).lower()}", m.group(0)
    m = _APART.search(text)
    if m is not None:
        return "".join(m.group(0).split()), m.group(0)
    m = _SPACED.search(text)
    if m is not None:
        return f"{m.group(1)}{m.group(2)}", m.group(0)
    return None


def _money_text(text: str) -> tuple[str, str] | None:
    """(the literal meant, what was written) for the first amount of money written another way in ``text``."""
    m = _WIDE_YEN.search(text)
    if m is not None:
        return f"{m.group(1)} CNY", m.group(0)
    for m in _MONEY_WORD.finditer(text):
        word = m.group(2)
        if word in _WORDS:
            continue
        code = currency_alias(word) or (word.upper() if word.upper() in ISO_4217 and word != word.upper() else None)
        if code is not None:
            return f"{m.group(1)} {code}", m.group(0)
    return None


_WORDS = frozenset({"and", "not", "all", "any", "sum"})  # the language's own words that look like a code


def literal_hint(text: str) -> str:
    """'; hint: ...' for a condition that did not parse and holds a duration or an amount of money written
    another way than the language's (``7D``, ``1.5d``, ``24 h``, ``P1D``; ``￥0.01``, ``0.01元``), else ''."""
    bare = _STRING.sub('""', text)  # (what a string holds is no literal)
    found = _duration_text(bare)
    if found is not None:
        return (f"; hint: durations are written {found[0]} (units d, h, m, s, e.g. 24h, 15d, 1h30m), "
                f"not '{found[1]}'")
    found = _money_text(bare)
    if found is not None:
        return (f"; hint: money is written {found[0]} (the amount, a space and the ISO 4217 currency code), "
                f"not '{found[1]}'")
    return ""


def typed_hint(text: str, expected: Type, got: Type) -> str:
    """'; hint: ...' for a bare number where a duration or money is declared (``value: 24``), else ''."""
    raw = text.strip()
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        return ""
    if got.name not in ("int", "decimal") or not number.is_finite():
        return ""
    if expected == DURATION:
        if number == number.to_integral_value():
            n = int(number)
            return f"; hint: a duration has a unit: write {n}h (or {n}d, {n}m, {n}s)"
        meant = _exact(number, "h")
        return f"; hint: a duration has a unit: write {meant} for {raw} hours" if meant else ""
    if expected == MONEY:  # (YAML reads 39.90 as the number 39.9: shown with the cents again)
        shown = f"{number:.2f}" if number == number.quantize(Decimal("0.01")) else raw
        return f"; hint: money has a currency: write {shown} CNY (or another ISO 4217 code)"
    return ""

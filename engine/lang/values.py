"""Runtime values of the condition language and their canonical rendering.

Input: Python values produced by the compiler or read from case records.
Output: exact values (``Decimal``, aware ``datetime``, ``timedelta``,
:class:`Money`) and :func:`render`, the canonical text used in messages,
explanations and the conformance suite.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from policy_eval.errors import shown_repr
from policy_eval.lang import decimals as _decimals
from policy_eval.lang.isotext import render_datetime

__all__ = [
    "UNKNOWN",
    "Unknown",
    "Money",
    "to_cents",
    "SHANGHAI",
    "parse_duration",
    "parse_iso_duration",
    "parse_datetime",
    "parse_date",
    "parse_money",
    "render",
    "render_int",
    "render_datetime",
    "money_shown",
    "to_json",
    "ValueParseError",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
_CENT = Decimal("0.01")


class Unknown:
    """The single 'unknown' value: a missing or null fact."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # pragma: no cover - guards against accidental truthiness
        raise TypeError("UNKNOWN has no truth value; use three-valued operators")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


class ValueParseError(ValueError):
    """A string could not be read as the typed value a schema or literal asks for."""


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str = "CNY"

    def __str__(self) -> str:
        return f"{_money_amount(self.amount)} {self.currency}"

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):  # e.g. a null slipped through: a TypeError, as for the other types
            raise TypeError(f"cannot combine money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ArithmeticError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(_decimals.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(_decimals.sub(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(_decimals.neg(self.amount), self.currency)  # (exact: Python's ``-`` rounds to 28 digits)

    def __abs__(self) -> Money:
        return Money(self.amount.copy_abs(), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))


# Numbers read from untrusted records may carry any exponent (``1e-999999999`` is 14 bytes of JSON).
# Written out in full such a number would take a gigabyte, so beyond this many digits it is shown in
# scientific notation; and cents are computed in a context wide enough for the amount.
_MAX_PLAIN_DIGITS = 100
# the context _cents rounds in for every amount under 10**25 (max(28, adjusted + 4) digits, half up); one shared
# object: quantize only sets its sticky flags, which nothing reads (no trap is set for them)
_CONTEXT_28 = Context(prec=28, rounding=ROUND_HALF_UP)


def _cents(amount: Decimal) -> Decimal | None:
    """``amount`` quantized to cents, or None when that is not a sensible number to write out."""
    if not amount.is_finite() or (adjusted := amount.adjusted()) > _MAX_PLAIN_DIGITS:
        return None
    context = _CONTEXT_28 if adjusted <= 24 else Context(prec=adjusted + 4, rounding=ROUND_HALF_UP)
    return amount.quantize(_CENT, context=context)


def money_shown(value: Money) -> tuple[dict[str, str], str]:
    """What a remedy writes of an amount it pays, ``to_cents`` applied first: ``(to_json(cents), render(cents))``
    with the rounding done once (the two agree: ``{"amount": "59.90", "currency": "CNY"}`` and ``59.90 CNY``)."""
    cents = _cents(value.amount)
    text = _plain_decimal(value.amount) if cents is None else str(cents)
    return {"amount": text, "currency": value.currency}, f"{text} {value.currency}"


def to_cents(value: Money) -> Money:
    """A money amount rounded to cents, half up (0.125 CNY -> 0.13 CNY): what a remedy pays."""
    cents = _cents(value.amount)
    return value if cents is None else Money(cents, value.currency)


def _money_amount(amount: Decimal) -> str:
    cents = _cents(amount)
    if cents is not None and amount == cents:
        return str(cents)
    return _plain_decimal(amount)


def _plain_decimal(d: Decimal) -> str:
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and max(d.adjusted(), -exponent, len(d.as_tuple().digits)) > _MAX_PLAIN_DIGITS:
        return str(d)  # scientific notation, e.g. 1E+400
    return format(d, "f")


_DUR_RE = re.compile(r"(\d+)([dhms])")
_DUR_FULL = re.compile(r"(?:\d+[dhms])+")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class WrittenDuration(_dt.timedelta):
    """A duration as a policy wrote it (``48h``): equal to, hashed and computed like any ``timedelta``
    (arithmetic gives plain ``timedelta``), but shown as written: 48h stays 48h, not 2d."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, seconds: int, text: str) -> WrittenDuration:
        self = super().__new__(cls, seconds=seconds)
        self.text = text
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (WrittenDuration, (self.days * 86400 + self.seconds, self.text))

    def __repr__(self) -> str:
        return f"WrittenDuration({self.text!r})"


def parse_duration(text: str) -> _dt.timedelta:
    """Parse the language's duration literal: ``48h``, ``7d``, ``1d12h``, ``30m``, ``90s`` (kept as written)."""
    if not _DUR_FULL.fullmatch(text):
        raise ValueParseError(f"not a duration: {text!r} (expected e.g. 48h, 7d, 1d12h)")
    try:
        return WrittenDuration(sum(int(n) * _UNIT[u] for n, u in _DUR_RE.findall(text)), text)
    except (OverflowError, ValueError):  # more than 999999999 days, or digits beyond int()'s limit
        raise ValueParseError(f"duration out of range (at most 999999999d): {text:.40}") from None


_ISO_DUR = re.compile(
    r"(?P<sign>-)?P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


def parse_iso_duration(text: str) -> _dt.timedelta:
    """Parse an ISO 8601 duration without years or months (``PT48H``, ``P15D``, ``P1DT12H``)."""
    m = _ISO_DUR.fullmatch(text) if isinstance(text, str) and len(text) <= 64 else None
    if not m or text in ("P", "PT", "-P") or text.endswith("T"):
        raise ValueParseError(f"not an ISO 8601 duration of days/hours/minutes/seconds: {shown_repr(text, 80)}")
    g = m.groupdict()
    seconds = Decimal(g["s"] or 0)
    try:
        td = _dt.timedelta(
            weeks=int(g["w"] or 0), days=int(g["d"] or 0), hours=int(g["h"] or 0),
            minutes=int(g["m"] or 0), seconds=int(seconds),
            microseconds=int((seconds - int(seconds)) * 1_000_000),
        )
    except OverflowError:
        raise ValueParseError(f"ISO 8601 duration out of range (at most 999999999 days): {text!r}") from None
    return -td if g["sign"] else td


def parse_datetime(text: str) -> _dt.datetime:
    """Parse ISO 8601; a time without offset is Asia/Shanghai; a bare date is its 00:00."""
    if not isinstance(text, str) or len(text) < 10 or len(text) > 40:
        raise ValueParseError(f"not an ISO 8601 date-time: {text!r}")
    try:
        value = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueParseError(f"not an ISO 8601 date-time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value


def parse_date(text: str) -> _dt.date:
    if not isinstance(text, str) or len(text) != 10:
        raise ValueParseError(f"not an ISO 8601 date (YYYY-MM-DD): {text!r}")
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise ValueParseError(f"not an ISO 8601 date (YYYY-MM-DD): {text!r}") from None


_MONEY_RE = re.compile(r"\s*(?:¥\s*)?(-?\d+(?:\.\d+)?)\s*([A-Z]{3})?\s*")


def parse_money(value: Any) -> Money:
    """Read money from a case: ``"59.90"``, ``"59.90 CNY"``, ``"¥59.9"`` or an exact JSON number."""
    if isinstance(value, bool):
        raise ValueParseError(f"not a money amount: {value!r}")
    if isinstance(value, (int, Decimal)):
        return Money(Decimal(value))
    if isinstance(value, float):
        raise ValueParseError("money must not be a binary float")
    if isinstance(value, dict) and set(value) <= {"amount", "currency"} and "amount" in value:
        money = parse_money(value["amount"])
        return Money(money.amount, str(value.get("currency", "CNY")))
    if not isinstance(value, str) or len(value) > 64:
        raise ValueParseError(f"not a money amount: {value!r}")
    m = _MONEY_RE.fullmatch(value)
    if not m:
        raise ValueParseError(f"not a money amount: {value!r} (expected e.g. \"59.90\" or \"59.90 CNY\")")
    try:
        return Money(Decimal(m.group(1)), m.group(2) or "CNY")
    except InvalidOperation:  # pragma: no cover - regex guarantees digits
        raise ValueParseError(f"not a money amount: {value!r}") from None


def render_duration(td: _dt.timedelta) -> str:
    if type(td) is WrittenDuration:
        return td.text
    total_us = (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds
    if total_us == 0:
        return "0s"
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    secs, us = divmod(total_us, 1_000_000)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, secs = divmod(secs, size)
        if n:
            out.append(f"{n}{unit}")
    if us:
        frac = f"{us / 1_000_000:.6f}".rstrip("0")[1:]
        if out and out[-1].endswith("s"):
            out[-1] = out[-1][:-1] + frac + "s"
        else:
            out.append(f"0{frac}s")
    return sign + "".join(out)


def render(value: Any) -> str:
    """Canonical text of a value (used in messages, explanations and tests)."""
    shown = _RENDER.get(type(value))  # by exact type; subclasses (and anything else) take the chain below
    if shown is not None:
        return shown(value)
    return _render(value)


def _render(value: Any) -> str:
    if value is UNKNOWN:
        return "unknown"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return render_int(value)
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    if isinstance(value, str):
        return _json_text(value)
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, _dt.datetime):
        return render_datetime(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return render_duration(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _render_items(value: list[Any] | tuple[Any, ...]) -> str:
    return "[" + ", ".join([render(v) for v in value]) + "]"


# json.dumps(text, ensure_ascii=False) without building an encoder per call: the function it ends in
_json_text = json.encoder.encode_basestring


def render_int(value: int) -> str:
    """An int's digits; one of more digits than Python turns into text (``sys.get_int_max_str_digits``: an
    embedder's value, not validated) as its first 21 digits and its exponent, ``1.00000000000000000000E+5000``."""
    try:
        return str(value)
    except ValueError:
        return format(Decimal(value), ".20E")


_RENDER: dict[type, Any] = {
    Unknown: lambda v: "unknown", type(None): lambda v: "null", bool: lambda v: "true" if v else "false",
    int: render_int, Decimal: _plain_decimal, str: _json_text, Money: Money.__str__, _dt.datetime: render_datetime,
    _dt.date: _dt.date.isoformat, _dt.timedelta: render_duration, WrittenDuration: lambda v: v.text,
    list: _render_items, tuple: _render_items, dict: _render,
}


def to_json(value: Any) -> Any:
    """A JSON-ready form of a value: strings for exact types, native for the rest."""
    if value is UNKNOWN or value is None:
        return None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    if isinstance(value, Money):
        cents = _cents(value.amount)
        return {"amount": str(cents) if cents is not None else _plain_decimal(value.amount),
                "currency": value.currency}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return render(value)

"""Readers that turn raw JSON leaves of a case into typed values.

Chosen once per field path by the checker (from the case schema), called
per access at evaluation time. Parses are memoised: the same timestamp
string read by many rules is parsed once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from policy_eval.errors import shown_repr
from policy_eval.lang.timestamps import read_timestamp
from policy_eval.lang.types import Type
from policy_eval.lang.values import (
    UNKNOWN,
    ValueParseError,
    parse_date,
    parse_iso_duration,
    parse_money,
)

__all__ = ["reader_for", "ReadError", "read_datetime", "read_record", "read_list"]


class ReadError(Exception):
    """A case value does not have the type its schema promises."""


_cached_datetime = read_timestamp  # the schema check's grammar (RFC 3339), memoised and shared with it
_cached_date = lru_cache(maxsize=1 << 12)(parse_date)
_cached_duration = lru_cache(maxsize=1 << 12)(parse_iso_duration)
_cached_money_text = lru_cache(maxsize=1 << 12)(parse_money)  # (a Money is immutable: one object may be shared)


def _wrap(name: str, parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def read(raw: Any) -> Any:
        try:
            return parse(raw)
        except (ValueParseError, TypeError):
            raise ReadError(f"expected {name}, got {shown_repr(raw, 80)}") from None
    return read


def _datetime(raw: Any) -> Any:
    if type(raw) is not str:
        raise ReadError(f"expected datetime (ISO 8601 text), got {shown_repr(raw, 80)}")
    try:
        return _cached_datetime(raw)
    except ValueParseError:
        raise ReadError(f"expected datetime (ISO 8601 text), got {shown_repr(raw, 80)}") from None


read_datetime = _datetime  # (generated code reads the memo itself first: lang.threevalued)


def _money(raw: Any) -> Any:
    """Money as text (``"59.90"``, the common form) read once per text, as timestamps are: several rules and
    a remedy read the same amount; an exact number or an ``{amount, currency}`` object is read each time."""
    try:
        return _cached_money_text(raw) if type(raw) is str else parse_money(raw)
    except (ValueParseError, TypeError):
        raise ReadError(f"expected money (e.g. \"59.90\"), got {shown_repr(raw, 80)}") from None


# JSON numbers are read exactly, so a record may hold 1e999999999 (14 bytes). Such a number cannot take
# part in arithmetic (decimal.Overflow), and written out in full it would be a gigabyte: numbers further
# than this many digits from the point are refused, as ints longer than this are by the JSON reader.
MAX_EXPONENT = 4300


def _in_range(raw: Decimal) -> Decimal:
    if not raw.is_finite():
        raise ReadError(f"expected a finite number, got {raw}")
    if raw.is_zero():
        return Decimal(0) if abs(raw.adjusted()) > MAX_EXPONENT else raw
    if abs(raw.adjusted()) > MAX_EXPONENT:
        raise ReadError(f"number out of range: {raw:.3E} (at most {MAX_EXPONENT} digits either side of the point)")
    return raw


def _decimal(raw: Any) -> Any:
    t = type(raw)
    if t is int:
        return raw
    if t is Decimal:
        return _in_range(raw)
    if t is float:
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ReadError(f"expected a finite number, got {raw!r}")
        return Decimal(repr(raw))
    raise ReadError(f"expected a number, got {shown_repr(raw, 80)}")


def _int(raw: Any) -> Any:
    if type(raw) is int:
        return raw
    if type(raw) is Decimal and raw.is_finite() and raw == raw.to_integral_value():
        return int(_in_range(raw))
    raise ReadError(f"expected an integer, got {shown_repr(raw, 80)}")


def _typed(name: str, py: type) -> Callable[[Any], Any]:
    def read(raw: Any) -> Any:
        if type(raw) is not py:
            raise ReadError(f"expected {name}, got {shown_repr(raw, 80)}")
        return raw
    return read


_SCALAR: dict[str, Callable[[Any], Any]] = {
    "datetime": _datetime,
    "date": _wrap("date (YYYY-MM-DD)", _cached_date),
    "duration": _wrap("ISO 8601 duration (e.g. PT48H)", _cached_duration),
    "money": _money,
    "decimal": _decimal,
    "int": _int,
    "bool": _typed("boolean", bool),
    "string": _typed("string", str),
}


def reader_for(t: Type) -> Callable[[Any], Any] | None:
    if t.name in _SCALAR:
        return _SCALAR[t.name]
    if t.name == "list" and t.item is not None:
        item = reader_for(t.item)
        if item is None:
            return _list_raw
        return lambda raw: [UNKNOWN if x is None else item(x) for x in _as_list(raw)]
    if t.name == "record":
        return _record
    return None


def _as_list(raw: Any) -> list[Any]:
    if type(raw) is not list:
        raise ReadError(f"expected a list, got {shown_repr(raw, 80)}")
    return raw


def _list_raw(raw: Any) -> Any:
    return _as_list(raw)


def _record(raw: Any) -> Any:
    if type(raw) is not dict:
        raise ReadError(f"expected an object, got {shown_repr(raw, 80)}")
    return raw


# (generated code takes a value of exactly the right type itself and calls these for the rest: lang.threevalued)
read_record = _record
read_list = _list_raw

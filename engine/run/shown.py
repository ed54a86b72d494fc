"""How the evaluator shows values: in messages, in recorded inputs, in error texts (moved out of evaluate)."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from functools import lru_cache
from typing import Any

from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.readers import ReadError
from policy_eval.lang.values import Money, Unknown, WrittenDuration, render, to_json

__all__ = ["_typed_text", "_error_text", "_json_kind", "_display"]


@lru_cache(maxsize=4096)  # small: memory must stay flat however many distinct values a batch holds
def _typed_text(read: Any, raw: str) -> Any:
    """The JSON form of a text input as its rule reads it (memoised: the same timestamps recur)."""
    try:
        return to_json(read(raw))
    except ReadError:  # not what the schema promises: shown as it is
        return raw


def _error_text(exc: Exception) -> str:
    if isinstance(exc, EvalFailure):
        return exc.message
    return f"arithmetic out of range: {exc}"  # e.g. a date pushed past year 9999 by the case's values


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, (str, bytes)):
        return "a string"
    return "a number" if isinstance(value, (int, float, Decimal)) else type(value).__name__


# types a message shows as render does (exact types: a subclass of str or list takes the checks below)
_PLAIN = frozenset({_dt.datetime, _dt.date, _dt.timedelta, WrittenDuration, Decimal, int, bool, type(None), Unknown,
                    Money, dict, tuple})


def _display(value: Any) -> str:
    """A value as a message shows it: text unquoted, matches by their text, the rest canonically."""
    kind = type(value)
    if kind is str:
        return value
    if kind in _PLAIN or (kind is not list and not isinstance(value, (str, list))):
        return render(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], dict) and "text" in value[0]:
        return ", ".join(repr(m.get("text")) for m in value[:5]) + (" …" if len(value) > 5 else "")
    return render(value)

"""The JSON text records are written as: compact, keys in insertion order, non-ASCII as UTF-8, the same bytes on
every run. orjson writes it; the standard library takes what orjson refuses (a lone surrogate read from a case, an
integer beyond 64 bits), with the same bytes for everything else."""

from __future__ import annotations

import json
from typing import Any

import orjson

from policy_eval.lang.values import render_int

__all__ = ["dumps"]

_ORJSON = orjson.dumps
_ORJSON_ERROR = orjson.JSONEncodeError


def dumps(obj: Any) -> str:
    """Compact JSON text, keys in insertion order, non-ASCII as UTF-8; byte-identical on every run."""
    try:
        return _ORJSON(obj, default=str).decode()
    except _ORJSON_ERROR:  # a lone surrogate in a string, or an integer beyond 64 bits
        try:
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
        except ValueError:  # an integer of more digits than Python writes (an embedder's, not validated): as text
            return json.dumps(_huge_ints_shown(obj), ensure_ascii=False, separators=(",", ":"), default=str)


def _huge_ints_shown(value: Any) -> Any:
    """``value`` with each integer Python cannot write in digits (``sys.get_int_max_str_digits``) as the text of
    its first 21 digits and its exponent (``"1.00000000000000000000E+5000"``): lang.values.render_int's text."""
    if type(value) is int:
        text = render_int(value)
        return text if "E" in text else value
    if isinstance(value, (list, tuple)):
        return [_huge_ints_shown(v) for v in value]
    if isinstance(value, dict):
        return {k: _huge_ints_shown(v) for k, v in value.items()}
    return value

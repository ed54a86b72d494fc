"""The JSON text records are written as: compact, keys in insertion order, non-ASCII as UTF-8, the same bytes on
every run. orjson writes it; the standard library takes what orjson refuses (a lone surrogate read from a case, an
integer beyond 64 bits), with the same bytes for everything else."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps"]

_ORJSON = orjson.dumps
_ORJSON_ERROR = orjson.JSONEncodeError


def dumps(obj: Any) -> str:
    """Compact JSON text, keys in insertion order, non-ASCII as UTF-8; byte-identical on every run."""
    try:
        return _ORJSON(obj, default=str).decode()
    except _ORJSON_ERROR:  # a lone surrogate in a string, or an integer beyond 64 bits
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)

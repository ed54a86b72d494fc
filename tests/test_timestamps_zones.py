"""Parsed timestamps share one zone object per UTC offset (lang.timestamps).

CPython compares and subtracts two aware datetimes by their fields only when their zones are the same
object; two equal zones that are distinct objects cost it both offsets, about ten times as much. The values
are what they were: equal instants, the same offsets, the same text.
"""

from __future__ import annotations

import datetime as _dt

import pytest

from policy_eval.lang.timestamps import parse_timestamp, read_timestamp
from policy_eval.lang.values import SHANGHAI

# (text, its offset) in every shape: the C fast path, fractions, lower-case t and z, a leap second, no offset
TEXTS = [
    ("2023-10-20T19:32:41+08:00", 8 * 60), ("2024-02-29T00:00:00+08:00", 8 * 60),
    ("2023-10-20T19:32:41.250+08:00", 8 * 60), ("2023-10-20t19:32:41+08:00", 8 * 60),
    ("2023-10-20T19:32:41Z", 0), ("2023-10-20T19:32:41z", 0), ("2023-10-20T19:32:41+00:00", 0),
    ("2023-10-20T19:32:41-00:00", 0), ("2016-12-31T23:59:60Z", 0), ("2023-10-20T19:32:41-03:30", -210),
    ("2023-10-20T19:32:41.5-03:30", -210), ("2023-10-20T19:32:41+23:59", 23 * 60 + 59),
]


@pytest.mark.parametrize("parse", [parse_timestamp, read_timestamp])
def test_one_zone_object_per_offset(parse) -> None:  # type: ignore[no-untyped-def]
    by_offset: dict[int, _dt.tzinfo] = {}
    for text, minutes in TEXTS:
        value = parse(text)
        assert value.utcoffset() == _dt.timedelta(minutes=minutes), text
        zone = by_offset.setdefault(minutes, value.tzinfo)  # type: ignore[arg-type]
        assert value.tzinfo is zone, text
    assert by_offset[0] is _dt.UTC
    naive = parse("2023-10-20T19:32:41")
    assert naive.tzinfo is SHANGHAI


def test_the_values_are_unchanged() -> None:
    """Against the standard library's own reading (a fresh zone per text): equal instants, same text."""
    for text, _ in TEXTS:
        if "t" in text or "z" in text or ":60" in text or "-00:00" in text:
            continue  # (shapes fromisoformat reads differently or not at all)
        value, plain = parse_timestamp(text), _dt.datetime.fromisoformat(text)
        assert value == plain and value.utcoffset() == plain.utcoffset() and value.isoformat() == plain.isoformat()


def test_comparisons_take_the_same_zone_path() -> None:
    """Two timestamps of one offset from different texts: the same zone object, so that their comparison and
    difference are by fields (what the generated code of every rule does with them)."""
    a, b = parse_timestamp("2023-10-20T19:32:41+08:00"), parse_timestamp("2023-11-01T08:00:00.5+08:00")
    assert a.tzinfo is b.tzinfo and a < b and b - a == _dt.timedelta(days=11, hours=12, minutes=27, seconds=19.5)

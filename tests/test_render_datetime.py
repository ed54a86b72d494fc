"""``lang.isotext.render_datetime`` writes ``isoformat``'s text, whichever way it formats it.

A datetime in a fixed offset of whole minutes other than UTC is formatted by msgspec's JSON encoder (six times
cheaper); UTC (which msgspec writes as Z), an offset with seconds (which it rounds), a named zone and a naive
datetime by ``isoformat``. Each is compared with ``isoformat`` over random instants, microseconds and offsets.
"""

from __future__ import annotations

import datetime as _dt
import random
from zoneinfo import ZoneInfo

import pytest

from policy_eval.lang import isotext
from policy_eval.lang.isotext import _DATETIME_TEXT, render_datetime


class Later(_dt.datetime):
    """A datetime subclass (formatted by isoformat: its own type may say otherwise)."""


def _zones(rng: random.Random) -> list[_dt.tzinfo | None]:
    minutes = [_dt.timezone(_dt.timedelta(minutes=rng.randrange(-1439, 1440))) for _ in range(40)]
    seconds = [_dt.timezone(_dt.timedelta(seconds=rng.randrange(-86399, 86400))) for _ in range(40)]
    return [_dt.UTC, _dt.timezone(_dt.timedelta(0)), _dt.timezone(_dt.timedelta(hours=8), "CST"),
            _dt.timezone(_dt.timedelta(seconds=1, microseconds=7)), ZoneInfo("Asia/Shanghai"), None,
            *minutes, *seconds]


def test_every_way_writes_isoformats_text() -> None:
    rng = random.Random(11)
    zones = _zones(rng)
    for _ in range(40_000):
        zone = rng.choice(zones)
        value = _dt.datetime(rng.randrange(1, 10000), rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24),
                             rng.randrange(60), rng.randrange(60), rng.choice([0, rng.randrange(1_000_000)]),
                             tzinfo=zone)
        _DATETIME_TEXT.clear()
        assert render_datetime(value) == value.isoformat(), value
        assert render_datetime(value) == value.isoformat(), value  # (again: formatted again, not remembered)
    sub = Later(2024, 5, 1, 12, tzinfo=_dt.timezone(_dt.timedelta(hours=8)))
    assert render_datetime(sub) == sub.isoformat()


def test_the_fast_way_is_taken_for_a_whole_minute_offset_only() -> None:
    isotext.MINUTE_ZONES.clear()
    east8 = _dt.timezone(_dt.timedelta(hours=8))
    render_datetime(_dt.datetime(2024, 5, 1, 12, tzinfo=east8))
    render_datetime(_dt.datetime(2024, 5, 1, 12, tzinfo=_dt.UTC))
    render_datetime(_dt.datetime(2024, 5, 1, 12, tzinfo=_dt.timezone(_dt.timedelta(seconds=30))))
    assert isotext.MINUTE_ZONES == {east8: True, _dt.UTC: False,
                                    _dt.timezone(_dt.timedelta(seconds=30)): False}


def test_a_formatted_text_is_not_remembered() -> None:
    """Only the readers fill the memory of texts (with the text they read); a datetime formatted to be shown is not
    added to it: remembering cost more than formatting again, and a batch record shows each value once
    (bench/README, thirty-ninth session). What the readers remembered is still used."""
    east8 = _dt.timezone(_dt.timedelta(hours=8))
    _DATETIME_TEXT.clear()
    shown = [_dt.datetime(2024, 5, 1, 12, minute, tzinfo=east8) for minute in range(60)]
    assert [render_datetime(v) for v in shown] == [v.isoformat() for v in shown]
    assert not _DATETIME_TEXT
    read = shown[0]
    _DATETIME_TEXT[id(read)] = (read, "the text it was read from")
    assert render_datetime(read) == "the text it was read from"
    _DATETIME_TEXT.clear()


def test_the_commonest_case_is_written_without_iso_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a fixed whole-minute offset is learnt and the encoder loaded, ``render_datetime`` writes the text itself
    (one call less a timestamp shown); what it writes is still ``isoformat``'s. Anything else (a zone whose class
    is not ``timezone``, even one equal to a learnt offset; a subclass of datetime) still goes to ``iso_text``."""

    east8 = _dt.timezone(_dt.timedelta(hours=8))
    _DATETIME_TEXT.clear()
    render_datetime(_dt.datetime(2024, 5, 1, 12, tzinfo=east8))  # (learns the zone, loads the encoder)
    assert isotext.MINUTE_ZONES.get(east8) and isotext.ENCODE
    called: list[_dt.datetime] = []
    monkeypatch.setattr(isotext, "iso_text", lambda value: called.append(value) or value.isoformat())
    rng = random.Random(5)
    for _ in range(2_000):
        value = _dt.datetime(rng.randrange(1, 10000), rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24),
                             rng.randrange(60), rng.randrange(60), rng.choice([0, rng.randrange(1_000_000)]),
                             tzinfo=east8)
        assert render_datetime(value) == value.isoformat(), value
    assert called == []

    class Odd(_dt.tzinfo):  # equal to the learnt offset, and hashed alike, but not a timezone
        def utcoffset(self, dt: _dt.datetime | None) -> _dt.timedelta:
            return _dt.timedelta(hours=8)

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return hash(east8)

    odd = _dt.datetime(2024, 5, 1, 12, tzinfo=Odd())
    sub = Later(2024, 5, 1, 12, tzinfo=east8)
    assert render_datetime(odd) == odd.isoformat() and render_datetime(sub) == sub.isoformat()
    assert called == [odd, sub]

"""lang.zonedata.fixed_since: the first year from which a zone keeps one offset at every instant, by its own data.

date_of reads a time written at +08:00 as Shanghai's own local time from that year on, so the answer must never
claim a year in which the zone's offset differs at any instant: it is held to the zone object's own offsets on
random instants after it, to the years before it (where the zone did change), and to None wherever the data has
a daylight-saving rule, another offset, no zone, or helpers that do not answer.
"""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_eval.lang import zonedata
from policy_eval.lang.zonedata import fixed_since

FIXED = [("Asia/Shanghai", 8 * 3600, 1992), ("Asia/Tokyo", 9 * 3600, 1952), ("Asia/Kolkata", 19800, 1946),
         ("America/Phoenix", -7 * 3600, 1968), ("UTC", 0, _dt.MINYEAR)]


@pytest.mark.parametrize(("key", "seconds", "year"), FIXED)
def test_the_year_a_zone_has_kept_its_offset_since(key: str, seconds: int, year: int) -> None:
    assert fixed_since(key, seconds) == year


@pytest.mark.parametrize(("key", "seconds", "year"), FIXED)
@given(instant=st.datetimes(min_value=_dt.datetime(1, 1, 2), max_value=_dt.datetime(9999, 12, 30)))
def test_every_instant_from_that_year_has_the_offset(key: str, seconds: int, year: int, instant: _dt.datetime) -> None:
    zone, offset = ZoneInfo(key), _dt.timezone(_dt.timedelta(seconds=seconds))
    moment = instant.replace(tzinfo=offset)
    if moment.year >= year:
        assert moment.astimezone(zone).utcoffset() == _dt.timedelta(seconds=seconds)
        assert moment.astimezone(zone).date() == moment.date()


def test_shanghai_changed_in_the_year_before() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    assert zone.utcoffset(_dt.datetime(1991, 7, 1)) == _dt.timedelta(hours=9)  # (its last summer time)
    assert fixed_since("Asia/Shanghai", 9 * 3600) is None


@pytest.mark.parametrize(("key", "seconds"), [("Europe/London", 0), ("America/New_York", -5 * 3600),
                                              ("Asia/Shanghai", 3600), ("No/Such_Zone", 0), ("../../etc/passwd", 0)])
def test_no_year_where_the_zone_changes_differs_or_is_not_there(key: str, seconds: int) -> None:
    assert fixed_since(key, seconds) is None


@pytest.mark.parametrize("rule", [b"CST-8CDT,M4.1.0,M9.3.0", b"", b"CST-9", b"<+0730>-7:30", None])
def test_a_rule_with_summer_time_or_another_offset_gives_none(rule: bytes | None) -> None:
    assert zonedata._since((1,), (684867600,), (32400, 28800), rule, 8 * 3600) is None


def test_the_last_transition_must_be_to_the_offset() -> None:
    assert zonedata._since((0, 1), (0, 684867600), (28800, 32400), b"CST-8", 8 * 3600) is None
    assert zonedata._since((1, 0), (0, 684867600), (28800, 32400), b"CST-8", 8 * 3600) == 1992
    assert zonedata._since((), (), (28800,), b"<+08>-8", 8 * 3600) == _dt.MINYEAR
    assert zonedata._since((), (), (19800,), b"IST-5:30", 19800) == _dt.MINYEAR


def test_helpers_that_do_not_answer_give_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import zoneinfo._common as common

    def broken(fobj: object) -> None:
        raise AssertionError("moved")
    monkeypatch.setattr(common, "load_data", broken)
    assert fixed_since("Asia/Shanghai", 8 * 3600) is None


def test_read_as_written_since_asks_the_zone_object_too(monkeypatch: pytest.MonkeyPatch) -> None:
    assert zonedata.read_as_written_since(ZoneInfo("Asia/Shanghai"), 8 * 3600) == 1992
    assert zonedata.read_as_written_since(ZoneInfo("Europe/London"), 0) == _dt.MAXYEAR + 1

    class Disagrees:  # (a zone object whose offsets are not what its key's data says)
        key = "Asia/Shanghai"

        def utcoffset(self, moment: _dt.datetime) -> _dt.timedelta:
            return _dt.timedelta(hours=9)
    assert zonedata.read_as_written_since(Disagrees(), 8 * 3600) == _dt.MAXYEAR + 1

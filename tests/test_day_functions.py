"""``date_of(t)``: the Asia/Shanghai day of a time, read as written where the time is written at +08:00 from 1992 on;
``start_of_day(d)``: 00:00 Asia/Shanghai of a day, at +08:00 from 1992 on (the tzinfo object the batch reader's
timestamps hold, so that the two compare by their fields), its answers kept by day (a batch's days recur across cases);
``days(n)``, ``hours(n)``, ...: a whole count's duration kept by count.

The kept answer must be the one the constructor gives for that very day, in every era of the zone (Shanghai kept
summer time from 1986 to 1991: midnight was then +09:00), and a kept duration the exact one the general way gives
(a decimal count, and a count past a duration's range, go that way); the tables stay bounded whatever the cases hold.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_eval.expression import compile_expression
from policy_eval.lang import functions
from policy_eval.lang.values import SHANGHAI


def _plain(d: _dt.date) -> _dt.datetime:
    return _dt.datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)


@given(st.lists(st.dates(min_value=_dt.date(1900, 1, 1), max_value=_dt.date(2200, 12, 31)), min_size=1, max_size=40))
def test_start_of_day_is_the_days_midnight_asked_once_or_again(days: list[_dt.date]) -> None:
    for d in days + days[::-1]:  # (each day asked twice: the second answer is the kept one)
        got = functions._start_of_day(d)
        want = _plain(d)  # (the zone's own midnight: the same instant, offset and text; from 1992 at +08:00 itself)
        assert (got, got.utcoffset(), got.fold, got.isoformat()) == (want, want.utcoffset(), want.fold, want.isoformat())
        assert got.tzinfo is (functions._CST if d.year >= 1992 else SHANGHAI)
        assert got.date() == d and got.time() == _dt.time(0)


def test_start_of_day_in_the_summer_time_years_and_now() -> None:
    assert functions._start_of_day(_dt.date(1988, 7, 1)).utcoffset() == _dt.timedelta(hours=9)
    assert functions._start_of_day(_dt.date(1988, 7, 1)).isoformat() == "1988-07-01T00:00:00+09:00"
    assert functions._start_of_day(_dt.date(2024, 7, 1)).isoformat() == "2024-07-01T00:00:00+08:00"
    expr = compile_expression("start_of_day(date_of(2024-02-29T23:59:59+08:00)) + 1d")
    assert expr.evaluate() == _dt.datetime(2024, 3, 1, tzinfo=SHANGHAI)


def test_a_days_start_and_a_read_timestamp_hold_one_tzinfo() -> None:
    """A timestamp the batch reader (msgspec) reads at +08:00 and a day's start from 1992 on hold the same tzinfo object,
    so that comparing them compares their fields; equal and ordered as their instants are."""
    import msgspec

    read = msgspec.json.decode(b'["2024-03-01T00:00:00+08:00", "2024-02-29T23:59:59+08:00"]', type=list[_dt.datetime])
    start = functions._start_of_day(_dt.date(2024, 3, 1))
    assert read[0] == start and read[1] < start and start - read[1] == _dt.timedelta(seconds=1)
    assert functions._start_of_day(_dt.date(1991, 12, 31)).tzinfo is SHANGHAI
    # The same object in a process that has read no other offset in +08:00's slot of msgspec's small cache (an offset
    # read there, -17:36 say, replaces the object: the timestamps read after that hold a new one, equal, not the
    # same), as a batch of after-sale records is: asked of a fresh interpreter, not of this one, whose earlier tests
    # may have read any offset.
    code = ("import datetime, msgspec; from policy_eval.lang import functions, timestamps; "
            "read = msgspec.json.decode(b'\"2024-03-01T00:00:00+08:00\"', type=datetime.datetime); "
            "start = functions._start_of_day(datetime.date(2024, 3, 1)); "
            "parsed = timestamps.parse_timestamp('2024-03-05T10:00:00+08:00'); "
            "print(read.tzinfo is start.tzinfo is parsed.tzinfo)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip() == "True", done.stderr


def test_the_kept_answers_are_bounded_and_a_subclass_is_not_kept() -> None:
    start = _dt.date(2000, 1, 1)
    for n in range(functions._DAYS_MAX + 10):
        functions._start_of_day(start + _dt.timedelta(days=n))
        assert len(functions._DAYS) <= functions._DAYS_MAX
    moment = _dt.datetime(2024, 3, 1, 15, 30, tzinfo=SHANGHAI)  # a datetime is a date: answered, never kept
    assert functions._start_of_day(moment) == _dt.datetime(2024, 3, 1, tzinfo=SHANGHAI)
    assert moment not in functions._DAYS


_OFFSETS = [_dt.timezone(_dt.timedelta(hours=8)), _dt.timezone(_dt.timedelta(hours=8), "CST"), _dt.UTC,
            _dt.timezone(_dt.timedelta(hours=9)), _dt.timezone(_dt.timedelta(hours=-5)),
            _dt.timezone(_dt.timedelta(hours=8, minutes=1)), SHANGHAI]


class _Moment(_dt.datetime):
    """A datetime subclass: answered the zone's way, whatever it redefines (here its date), never read as written."""

    def date(self) -> _dt.date:
        return _dt.date(1970, 1, 1)


@given(st.datetimes(min_value=_dt.datetime(1900, 1, 1), max_value=_dt.datetime(2200, 12, 31)), st.sampled_from(_OFFSETS))
def test_date_of_is_the_zones_day_in_every_era_and_offset(moment: _dt.datetime, zone: _dt.tzinfo) -> None:
    t = moment.replace(tzinfo=zone)
    assert functions._date_of(t) == t.astimezone(SHANGHAI).date()


def test_date_of_around_the_summer_time_years_and_the_bound() -> None:
    plus8 = _dt.timezone(_dt.timedelta(hours=8))
    # 1988-07-01 00:30 at +08:00 is 01:30 of Shanghai's summer time (+09:00): the same day; 23:30 is the next day's
    assert functions._date_of(_dt.datetime(1988, 7, 1, 23, 30, tzinfo=plus8)) == _dt.date(1988, 7, 2)
    assert functions._date_of(_dt.datetime(1991, 12, 31, 23, 59, tzinfo=plus8)) == _dt.date(1991, 12, 31)
    assert functions._date_of(_dt.datetime(1992, 1, 1, 0, 0, tzinfo=plus8)) == _dt.date(1992, 1, 1)
    assert functions._date_of(_dt.datetime(2024, 3, 1, 23, 59, 59, tzinfo=plus8)) == _dt.date(2024, 3, 1)
    assert functions._date_of(_dt.datetime(2024, 3, 1, 16, 0, tzinfo=_dt.UTC)) == _dt.date(2024, 3, 2)
    subclass = _Moment(2024, 3, 1, 12, tzinfo=plus8)
    assert functions._date_of(subclass) == subclass.astimezone(SHANGHAI).date()  # (the zone's way, whatever it says)
    assert functions._CST_SINCE == 1992  # (the zone's data: +08:00 at every instant since 1991-09-14 17:00 UTC)


def test_date_of_takes_the_zone_when_its_data_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    plus8 = _dt.timezone(_dt.timedelta(hours=8))
    monkeypatch.setattr(functions, "_CST_SINCE", _dt.MAXYEAR + 1)
    seen: list[Any] = []

    class Spy(_dt.datetime):
        def astimezone(self, tz: Any = None) -> Any:
            seen.append(tz)
            return super().astimezone(tz)
    assert functions._date_of(Spy(2024, 3, 1, 12, tzinfo=plus8)) == _dt.date(2024, 3, 1) and seen == [SHANGHAI]


def _general(n: Any, size: int) -> Any:
    """The duration the general way gives (a Decimal count), or the error it raises."""
    us = Decimal(n) * size * 1_000_000
    try:
        if not -Decimal(10) ** 21 <= us <= Decimal(10) ** 21:
            raise OverflowError("duration out of range (more than 999,999,999 days)")
        return _dt.timedelta(microseconds=int(us))
    except OverflowError as exc:
        return ("error", str(exc))


def _asked(run: Any, n: Any) -> Any:
    try:
        return run(n)
    except OverflowError as exc:
        return ("error", str(exc))


EDGE = 999_999_999 * 86400


@pytest.mark.parametrize(("unit", "size"), [("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1)])
@given(counts=st.lists(st.one_of(st.integers(-10**6, 10**6), st.integers(-10**22, 10**22),
                                 st.sampled_from([EDGE, EDGE + 1, -EDGE, -EDGE - 1, EDGE // 86400, EDGE // 86400 + 1])),
                       min_size=1, max_size=20))
def test_a_whole_count_is_the_duration_the_general_way_gives(unit: str, size: int, counts: list[int]) -> None:
    run = functions._dur(unit)
    for n in counts + counts:  # (each asked twice: the second answer is the kept one)
        assert _asked(run, n) == _general(n, size), n


def test_decimal_counts_and_the_kept_durations_bound() -> None:
    run = functions._dur("days")
    assert run(Decimal("1.5")) == _dt.timedelta(days=1, hours=12)
    assert run(True) == _dt.timedelta(days=1)  # (a bool is not kept: the general way reads it as 1)
    for n in range(functions._KEPT_COUNTS + 10):
        run(n)
    assert run(7) == _dt.timedelta(days=7)
    kept = next(c.cell_contents for c in run.__closure__ or () if isinstance(c.cell_contents, dict))
    assert len(kept) <= functions._KEPT_COUNTS and True not in {type(k) is bool for k in kept}

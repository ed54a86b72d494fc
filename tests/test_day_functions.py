"""``start_of_day(d)``: 00:00 Asia/Shanghai of a day, its answers kept by day (a batch's days recur across cases).

The kept answer must be the one the constructor gives for that very day, in every era of the zone (Shanghai kept
summer time from 1986 to 1991: midnight was then +09:00), and the table stays bounded whatever days the cases hold.
"""

from __future__ import annotations

import datetime as _dt

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
        want = _plain(d)
        assert (got, got.utcoffset(), got.tzinfo, got.fold) == (want, want.utcoffset(), want.tzinfo, want.fold)
        assert got.date() == d and got.time() == _dt.time(0)


def test_start_of_day_in_the_summer_time_years_and_now() -> None:
    assert functions._start_of_day(_dt.date(1988, 7, 1)).utcoffset() == _dt.timedelta(hours=9)
    assert functions._start_of_day(_dt.date(1988, 7, 1)).isoformat() == "1988-07-01T00:00:00+09:00"
    assert functions._start_of_day(_dt.date(2024, 7, 1)).isoformat() == "2024-07-01T00:00:00+08:00"
    expr = compile_expression("start_of_day(date_of(2024-02-29T23:59:59+08:00)) + 1d")
    assert expr.evaluate() == _dt.datetime(2024, 3, 1, tzinfo=SHANGHAI)


def test_the_kept_answers_are_bounded_and_a_subclass_is_not_kept() -> None:
    start = _dt.date(2000, 1, 1)
    for n in range(functions._DAYS_MAX + 10):
        functions._start_of_day(start + _dt.timedelta(days=n))
        assert len(functions._DAYS) <= functions._DAYS_MAX
    moment = _dt.datetime(2024, 3, 1, 15, 30, tzinfo=SHANGHAI)  # a datetime is a date: answered, never kept
    assert functions._start_of_day(moment) == _dt.datetime(2024, 3, 1, tzinfo=SHANGHAI)
    assert moment not in functions._DAYS

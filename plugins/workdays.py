"""Business-day arithmetic on the mainland China calendar (holidays and make-up working days).

The calendar comes from the maintained ``chinesecalendar`` package, not a
hand-written table: National Day, Spring Festival and the other public
holidays, and the weekend days declared working days in exchange (调休上班).
A date in a year the installed package has no data for is an error (the
verdict is undetermined, naming the year) rather than a guess from weekends
alone: holidays are announced each winter, so upgrade ``chinesecalendar``, or,
until it has the new year, give the announced days in the file the environment
variable ``POLICY_EVAL_CALENDAR`` names (:mod:`policy_eval.plugins.calendarfile`).

Days are Asia/Shanghai calendar days whatever the offset of the times given.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

import chinese_calendar

from policy_eval.lang.functions import Function
from policy_eval.lang.types import DATETIME, INT
from policy_eval.lang.values import SHANGHAI
from policy_eval.plugins.calendarfile import CALENDAR_ENV, Calendar, calendar_from_environment
from policy_eval.plugins.hookspecs import hookimpl

__all__ = ["policy_eval_functions", "is_workday", "add_workdays", "workdays_between", "MAX_WORKDAYS"]

MAX_WORKDAYS = 1000
_MAX_SPAN_DAYS = 3660


@lru_cache(maxsize=1)
def _calendar_version() -> str:
    return str(getattr(chinese_calendar, "__version__", "") or "?")


_GIVEN: Calendar | None = None  # the deployment's years (calendarfile), read once per process


def given_calendar() -> Calendar:
    """The years the file named by ``POLICY_EVAL_CALENDAR`` gives (read on first use; a CalendarError if bad)."""
    global _GIVEN
    if _GIVEN is None:
        _GIVEN = calendar_from_environment()
    return _GIVEN


def is_workday(day: _dt.date) -> bool:
    """Whether ``day`` is a mainland working day (make-up working days on weekends included)."""
    given = _GIVEN if _GIVEN is not None else given_calendar()
    if given and (year := given.get(day.year)) is not None:
        return day in year[1] or (day.weekday() < 5 and day not in year[0])
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise ValueError(f"the holiday calendar (chinesecalendar {_calendar_version()}) has no data for "
                         f"{day.year}; upgrade the chinesecalendar package, or give the year's announced "
                         f"holidays in the file {CALENDAR_ENV} names") from None


def add_workdays(start: _dt.datetime, n: int) -> _dt.datetime:
    """The same Asia/Shanghai wall-clock time on the ``n``-th working day after ``start``'s day.

    The day of ``start`` itself never counts, whether or not it is a working
    day; ``n = 0`` returns ``start`` (in Asia/Shanghai).
    """
    if not 0 <= n <= MAX_WORKDAYS:
        raise ValueError(f"add_workdays() takes 0 to {MAX_WORKDAYS} days, got {n}")
    local = start.astimezone(SHANGHAI)
    day = local.date()
    count = 0
    while count < n:
        day += _dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return local.replace(year=day.year, month=day.month, day=day.day)


def workdays_between(a: _dt.datetime, b: _dt.datetime) -> int:
    """Working days after ``a``'s day up to and including ``b``'s day (negative if ``b`` is earlier).

    ``workdays_between(t, add_workdays(t, n)) == n`` for every ``t`` and ``n``.
    """
    da, db = a.astimezone(SHANGHAI).date(), b.astimezone(SHANGHAI).date()
    sign = 1
    if db < da:
        da, db, sign = db, da, -1
    if (db - da).days > _MAX_SPAN_DAYS:
        raise ValueError("workdays_between() spans more than 10 years")
    count = 0
    day = da
    while day < db:
        day += _dt.timedelta(days=1)
        count += is_workday(day)
    return sign * count


@hookimpl
def policy_eval_functions() -> list[Function]:
    given_calendar()  # a bad calendar file stops the load, naming its line, rather than each verdict that counts days
    return [
        Function("add_workdays", (DATETIME, INT), DATETIME, add_workdays, plugin="workdays",
                 doc="the same time n mainland working days later"),
        Function("workdays_between", (DATETIME, DATETIME), INT, workdays_between, plugin="workdays",
                 doc="mainland working days after a's day up to b's day"),
    ]

"""Business-day arithmetic on the mainland China calendar (holidays and make-up working days).

The calendar comes from the maintained ``chinesecalendar`` package, not a
hand-written table. Outside the years it covers, weekends are the only
non-working days (a documented fallback).
"""

from __future__ import annotations

import datetime as _dt

from policy_eval.functions import Function
from policy_eval.ltypes import DATETIME, INT
from policy_eval.plugins.hookspecs import hookimpl
from policy_eval.values import SHANGHAI

__all__ = ["policy_eval_functions", "is_workday", "add_workdays", "workdays_between"]

_MAX_SPAN_DAYS = 3660


def is_workday(day: _dt.date) -> bool:
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


def add_workdays(start: _dt.datetime, n: int) -> _dt.datetime:
    """The same wall-clock time ``n`` working days after ``start`` (Asia/Shanghai calendar days)."""
    if not 0 <= n <= 1000:
        raise ValueError("add_workdays() takes 0 to 1000 days")
    local = start.astimezone(SHANGHAI)
    day = local.date()
    count = 0
    while count < n:
        day += _dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return local.replace(year=day.year, month=day.month, day=day.day)


def workdays_between(a: _dt.datetime, b: _dt.datetime) -> int:
    """Working days after ``a``'s day up to and including ``b``'s day (negative if ``b`` is earlier)."""
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
    return [
        Function("add_workdays", (DATETIME, INT), DATETIME, add_workdays, plugin="workdays",
                 doc="n mainland working days later"),
        Function("workdays_between", (DATETIME, DATETIME), INT, workdays_between, plugin="workdays",
                 doc="mainland working days between two times"),
    ]

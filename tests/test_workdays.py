"""Business days on the mainland calendar (plugins/workdays.py, from the chinesecalendar package).

Expected values come from the State Council holiday notices, not from the code:

* National Day 2024: 10月1日至7日放假调休, 共7天; 9月29日(周日)、10月12日(周六)上班.
  9月28日 (Sat) is an ordinary weekend day.
* Spring Festival 2025: 1月28日(农历除夕)至2月4日放假调休, 共8天; 1月26日(周日)、2月8日(周六)上班.
  1月25日 (Sat) and 2月9日 (Sun) are ordinary weekend days.
"""

from __future__ import annotations

import datetime as dt

import pytest

from policy_eval.expression import compile_expression, render
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import SHANGHAI
from policy_eval.plugins.workdays import add_workdays, is_workday, workdays_between


def t(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("day, working", [
    ("2024-09-27", True), ("2024-09-28", False), ("2024-09-29", True), ("2024-09-30", True),
    ("2024-10-01", False), ("2024-10-04", False), ("2024-10-07", False), ("2024-10-08", True),
    ("2024-10-11", True), ("2024-10-12", True), ("2024-10-13", False),
    ("2025-01-24", True), ("2025-01-25", False), ("2025-01-26", True), ("2025-01-27", True),
    ("2025-01-28", False), ("2025-01-31", False), ("2025-02-04", False), ("2025-02-05", True),
    ("2025-02-08", True), ("2025-02-09", False), ("2025-02-10", True),
])
def test_is_workday(day: str, working: bool) -> None:
    assert is_workday(dt.date.fromisoformat(day)) is working


@pytest.mark.parametrize("start, n, expected", [
    # National Day 2024
    ("2024-09-27T18:00:00", 1, "2024-09-29T18:00:00+08:00"),  # Saturday off, Sunday 9/29 is a make-up day
    ("2024-09-29T10:00:00", 1, "2024-09-30T10:00:00+08:00"),
    ("2024-09-30T09:30:00", 1, "2024-10-08T09:30:00+08:00"),  # over the whole holiday
    ("2024-09-30T09:30:00", 4, "2024-10-11T09:30:00+08:00"),
    ("2024-09-30T09:30:00", 5, "2024-10-12T09:30:00+08:00"),  # Saturday 10/12 is a make-up day
    ("2024-09-30T09:30:00", 6, "2024-10-14T09:30:00+08:00"),
    ("2024-10-03T12:00:00", 1, "2024-10-08T12:00:00+08:00"),  # from inside the holiday
    ("2024-10-03T12:00:00", 0, "2024-10-03T12:00:00+08:00"),
    # Spring Festival 2025
    ("2025-01-24T17:00:00", 1, "2025-01-26T17:00:00+08:00"),  # Sunday 1/26 is a make-up day
    ("2025-01-24T17:00:00", 2, "2025-01-27T17:00:00+08:00"),
    ("2025-01-27T12:00:00", 1, "2025-02-05T12:00:00+08:00"),  # 除夕 1/28 to 2/4 off
    ("2025-01-27T12:00:00", 4, "2025-02-08T12:00:00+08:00"),  # Saturday 2/8 is a make-up day
    ("2025-01-27T12:00:00", 5, "2025-02-10T12:00:00+08:00"),
])
def test_add_workdays(start: str, n: int, expected: str) -> None:
    assert add_workdays(t(start), n).isoformat() == expected


def test_days_are_shanghai_days_whatever_the_offset() -> None:
    # 2024-09-30T17:00Z is 2024-10-01 01:00 in Shanghai: a holiday; the next working day is 10/8
    assert add_workdays(t("2024-09-30T17:00:00+00:00"), 1).isoformat() == "2024-10-08T01:00:00+08:00"
    assert workdays_between(t("2024-09-30T15:59:59+00:00"), t("2024-09-30T16:00:00+00:00")) == 0  # 9/30 → 10/1


@pytest.mark.parametrize("a, b, expected", [
    ("2024-09-28T00:00:00", "2024-10-13T23:59:59", 7),  # 9/29, 9/30, 10/8-10/11, 10/12
    ("2024-10-01T08:00:00", "2024-10-07T20:00:00", 0),
    ("2024-09-30T23:00:00", "2024-10-08T01:00:00", 1),
    ("2025-01-24T09:00:00", "2025-02-09T09:00:00", 6),  # 1/26, 1/27, 2/5-2/7, 2/8
    ("2025-01-27T09:00:00", "2025-02-04T18:00:00", 0),
    ("2025-02-09T09:00:00", "2025-01-24T09:00:00", -6),
    ("2024-12-31T09:00:00", "2025-01-02T09:00:00", 1),  # 元旦 2025-01-01 off
])
def test_workdays_between(a: str, b: str, expected: int) -> None:
    assert workdays_between(t(a), t(b)) == expected


@pytest.mark.parametrize("start", ["2024-09-26T10:00:00", "2024-09-28T10:00:00", "2024-10-05T10:00:00",
                                   "2025-01-23T10:00:00", "2025-01-25T10:00:00", "2025-02-01T10:00:00"])
def test_add_and_between_agree(start: str) -> None:
    for n in range(0, 16):
        assert workdays_between(t(start), add_workdays(t(start), n)) == n


def test_years_without_calendar_data_are_errors_not_guesses() -> None:
    with pytest.raises(ValueError, match="no data for 2099"):
        add_workdays(t("2099-03-02T10:00:00"), 1)
    with pytest.raises(ValueError, match="no data for 2003"):
        workdays_between(t("2003-06-01T10:00:00"), t("2004-01-05T10:00:00"))
    with pytest.raises(ValueError, match="0 to 1000"):
        add_workdays(t("2024-09-30T10:00:00"), -1)


def test_in_conditions() -> None:
    expr = compile_expression("add_workdays(2024-09-30T09:30:00, 1)")
    assert str(expr.type) == "datetime"
    assert render(expr.evaluate()) == "2024-10-08T09:30:00+08:00"
    assert compile_expression("workdays_between(2025-01-24T09:00:00, 2025-02-09T09:00:00) == 6").evaluate() is True
    # the appeals rule's deadline shape: 4 working days after receipt, due before the next day starts
    due = compile_expression("start_of_day(date_of(add_workdays(2024-09-30T09:30:00, 4))) + 1d")
    assert render(due.evaluate()) == "2024-10-12T00:00:00+08:00"
    with pytest.raises(EvalFailure, match="no data for 2099"):
        compile_expression("add_workdays(2099-03-02T10:00:00, 1)").evaluate()

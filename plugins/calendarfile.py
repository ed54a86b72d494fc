"""A holiday calendar given by the deployment, for the years the ``chinesecalendar`` package has no data for.

The State Council announces each year's holidays and make-up working days (调休上班) in the winter before it, and
the package publishes them some time later. Until then every working-day count that reaches the new year is
undetermined. An operator can give the announced days in a YAML file named by the environment variable
``POLICY_EVAL_CALENDAR``:

.. code-block:: yaml

    # 国务院办公厅关于2027年部分节假日安排的通知 (copy the days from the notice itself)
    2027:
      holidays: [2027-01-01, 2027-02-06, 2027-02-07]   # days off, weekdays and weekends alike
      workdays: [2027-02-20]                           # weekend days declared working days

A year in the file is complete: its working days are Monday to Friday less ``holidays``, plus ``workdays``. The
file's years take the place of the package's for those years (the package's other years are used as before).
The variable is read by each process (``--jobs`` workers and a local Dask cluster inherit it).

Input: the file's path. Output: ``{year: (holidays, workdays)}`` as frozensets of dates, or a
:class:`CalendarError` naming the file, line and column of the first problem.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import yaml

__all__ = ["CALENDAR_ENV", "CalendarError", "Calendar", "load_calendar", "calendar_from_environment"]

CALENDAR_ENV = "POLICY_EVAL_CALENDAR"
MAX_BYTES = 1 << 20  # a year holds at most 366 days: a larger file is no calendar

Calendar = dict[int, tuple[frozenset[_dt.date], frozenset[_dt.date]]]


class CalendarError(ValueError):
    """A calendar file that cannot be read, at ``file:line:col``."""


def _at(path: Path, node: yaml.Node | None) -> str:
    if node is None:
        return str(path)
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _day(path: Path, node: yaml.Node, year: int, key: str) -> _dt.date:
    value = node.value if isinstance(node, yaml.ScalarNode) else None
    try:
        day = _dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise CalendarError(f"{_at(path, node)}: {year}.{key}: not a date written YYYY-MM-DD: {value!r:.40}")
    if day.year != year:
        raise CalendarError(f"{_at(path, node)}: {year}.{key}: {day} is not in {year}")
    return day


def _days(path: Path, node: yaml.Node, year: int, key: str) -> frozenset[_dt.date]:
    if not isinstance(node, yaml.SequenceNode):
        raise CalendarError(f"{_at(path, node)}: {year}.{key}: a list of dates, e.g. [{year}-01-01]")
    return frozenset(_day(path, item, year, key) for item in node.value)


def load_calendar(path: str | Path) -> Calendar:
    """The calendar file at ``path`` (see the module), checked whole."""
    path = Path(path)
    try:
        if not path.is_file():
            raise CalendarError(f"{path}: no such file (named by {CALENDAR_ENV})")
        if path.stat().st_size > MAX_BYTES:
            raise CalendarError(f"{path}: larger than {MAX_BYTES} bytes: not a holiday calendar")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarError(f"{path}: cannot be read: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise CalendarError(f"{where}: not YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(root, yaml.MappingNode):
        raise CalendarError(f"{_at(path, root)}: a calendar file maps years to their days, e.g. "
                            "'2027: {holidays: [2027-01-01], workdays: []}'")
    calendar: Calendar = {}
    for key, value in root.value:
        text_year = key.value if isinstance(key, yaml.ScalarNode) else None
        if not (isinstance(text_year, str) and text_year.isascii() and text_year.isdigit() and len(text_year) == 4):
            raise CalendarError(f"{_at(path, key)}: a year written with 4 digits, not {text_year!r:.40}")
        year = int(text_year)
        if year in calendar:
            raise CalendarError(f"{_at(path, key)}: {year} is given twice")
        if not isinstance(value, yaml.MappingNode):
            raise CalendarError(f"{_at(path, value)}: {year}: holidays and workdays, each a list of dates")
        lists: dict[str, frozenset[_dt.date]] = {}
        for field, days in value.value:
            name = field.value if isinstance(field, yaml.ScalarNode) else None
            if name not in ("holidays", "workdays"):
                raise CalendarError(f"{_at(path, field)}: {year}: unknown key {name!r:.40} (holidays, workdays)")
            if name in lists:
                raise CalendarError(f"{_at(path, field)}: {year}.{name} is given twice")
            lists[name] = _days(path, days, year, name)
        if "holidays" not in lists:
            raise CalendarError(f"{_at(path, value)}: {year}: no holidays list (a year without any is no "
                                "announced calendar; write 'holidays: []' if that is meant)")
        both = lists["holidays"] & lists.get("workdays", frozenset())
        if both:
            raise CalendarError(f"{_at(path, value)}: {year}: {min(both)} is both a holiday and a working day")
        calendar[year] = (lists["holidays"], lists.get("workdays", frozenset()))
    return calendar


def calendar_from_environment() -> Calendar:
    """The file ``POLICY_EVAL_CALENDAR`` names, or an empty calendar when the variable is unset or empty."""
    path = os.environ.get(CALENDAR_ENV)
    return load_calendar(path) if path else {}

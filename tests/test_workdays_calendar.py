"""A holiday calendar given by the deployment (plugins/calendarfile.py) for years chinesecalendar lacks.

On 2026-12-04 the installed chinesecalendar (1.11.0, the newest on the index) has no data for 2027, so an
appeal of 2026-12-30 answered on 2027-01-05 was undetermined with no way for an operator to give the announced
days (seed 000 第四, 3到4个工作日). The calendars below are MADE UP for the tests (not the State Council's 2027
notice): what is asserted is that the file's days decide, not what the 2027 holidays are.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policy_eval.plugins import workdays
from policy_eval.plugins.calendarfile import CALENDAR_ENV, CalendarError, load_calendar

APPEAL = {"kind": "appeal", "case_id": "AA22", "order": {"id": "O-AA", "store_id": "S-AA", "is_free_shipping": True},
          "refund_succeeded_at": "2026-12-30T09:00:00+08:00",
          "appeal": {"id": "AP-AA20", "submitted_at": "2026-12-30T10:00:00+08:00", "type": "judgement"},
          "result_at": "2027-01-08T10:00:00+08:00", "result": {"outcome": "rejected"}}
RULE = "appeal-result-within-4-workdays"
CLI = str(Path(sys.executable).with_name("policy-eval"))


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _outcome(tmp_path: Path, calendar: Path | None) -> tuple[int, str, str | None]:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(APPEAL), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != CALENDAR_ENV}
    if calendar is not None:
        env[CALENDAR_ENV] = str(calendar)
    proc = subprocess.run([CLI, "eval", "-f", "jsonl", "--detail", "full", str(case)],
                          capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode not in (0, 1):
        return proc.returncode, proc.stderr, None
    record = json.loads(proc.stdout.splitlines()[0])
    verdict = next(r for r in record["results"] if r["rule"] == RULE)
    return proc.returncode, proc.stderr, verdict["outcome"]


def test_without_a_calendar_a_count_into_a_year_the_package_lacks_is_undetermined(tmp_path: Path) -> None:
    assert _outcome(tmp_path, None)[2] == "undetermined"


def test_the_files_days_decide_the_count(tmp_path: Path) -> None:
    # 2026-12-31 is day 1; with 2027-01-01 off, 01-04, 01-05 and 01-06 are days 2-4: 01-08 is late
    one_day_off = _file(tmp_path, "2027:\n  holidays: [2027-01-01]\n")
    assert _outcome(tmp_path, one_day_off)[2] == "violated"
    # with 01-04..01-07 off as well, 01-08 is day 2: in time
    week_off = _file(tmp_path, "2027:\n  holidays: [2027-01-01, 2027-01-04, 2027-01-05, 2027-01-06, 2027-01-07]\n")
    assert _outcome(tmp_path, week_off)[2] == "complied"


def test_a_bad_file_stops_the_run_naming_its_line_and_column(tmp_path: Path) -> None:
    bad = _file(tmp_path, "2027:\n  holidays: [2027-01-01, 2026-12-31]\n")
    code, stderr, _ = _outcome(tmp_path, bad)
    assert code == 2
    assert f"{bad}:2:26: 2027.holidays: 2026-12-31 is not in 2027" in stderr


def test_is_workday_reads_the_given_year(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _file(tmp_path, "2027:\n  holidays: [2027-01-01]\n  workdays: [2027-01-09]\n")
    monkeypatch.setattr(workdays, "_GIVEN", load_calendar(path))
    assert workdays.is_workday(dt.date(2027, 1, 1)) is False  # a Friday, given as a holiday
    assert workdays.is_workday(dt.date(2027, 1, 2)) is False  # an ordinary Saturday
    assert workdays.is_workday(dt.date(2027, 1, 4)) is True  # an ordinary Monday
    assert workdays.is_workday(dt.date(2027, 1, 9)) is True  # a Saturday given as a working day
    assert workdays.is_workday(dt.date(2024, 10, 1)) is False  # a year the file lacks: the package's


def test_a_year_the_file_gives_takes_the_packages_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert workdays.is_workday(dt.date(2024, 10, 1)) is False  # National Day in the package
    monkeypatch.setattr(workdays, "_GIVEN", load_calendar(_file(tmp_path, "2024:\n  holidays: []\n")))
    assert workdays.is_workday(dt.date(2024, 10, 1)) is True


def test_the_missing_year_error_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workdays, "_GIVEN", {})
    with pytest.raises(ValueError, match=CALENDAR_ENV):
        workdays.is_workday(dt.date(2999, 1, 4))


@pytest.mark.parametrize("text, where, words", [
    ("2027:\n  holidays: [2027-13-01]\n", "2:14", "not a date written YYYY-MM-DD"),
    ("2027:\n  holidays: [1 January]\n", "2:14", "not a date written YYYY-MM-DD"),
    ("2027:\n  holiday: []\n", "2:3", "unknown key 'holiday'"),
    ("2027:\n  holidays: []\n2027:\n  holidays: []\n", "3:1", "2027 is given twice"),
    ("27:\n  holidays: []\n", "1:1", "a year written with 4 digits"),
    ("2027:\n  workdays: [2027-01-09]\n", "2:3", "no holidays list"),
    ("2027:\n  holidays: [2027-01-09]\n  workdays: [2027-01-09]\n", "2:3", "2027-01-09 is both"),
    ("2027:\n  holidays: 2027-01-01\n", "2:13", "a list of dates"),
    ("- 2027\n", "1:1", "maps years to their days"),
    ("2027: [\n", "2:1", "not YAML"),
])
def test_calendar_file_errors_are_located(tmp_path: Path, text: str, where: str, words: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(CalendarError) as err:
        load_calendar(path)
    assert str(err.value).startswith(f"{path}:{where}: ")
    assert words in str(err.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="no such file"):
        load_calendar(tmp_path / "nowhere.yaml")

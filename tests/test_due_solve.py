"""The candidate-instant solver (run/due/solve.py) on single expressions."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pytest

from policy_eval.expression import compile_expression
from policy_eval.lang.compiler import REF_TIME
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.due.solve import Solver, Unsolvable

DT = {"type": "string", "format": "date-time"}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "now": DT, "a": DT, "b": DT,
        "messages": {"type": "array", "items": {"type": "object", "properties": {"sent_at": DT}}},
    },
}
CASE = {"now": "2024-06-01T00:00:00+08:00", "a": "2024-06-03T20:10:00+08:00", "b": "2024-06-10T08:00:00+08:00",
        "messages": [{"sent_at": "2024-06-02T10:00:00+08:00"}, {"sent_at": "2024-06-02T11:30:00.5+08:00"}]}


def _at(text: str) -> _dt.datetime:
    return parse_instant(text)


def _solve(text: str, case: dict[str, Any] = CASE) -> list[_dt.datetime]:
    node = compile_expression(text, case_schema=SCHEMA).node
    got = Solver(["now"]).candidates([node], dict(case), {REF_TIME: None})
    return sorted({c.at for c in got})


@pytest.mark.parametrize(("text", "expected"), [
    ("now > a + 48h", ["2024-06-05T20:10:00+08:00"]),
    ("a + 48h < now", ["2024-06-05T20:10:00+08:00"]),
    ("now - a >= 2d", ["2024-06-05T20:10:00+08:00"]),
    ("a - now <= 1h", ["2024-06-03T19:10:00+08:00"]),
    ("-(now - a) > 1h", ["2024-06-03T19:10:00+08:00"]),
    ("now + 30m == a", ["2024-06-03T19:40:00+08:00"]),
    ("if exists(b) then now <= b else now <= a", ["2024-06-03T20:10:00+08:00", "2024-06-10T08:00:00+08:00"]),
    ("default(now, a) > b", ["2024-06-10T08:00:00+08:00"]),
    # max switches where now passes a; compared with b
    ("max(now, a) >= b", ["2024-06-03T20:10:00+08:00", "2024-06-10T08:00:00+08:00"]),
    ("any m in messages: now > m.sent_at + 1h",
     ["2024-06-02T11:00:00+08:00", "2024-06-02T12:30:00.500000+08:00"]),
    ("exists(now) and a < b", []),  # does not move
    ("now > a + days(1) and now < b",
     ["2024-06-04T20:10:00+08:00", "2024-06-10T08:00:00+08:00"]),
])
def test_candidates(text: str, expected: list[str]) -> None:
    assert _solve(text) == [_at(e) for e in expected]


def test_unknown_deadline_adds_no_instant() -> None:
    case = {k: v for k, v in CASE.items() if k != "a"}
    assert _solve("now > a + 48h", case) == []


def test_moving_on_both_sides() -> None:
    assert _solve("now - a > a - now") == [_at("2024-06-03T20:10:00+08:00")]
    assert _solve("now - a > a - now + 1h") == [_at("2024-06-03T20:40:00+08:00")]  # 2·now = 2·a + 1h
    # 2·now = 2·a + 1 µs has no solution at microsecond resolution: both neighbours are tried
    assert _solve("now - a > a - now + seconds(0.000001)") == [
        _at("2024-06-03T20:10:00+08:00"), _at("2024-06-03T20:10:00.000001+08:00")]


@pytest.mark.parametrize(("text", "culprit"), [
    ("date_of(now) == date_of(a)", "date_of(now)"),
    ("start_of_day(date_of(now)) > a", "date_of(now)"),
    ("(now - a) * 2 > 1h", "(now - a) * 2"),
    ("now - a + (now - b) > 1h", "now - a + (now - b)"),
])
def test_unsolvable_is_named(text: str, culprit: str) -> None:
    with pytest.raises(Unsolvable) as err:
        _solve(text)
    assert culprit in err.value.text
    assert "not solved exactly" in err.value.message or "moving time" in err.value.message


def test_workday_deadline_is_solved_when_it_does_not_move() -> None:
    # add_workdays of a fixed time is a constant deadline (workdays plugin): only `now` moves
    got = _solve("now < add_workdays(a, 2)")
    assert len(got) == 1 and got[0] > _at("2024-06-04T20:10:00+08:00")
    with pytest.raises(Unsolvable):
        _solve("add_workdays(now, 2) > b")

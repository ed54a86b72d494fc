"""Usability trial (policy authors, not programmers): how `explain` writes a duration and how `due` says what
keeps a deadline from being missed.

1. `explain` wrote "order.confirmed_at is 5d0.000001s before ...": a fraction of a second glued to the days.
   Whole durations stay as the language writes them (`3h12m`, as docs/due.md shows); one with a fraction is
   written with every unit down to the seconds, spaced (`5d 0h 0m 0.000001s`), exact.
2. `due` said "prevented if request.resubmission_of.rejected_at or ... is recorded by T": advice-like wording,
   and listing a time that, recorded alone, only leaves the verdict undetermined (half of a resubmission). It
   now says "it does not become violated if any one of ... is recorded at or before T" and lists only the
   events that decide the verdict otherwise.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
from pathlib import Path

import pytest
from policytext import after_sale_case, policy, rule, rules_text, write

from policy_eval.cli import run
from policy_eval.run.result import Outcome

ROOT = Path(__file__).resolve().parent.parent
OPEN = str(ROOT / "examples" / "due" / "open_requests.jsonl")
TZ = _dt.timezone(_dt.timedelta(hours=8))


def _run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue()


def test_explain_does_not_glue_a_fraction_of_a_second_to_the_days(tmp_path: Path) -> None:
    # submitted at confirmation; the rule wants it strictly later than confirmation + 5 days: the earliest
    # complying submission is 5 days and 1 microsecond later
    folder = write(tmp_path / "policies" / "p.yaml",
                   policy(rules_text(rule("late", "request.submitted_at > order.confirmed_at + 5d")))).parent
    case = tmp_path / "case.json"
    case.write_text(json.dumps(after_sale_case(submitted_at="2024-02-20T10:00:00+08:00")), encoding="utf-8")
    code, out = _run("explain", "-p", str(folder), str(case))
    assert code == 1, out
    assert ("would comply: request.submitted_at is 5d 0h 0m 0.000001s before the earliest value giving complied "
            "(2024-02-25T10:00:00.000001+08:00") in out
    assert "order.confirmed_at is 5d 0h 0m 0.000001s after the latest value giving complied" in out
    assert "5d0.000001s" not in out.split("would comply", 1)[1]


@pytest.mark.parametrize(("td", "text"), [
    (_dt.timedelta(days=5, microseconds=1), "5d 0h 0m 0.000001s"),
    (_dt.timedelta(minutes=1, seconds=30, microseconds=250000), "1m 30.25s"),
    (_dt.timedelta(microseconds=500000), "0.5s"),
    (_dt.timedelta(hours=2, microseconds=10), "2h 0m 0.00001s"),
    (-_dt.timedelta(days=1, microseconds=1), "-1d 0h 0m 0.000001s"),
    # whole seconds: as the language writes durations (and as `due` writes "in 1d11h10m")
    (_dt.timedelta(hours=3, minutes=12), "3h12m"),
    (_dt.timedelta(days=1, hours=11, minutes=10), "1d11h10m"),
    (_dt.timedelta(0), "0s"),
])
def test_human_duration(td: _dt.timedelta, text: str) -> None:
    from policy_eval.run.due.model import human_duration

    assert human_duration(td) == text


def test_due_says_in_plain_words_what_keeps_the_deadline() -> None:
    code, out = _run("due", OPEN, "--within", "7d")
    assert code == 1, out
    first = out.splitlines()[0]
    assert ("set by `deadline`; it does not become violated if any one of request.withdrawn_at, "
            "request.refund_succeeded_at or request.merchant_response.at is recorded at or before "
            "2024-06-05T20:10:00+08:00; otherwise auto_refund 89.00 CNY to the buyer") in first
    assert "prevented" not in out
    # recording only the rejection time of an earlier request leaves the verdict undetermined (its submission
    # missing): that prevents nothing, so it is not offered
    assert "resubmission_of" not in out


def test_due_json_lists_only_the_events_that_decide_otherwise() -> None:
    code, out = _run("due", OPEN, "--within", "7d", "--format", "json")
    doc = json.loads(out)
    handling = next(d for d in doc["due"] if d["id"] == "after-sales/refund-only-handling-limit")
    assert handling["prevent"] == ["request.withdrawn_at", "request.refund_succeeded_at",
                                   "request.merchant_response.at"]


def test_an_exclusive_deadline_says_before() -> None:
    from policy_eval.run.due import Forecast, Status

    boundary = _dt.datetime(2024, 10, 12, tzinfo=TZ)
    f = Forecast(policy="appeals", rule="result-due", version="1", title="t", clause=None, severity="low",
                 outcome=Outcome.NOT_APPLICABLE, status=Status.CHANGES, at=boundary, boundary=boundary,
                 becomes=Outcome.VIOLATED, prevent=("result_at",))
    assert f.describe().endswith("; it does not become violated if result_at is recorded before "
                                 "2024-10-12T00:00:00+08:00")
    two = Forecast(policy="p", rule="r", version="1", title="t", clause=None, severity="low",
                   outcome=Outcome.NOT_APPLICABLE, status=Status.CHANGES, at=boundary + _dt.timedelta(microseconds=1),
                   boundary=boundary, becomes=Outcome.VIOLATED, prevent=("a.at", "b.at"))
    assert two.describe().endswith("; it does not become violated if a.at or b.at is recorded at or before "
                                   "2024-10-12T00:00:00+08:00")

"""Effective-dated versions: which version of a policy judges a case, and dated parameters.

Fixture: tests/data/policies/good/refunds -- version 1 in force [2020-01-01, 2021-01-01),
version 2 in force [2021-01-01, 2030-01-01) (Asia/Shanghai), picked by request.submitted_at.
Version 1 has a dated parameter refund_window: 7d before 2020-06-01, 15d from then.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import pytest

from policy_eval.api import Rulebook as ApiRulebook
from policy_eval.lang.values import SHANGHAI
from policy_eval.rulebook import Rulebook, load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, Outcome, RuleResult

DATA = Path(__file__).parent / "data" / "policies"
GOOD = DATA / "good"
SCHEMAS = DATA / "schemas"


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook(GOOD, schema_dir=SCHEMAS)


@pytest.fixture(scope="module")
def evaluator(book: Rulebook) -> Evaluator:
    return Evaluator(book)


def _case(submitted: str | None, request: dict[str, Any] | None = None, **parts: Any) -> dict[str, Any]:
    """A refund case submitted at ``submitted`` (absent if None); ``parts`` are further top-level objects."""
    req: dict[str, Any] = {"type": "question", **(request or {})}
    if submitted is not None:
        req["submitted_at"] = submitted
    return {"kind": "refund", "case_id": "c", "request": req, **parts}


def _by_rule(result: CaseResult) -> dict[str | None, RuleResult]:
    return {r.rule: r for r in result.results}


def _versions(result: CaseResult) -> set[str | None]:
    return {r.version for r in result.results}


def test_versions_are_ordered_and_found_by_instant(book: Rulebook) -> None:
    history = book.policies["refunds"]
    assert [v.version for v in history.versions] == ["1", "2"]
    assert history.versions[0].effective_until == history.versions[1].effective_from \
        == _dt.datetime(2021, 1, 1, tzinfo=SHANGHAI)
    assert history.at(_dt.datetime(2020, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)).version == "1"
    assert history.at(_dt.datetime(2021, 1, 1, tzinfo=SHANGHAI)).version == "2"
    assert history.at(_dt.datetime(2030, 1, 1, tzinfo=SHANGHAI)) is None


@pytest.mark.parametrize(("submitted", "version"), [
    ("2020-01-01T00:00:00+08:00", "1"),   # first second of version 1 (inclusive)
    ("2020-12-31T23:59:59+08:00", "1"),   # last second of version 1
    ("2021-01-01T00:00:00+08:00", "2"),   # first second of version 2
    ("2020-12-31T23:59:59", "1"),         # no offset: Asia/Shanghai
    ("2020-12-31T15:59:59Z", "1"),        # = 2020-12-31T23:59:59+08:00
    ("2020-12-31T16:00:00Z", "2"),        # still 2020-12-31 in UTC, already 2021 in Shanghai
    ("2020-12-31T16:30:00+00:00", "2"),
    ("2021-01-01T00:30:00+09:00", "1"),   # Tokyo half past midnight = 23:30 in Shanghai
    ("2029-12-31T23:59:59.999999+08:00", "2"),
])
def test_the_version_in_force_at_the_reference_time_judges(evaluator: Evaluator, submitted: str,
                                                            version: str) -> None:
    result = evaluator.evaluate(_case(submitted))
    assert result.results and _versions(result) == {version}
    assert {r.rule for r in result.results} == (
        {"reply-in-time", "refund-window"} if version == "1"
        else {"reply-in-time", "refund-amount", "received-before-request", "replied-or-quick"})
    assert _by_rule(result)["reply-in-time"].message.startswith(f"v{version}:")
    assert {r.reference_time for r in result.results} == {parse_instant(submitted).isoformat()}


@pytest.mark.parametrize("submitted", ["2019-12-31T23:59:59+08:00", "2019-12-31T15:59:59+00:00",
                                       "2030-01-01T00:00:00+08:00", "2031-05-05T10:00:00+08:00"])
def test_a_case_in_no_period_is_not_applicable_with_a_reason(evaluator: Evaluator, submitted: str) -> None:
    result = evaluator.evaluate(_case(submitted))
    assert result.error is None
    (only,) = result.results
    at = parse_instant(submitted).isoformat()
    assert (only.policy, only.version, only.rule, only.outcome) == ("refunds", None, None, Outcome.NOT_APPLICABLE)
    assert only.reason == f"no version of refunds in force at {at}"
    assert only.reference_time == at


def test_as_of_overrides_the_reference_time(evaluator: Evaluator) -> None:
    case = _case("2021-06-01T10:00:00+08:00")
    assert _versions(evaluator.evaluate(case)) == {"2"}
    forced = evaluator.evaluate(case, as_of=parse_instant("2020-12-31T23:59:59+08:00"))
    assert _versions(forced) == {"1"}
    assert forced.as_of == "2020-12-31T23:59:59+08:00"
    assert forced.to_dict()["as_of"] == "2020-12-31T23:59:59+08:00"
    assert {r.reference_time for r in forced.results} == {"2020-12-31T23:59:59+08:00"}
    outside = evaluator.evaluate(case, as_of=parse_instant("2019-06-01"))
    assert [r.reason for r in outside.results] == ["no version of refunds in force at 2019-06-01T00:00:00+08:00"]


def test_as_of_also_picks_a_version_when_the_reference_time_is_missing(evaluator: Evaluator) -> None:
    result = evaluator.evaluate(_case(None), as_of=parse_instant("2021-02-10"))
    assert _versions(result) == {"2"}


def test_as_of_through_the_api() -> None:
    api = ApiRulebook.load(GOOD, schemas=SCHEMAS)
    assert _versions(api.evaluate(_case("2021-06-01T10:00:00+08:00"), as_of="2020-06-01")) == {"1"}
    assert _versions(api.evaluate(_case("2021-06-01T10:00:00+08:00"), as_of=_dt.date(2020, 6, 1))) == {"1"}


@pytest.mark.parametrize("request_part", [{"type": "refund"}, None])
def test_missing_reference_time_is_undetermined_naming_the_path(evaluator: Evaluator,
                                                                request_part: dict[str, Any] | None) -> None:
    case: dict[str, Any] = {"kind": "refund", "case_id": "c"}
    if request_part is not None:
        case["request"] = request_part
    (only,) = evaluator.evaluate(case).results
    assert (only.policy, only.version, only.outcome) == ("refunds", None, Outcome.UNDETERMINED)
    assert only.missing == ("request.submitted_at",)
    assert "request.submitted_at" in only.reason


def test_unreadable_reference_time_is_undetermined_with_the_error(evaluator: Evaluator) -> None:
    (only,) = evaluator.evaluate(_case("the day before yesterday")).results
    assert only.outcome is Outcome.UNDETERMINED
    assert only.error is not None and "request.submitted_at" in only.error
    assert "the day before yesterday" in only.error


def test_a_case_of_another_kind_is_not_judged_by_the_policy(evaluator: Evaluator) -> None:
    result = evaluator.evaluate({"kind": "chat", "case_id": "x", "text": "hi"})
    assert result.error is None and result.results == ()


# --- the dated parameter refund_window (version 1): 7d before 2020-06-01, 15d from then -------------------------
def _window(evaluator: Evaluator, received: str, submitted: str, **kwargs: Any) -> RuleResult:
    case = _case(submitted, request={"type": "refund"}, order={"received_at": received})
    return _by_rule(evaluator.evaluate(case, **kwargs))["refund-window"]


@pytest.mark.parametrize(("received", "submitted", "outcome", "window"), [
    # 10 days after receipt: too late under 7d, in time under 15d
    ("2020-05-10T10:00:00+08:00", "2020-05-20T10:00:00+08:00", Outcome.VIOLATED, "7d"),
    ("2020-06-05T10:00:00+08:00", "2020-06-15T10:00:00+08:00", Outcome.COMPLIED, "15d"),
    # 7 days exactly is inside the 7d window
    ("2020-05-10T10:00:00+08:00", "2020-05-17T10:00:00+08:00", Outcome.COMPLIED, "7d"),
    ("2020-05-10T10:00:00+08:00", "2020-05-17T10:00:01+08:00", Outcome.VIOLATED, "7d"),
    # either side of the date the value changes (the reference time decides, not the receipt)
    ("2020-05-22T00:00:00+08:00", "2020-05-31T23:59:59+08:00", Outcome.VIOLATED, "7d"),
    ("2020-05-22T00:00:00+08:00", "2020-06-01T00:00:00+08:00", Outcome.COMPLIED, "15d"),
    ("2020-05-22T00:00:00+08:00", "2020-05-31T16:00:00Z", Outcome.COMPLIED, "15d"),  # 2020-06-01 in Shanghai
])
def test_dated_parameter_takes_the_value_in_force_at_the_reference_time(
        evaluator: Evaluator, received: str, submitted: str, outcome: Outcome, window: str) -> None:
    verdict = _window(evaluator, received, submitted)
    assert verdict.outcome is outcome
    assert verdict.version == "1"
    if outcome is Outcome.VIOLATED:
        assert f"after the {window} window closed" in (verdict.message or "")


def test_dated_parameter_follows_as_of(evaluator: Evaluator) -> None:
    received, submitted = "2020-06-05T10:00:00+08:00", "2020-06-15T10:00:00+08:00"
    assert _window(evaluator, received, submitted).outcome is Outcome.COMPLIED
    forced = _window(evaluator, received, submitted, as_of=parse_instant("2020-05-15"))
    assert forced.outcome is Outcome.VIOLATED
    assert "after the 7d window closed at 2020-06-12T10:00:00+08:00" in (forced.message or "")


def test_dated_parameter_value_shows_in_the_explanation() -> None:
    explainer = Evaluator(load_rulebook(GOOD, schema_dir=SCHEMAS), explain=True)
    case = _case("2020-06-15T10:00:00+08:00", request={"type": "refund"}, order={"received_at": "2020-06-05T10:00:00+08:00"})
    verdict = _by_rule(explainer.evaluate(case))["refund-window"]
    assert {"expr": "refund_window", "value": "15d"} in verdict.explanation


def _around(instants: list[_dt.datetime]) -> list[_dt.datetime]:
    """Each instant, a microsecond either side, and the same three in two other offsets."""
    out = []
    for t in instants:
        for d in (_dt.timedelta(microseconds=-1), _dt.timedelta(0), _dt.timedelta(microseconds=1)):
            for zone in (SHANGHAI, _dt.UTC, _dt.timezone(_dt.timedelta(hours=-5, minutes=-30))):
                out.append((t + d).astimezone(zone))
    return out


def _walk(history: Any, when: _dt.datetime) -> Any:
    """The version in force at ``when`` as a walk of the versions finds it: the first whose period holds it."""
    return next((v for v in history.versions if v.in_force(when)), None)


def _history(book: Rulebook, periods: list[tuple[int, int | None]]) -> Any:
    """A history of the fixture's first version, once a period: (from, until) in days after 2020-01-01."""
    from dataclasses import replace

    from policy_eval.rulebook import PolicyHistory

    start = _dt.datetime(2020, 1, 1, tzinfo=SHANGHAI)
    base = book.policies["refunds"].versions[0]
    return PolicyHistory("p", "refund", [
        replace(base, version=str(i), effective_from=start + _dt.timedelta(days=a),
                effective_until=None if b is None else start + _dt.timedelta(days=b))
        for i, (a, b) in enumerate(periods, 1)])


@pytest.mark.parametrize("periods", [
    # (from, until) per version, days after 2020-01-01 (until None: open-ended)
    [(0, 366), (366, None)],          # the fixture's shape: back to back, the last open-ended
    [(0, 100), (200, 300)],           # a gap between two versions, none after the last
    [(0, None)],
    [(0, 10), (10, 20), (25, 30), (30, None)],
])
def test_periods_pick_what_the_history_picks_around_every_boundary(book: Rulebook,
                                                                   periods: list[tuple[int, int | None]]) -> None:
    """PolicyHistory.at bisects the boundaries: at each one, a microsecond either side and in other offsets, it
    names the version a walk of the versions names (None before the first, in a gap, after the last)."""
    start = _dt.datetime(2020, 1, 1, tzinfo=SHANGHAI)
    history = _history(book, periods)
    bounds = [start + _dt.timedelta(days=d) for a, b in periods for d in (a, b) if d is not None]
    picked = []
    for when in _around(bounds + [start - _dt.timedelta(days=1), start + _dt.timedelta(days=5000)]):
        want = _walk(history, when)
        assert history.at(when) is want, when
        picked.append(want.version if want is not None else None)
    assert None in picked and {str(i) for i in range(1, len(periods) + 1)} <= set(picked)


def test_periods_of_the_bundled_rulebook_agree_with_the_history() -> None:
    bundled = load_rulebook(None)
    for history in bundled.policies.values():
        edges = [v.effective_from for v in history.versions] + \
                [v.effective_until for v in history.versions if v.effective_until is not None]
        for when in _around(edges):
            assert history.at(when) is _walk(history, when), (history.id, when)


def test_the_history_finds_its_periods_once_and_again_when_its_versions_change(
        book: Rulebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """The boundaries are sorted on the first question, after which a question makes no ``in_force`` call
    (one bisect); a versions list replaced (as run.diff.latest_only does on a copy) or grown is seen, and so
    is the order check_versions sorts it into."""
    from policy_eval.rulebook.policy import PolicyVersion
    from policy_eval.rulebook.policy.versions import check_versions

    history = _history(book, [(0, 10), (10, 20), (25, None)])
    start = _dt.datetime(2020, 1, 1, tzinfo=SHANGHAI)
    instants = [start + _dt.timedelta(days=d) for d in (-1, 0, 5, 10, 22, 25, 400)]
    calls = []
    in_force = PolicyVersion.in_force
    monkeypatch.setattr(PolicyVersion, "in_force", lambda v, at: calls.append(at) or in_force(v, at))
    assert [getattr(history.at(t), "version", None) for t in instants] == [None, "1", "1", "2", None, "3", "3"]
    made = len(calls)
    for t in instants * 3:
        history.at(t)
    assert made and len(calls) == made  # none after the first question
    history.versions = _history(book, [(10, None)]).versions  # replaced
    assert [getattr(history.at(t), "version", None) for t in instants] == [None, None, None, "1", "1", "1", "1"]
    history.versions.append(_history(book, [(0, 1), (0, None)]).versions[1])  # grown: a "2" that overlaps "1"
    assert [getattr(history.at(t), "version", None) for t in instants] == [None, "2", "2", "1", "1", "1", "1"]
    assert check_versions(history)  # sorted in place ("2" first), the overlap reported
    assert [getattr(history.at(t), "version", None) for t in instants] == [None] + ["2"] * 6
    assert all(history.at(t) is _walk(history, t) for t in _around(instants))

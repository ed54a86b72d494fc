"""The straight path (run.straight) gives the general path's answer, or hands the case back.

A batch record goes straight through each policy's kernel (full detail: its written run) unless it needs more.
Each case here is evaluated twice by evaluators of one rulebook (findings detail, and full detail where said), one with the straight path and one without it, and the two results
must be equal field by field and write the same bytes. The cases: every golden case, with each of its values made
null, removed or given the wrong type by turns; generated records of every kind; and cases the straight path
must hand back (no reference time, no version in force, a null on a path the rules read) or decide with a rule
over its budget.
"""

from __future__ import annotations

import copy
import datetime as _dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
from goldencorpus import golden_tests

from policy_eval.lang.timestamps import MEMO, parse_timestamp
from policy_eval.lang.values import ValueParseError
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run import compose
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult

ROOT = Path(__file__).resolve().parent.parent
TESTS = golden_tests()


class Counted:
    """An evaluator's straight path, counting the cases it answered and those it handed back."""

    def __init__(self, ev: Evaluator) -> None:
        assert ev._straight is not None
        self.inner = ev._straight.result
        self.answered = self.handed_back = 0
        ev._straight.result = self  # type: ignore[method-assign]

    def __call__(self, *args: Any) -> CaseResult | None:
        made = self.inner(*args)
        if made is None:
            self.handed_back += 1
        else:
            self.answered += 1
        return made


def _pair(rb: Any, detail: str = "findings", **options: Any) -> tuple[Evaluator, Evaluator, Counted]:
    straight = Evaluator(rb, detail=detail, **options)
    general = Evaluator(rb, detail=detail, **options)
    general._straight = None
    return straight, general, Counted(straight)


def _same(straight: Evaluator, general: Evaluator, case: dict[str, Any], as_of: _dt.datetime | None = None,
          record: int | None = 7) -> CaseResult:
    """Both paths' results, equal; told that the case holds no null when it holds none (as the batch says when the
    record's text has no ``null``), else left to look."""
    null_free = not compose.has_null(case)
    a = straight.evaluate(case, as_of=as_of, source="cases.jsonl", record=record, null_free=null_free)
    b = general.evaluate(case, as_of=as_of, source="cases.jsonl", record=record, null_free=null_free)
    assert a == b
    assert (a.case_id, a.kind, a.source, a.record, a.rulebook, a.as_of, a.error, a.versions, a.quiet) == \
        (b.case_id, b.kind, b.source, b.record, b.rulebook, b.as_of, b.error, b.versions, b.quiet)
    assert a.results == b.results and a.tally() == b.tally()
    assert a.to_json_bytes() == b.to_json_bytes()
    return a


def _variants(case: dict[str, Any], turn: int) -> Iterator[dict[str, Any]]:
    """The case, then each of its values (outside lists) made null, removed or given the wrong type, by turns."""
    yield case
    paths: list[tuple[str, ...]] = []

    def walk(node: dict[str, Any], at: tuple[str, ...]) -> None:
        for key, value in node.items():
            if key != "kind":
                paths.append((*at, key))
                if isinstance(value, dict):
                    walk(value, (*at, key))
    walk(case, ())
    for n, path in enumerate(paths):
        other = copy.deepcopy(case)
        node = other
        for key in path[:-1]:
            node = node[key]
        change = (n + turn) % 3
        if change == 0:
            node[path[-1]] = None
        elif change == 1:
            del node[path[-1]]
        else:
            node[path[-1]] = [1] if isinstance(node[path[-1]], str) else "x"
        yield other


@pytest.fixture(scope="module")
def pairs() -> Any:
    made: dict[tuple[str | None, str], tuple[Evaluator, Evaluator, Counted]] = {}

    def get(params: str | None, detail: str = "findings") -> tuple[Evaluator, Evaluator, Counted]:
        if (params, detail) not in made:
            made[params, detail] = _pair(load_rulebook(params=params), detail)
        return made[params, detail]
    return get


@pytest.mark.parametrize("detail", ["findings", "full"])
def test_the_golden_corpus_and_its_variants(pairs: Any, detail: str) -> None:
    """Every golden case; every fourth one also with each value made null, removed or mistyped. (Full detail takes
    no case with a null: those are handed back.)"""
    compared = with_null = 0
    for index, test in enumerate(TESTS):
        straight, general, _ = pairs(test.params, detail)
        as_of = parse_instant(test.as_of) if test.as_of else None
        for case in _variants(test.case, index) if index % 4 == 0 else [test.case]:
            _same(straight, general, case, as_of)
            compared += 1
            with_null += compose.has_null(case)
    counted = pairs(None, detail)[2]
    assert compared > 5000 and with_null > 1000, (compared, with_null)
    # most cases go straight through; some are handed back (no reference time, no version in force, a null read;
    # in full detail any null, and a version not written from shapes: dependencies among its rules)
    least = 4000 if detail == "findings" else 2000
    assert counted.answered > least and counted.handed_back > 300, (counted.answered, counted.handed_back)


@pytest.mark.parametrize("remembered", [True, False])
def test_a_plain_reference_time_read_from_the_memo_or_by_its_function(pairs: Any, remembered: bool) -> None:
    """The after-sale policies' reference time (``request.submitted_at``) is looked up in lang.timestamps' memo where
    the record's read left it, else read by its compiled function: both give the general path's answers, on every
    golden after-sale case and its variants (the reference time missing, null, mistyped or in another form)."""
    straight, general, _ = pairs(None)
    assert straight._straight is not None
    assert [plain for *_, plain in straight._straight._routes["after_sale"]] == [("request", "submitted_at")] * 2
    compared = 0
    for index, test in enumerate(TESTS):
        if test.params is not None or test.case.get("kind") != "after_sale":
            continue
        for case in _variants(test.case, index) if index % 2 == 0 else [test.case]:
            text = case.get("request", {}).get("submitted_at") if isinstance(case.get("request"), dict) else None
            if remembered and isinstance(text, str):
                try:
                    MEMO[text] = parse_timestamp(text)  # (as the record's read leaves it)
                except ValueParseError:
                    pass
            elif isinstance(text, str):
                MEMO.pop(text, None)
            _same(straight, general, case)
            compared += 1
    assert compared > 500


def test_another_reference_time_is_read_by_its_function(tmp_path: Path) -> None:
    """Only a timestamp read from a record at the root is looked up: a sum, or a timestamp at the root, is not."""
    refs = (("a-lag", "request.submitted_at + 1h"), ("b-plain", "request.submitted_at"), ("c-seen", "snapshot_at"))
    for name, ref in refs:
        pt.write(tmp_path / f"{name}.yaml", pt.policy(pt.rules_text(pt.rule("in-window", "request.submitted_at <= "
                                                                            "order.confirmed_at + 15d")),
                                                      id=name, reference_time=ref, effective_from="2020-01-01"))
    straight, general, _ = _pair(pt.load(tmp_path))
    assert straight._straight is not None
    assert [plain for *_, plain in straight._straight._routes["after_sale"]] == [None, ("request", "submitted_at"),
                                                                                 None]
    for test in TESTS:
        if test.params is None and test.case.get("kind") == "after_sale":
            _same(straight, general, test.case)


@pytest.mark.parametrize("detail", ["findings", "full"])
def test_generated_records_of_every_kind(detail: str) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    straight, general, counted = _pair(load_rulebook(), detail)
    kinds = set()
    for n, case in enumerate(generate(1500, seed=11), 1):
        kinds.add(_same(straight, general, case, record=n).kind)
    assert counted.answered > 1000 and len(kinds) >= 3, (counted.answered, kinds)


def test_a_fixed_as_of_and_a_selection() -> None:
    """``--as-of`` picks every policy's version; a selection leaves the unselected rules uncounted."""
    as_of = _dt.datetime(2024, 3, 1, tzinfo=_dt.timezone(_dt.timedelta(hours=8)))
    rb = load_rulebook()
    for options in ({}, {"only": ["after-sales/refund-only-window"]}, {"skip": ["after-sales/refund-only-window"]},
                    {"min_severity": "high"}, {"detail": "full"}, {"detail": "full", "min_severity": "high"}):
        straight, general, counted = _pair(rb, options.pop("detail", "findings"), **options)
        for test in TESTS:
            if test.params is None:
                _same(straight, general, test.case, as_of)
        assert counted.answered > 500, options


CHAIN = pt.policy(pt.rules_text(
    pt.rule("in-window", "request.submitted_at <= order.received_at + 15d"),
    pt.rule("refunded", "exists(request.refund_succeeded_at)", depends_on="{in-window: complied}")))


def _chain_case(**order: Any) -> dict[str, Any]:
    return {"kind": "after_sale", "case_id": "C1", "snapshot_at": "2024-03-20T00:00:00+08:00",
            "order": {"id": "O1", "confirmed_at": "2024-02-20T10:00:00+08:00", **order},
            "request": {"id": "R1", "type": "refund_only", "submitted_at": "2024-03-01T10:00:00+08:00"}}


def test_cases_it_hands_back(tmp_path: Path) -> None:
    """No reference time, or none in a version's period: handed back, and the general path's policy-level
    verdict says so. Dependencies are followed as on the general path."""
    rb = pt.load(pt.write(tmp_path / "demo.yaml", CHAIN).parent)
    straight, general, counted = _pair(rb)
    results = [_same(straight, general, case) for case in (_chain_case(received_at="2024-02-25T10:00:00+08:00"),
                                                          _chain_case())]
    assert counted.answered == 2 and counted.handed_back == 0
    assert [[(r.rule, r.outcome.value) for r in result.results] for result in results] == [
        [("refunded", "violated")], [("in-window", "undetermined"), ("refunded", "undetermined")]]
    no_time = _chain_case()
    del no_time["request"]["submitted_at"]  # the policy's reference time
    early = _chain_case()
    early["request"]["submitted_at"] = "2001-01-01T00:00:00+08:00"  # before the policy's effective date
    for case in (no_time, early):
        result = _same(straight, general, case)
        assert [r.rule for r in result.results] == [None]  # the policy-level verdict
    assert counted.handed_back == 2
    # a null where no rule reads: straight through; where one reads: handed back, and the rule is undetermined
    unread = _chain_case(received_at="2024-02-25T10:00:00+08:00", category=None)
    read = _chain_case(received_at=None)
    assert [(r.rule, r.outcome.value) for r in _same(straight, general, unread).results] == [("refunded", "violated")]
    assert counted.answered == 3 and counted.handed_back == 2
    assert [(r.rule, r.outcome.value) for r in _same(straight, general, read).results] == [
        ("in-window", "undetermined"), ("refunded", "undetermined")]
    assert counted.answered == 3 and counted.handed_back == 3


def test_policies_of_a_kind_with_their_own_reference_times(tmp_path: Path) -> None:
    """Each policy's version is chosen at its own reference time; a policy whose reference time reads as the one
    before's is read once. A policy not yet in force at its reference time (though in force at the other
    policy's) hands the case back, and the general path says so."""
    refs = (("a-submitted", "request.submitted_at", "2020-01-01"), ("b-confirmed", "order.confirmed_at", "2024-02-25"),
            ("c-confirmed", "order.confirmed_at", "2020-01-01"))
    for name, ref, since in refs:
        pt.write(tmp_path / f"{name}.yaml", pt.policy(pt.rules_text(pt.rule("in-window", "request.submitted_at <= "
                                                                            "order.confirmed_at + 15d")),
                                                      id=name, reference_time=ref, effective_from=since))
    rb = pt.load(tmp_path)
    straight, general, counted = _pair(rb)
    assert [shared for _, _, shared, *_ in straight._straight._routes["after_sale"]] == [False, False, True]
    inside = _same(straight, general, _chain_case(confirmed_at="2024-02-26T10:00:00+08:00"))
    assert inside.versions == (("a-submitted", "1"), ("b-confirmed", "1"), ("c-confirmed", "1"))
    assert counted.answered == 1 and counted.handed_back == 0
    before = _same(straight, general, _chain_case())  # confirmed 2024-02-20: b-confirmed is not in force yet
    assert counted.handed_back == 1
    assert [(r.policy, r.rule, r.outcome.value) for r in before.results] == [("b-confirmed", None, "not_applicable")]
    fixed = _same(straight, general, _chain_case(), as_of=parse_instant("2024-03-01T00:00:00+08:00"))
    assert fixed.versions == inside.versions and counted.answered == 2


def test_one_reference_text_with_two_parameter_values_is_read_for_each(tmp_path: Path) -> None:
    """``request.submitted_at + lag`` in two policies whose ``lag`` differs reads two times: the second policy is in
    force at its own (submitted + 30 days) though not at the first's, and the straight path says so."""
    for name, lag, since in (("a-lag", "0d", "2020-01-01"), ("b-lag", "30d", "2024-03-20")):
        body = f"params:\n  lag: {lag}\n" + pt.rules_text(pt.rule("in-window", "request.submitted_at <= "
                                                                   "order.confirmed_at + 15d"))
        pt.write(tmp_path / f"{name}.yaml", pt.policy(body, id=name, reference_time="request.submitted_at + lag",
                                                      effective_from=since))
    straight, general, counted = _pair(pt.load(tmp_path))
    assert [shared for _, _, shared, *_ in straight._straight._routes["after_sale"]] == [False, False]
    result = _same(straight, general, _chain_case())  # submitted 2024-03-01: b-lag is in force at 2024-03-31
    assert result.versions == (("a-lag", "1"), ("b-lag", "1")) and counted.answered == 1


LOOPS = pt.policy(pt.rules_text(
    pt.rule("loops", "all m in messages: all n in messages: m.sent_at <= n.sent_at or m.sender != n.sender"),
    pt.rule("plain", "len(messages) >= 1", title="Plain")), **pt.CHAT)


def test_a_rule_over_its_budget(tmp_path: Path) -> None:
    """A rule that runs out of budget on a record is undetermined, as on the general path; the rest is decided."""
    rb = pt.load(pt.write(tmp_path / "loops.yaml", LOOPS).parent, max_cost=10 ** 40)
    straight, general, counted = _pair(rb, budget=2_000)
    message = {"sender": "buyer", "text": "hi", "sent_at": "2024-03-01T10:00:00+08:00"}
    for n, expected in ((3, []), (100, [("loops", "undetermined")])):  # 100 x 100 visits: over the budget
        case = {"kind": "chat", "case_id": "C1", "messages": [message] * n}
        result = _same(straight, general, case)
        assert [(r.rule, r.outcome.value) for r in result.results] == expected
        assert result.quiet == (2 - len(expected), 0)
    assert "budget exceeded" in (result.results[0].error or "")
    assert counted.answered == 2


def test_full_detail_where_a_pattern_has_no_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the written path's bound on patterns a version's verdicts are made by its maker (a list, not a run):
    the straight path keeps them, as the general path does."""
    from policy_eval.run import written

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    monkeypatch.setattr(written, "MAX_SHAPES", 0)
    straight, general, counted = _pair(load_rulebook(), "full")
    for n, case in enumerate(generate(300, seed=5), 1):
        result = _same(straight, general, case, record=n)
        assert type(result) is CaseResult  # (none written from shapes)
    assert counted.answered > 200, counted.answered


def test_the_version_kept_for_a_year_is_the_one_in_force(tmp_path: Path) -> None:
    """The straight path keeps, by year, the version in force at every instant written in it (where the history says
    one is: PolicyHistory.settled) and takes it from there for the next case of that year; cases on both sides of a
    change of version, in several offsets, over the years around it, are decided as by the general path, by the
    version the history picks."""
    for version, since in (("1", "2020-01-01"), ("2", "2024-06-15")):
        text = pt.policy(pt.rules_text(pt.rule(
            "in-window", "request.submitted_at <= order.confirmed_at + " + ("15d" if version == "1" else "30d"))),
            version=version, effective_from=since)
        if version == "1":
            text = text.replace("effective_from: 2020-01-01\n", "effective_from: 2020-01-01\n  effective_until: 2024-06-15\n")
        pt.write(tmp_path / f"v{version}.yaml", text)
    rb = pt.load(tmp_path)
    straight, general, counted = _pair(rb)
    history = rb.policies["demo"]
    offsets = [_dt.timezone(_dt.timedelta(hours=h)) for h in (8, -11, 14, 0)]
    seen: set[int] = set()
    for year in range(2019, 2029):
        for month, day in ((1, 1), (6, 14), (6, 16), (12, 31)):
            for zone in offsets:
                submitted = _dt.datetime(year, month, day, 23, 30, tzinfo=zone)
                case = _chain_case(confirmed_at=(submitted - _dt.timedelta(days=20)).isoformat())
                case["request"]["submitted_at"] = submitted.isoformat()
                result = _same(straight, general, case)
                picked = history.at(submitted)
                assert result.versions == (("demo", None if picked is None else picked.version),), submitted
                seen.add(year)
    kept = straight._straight._routes["after_sale"][0][3]
    assert set(kept) == {2021, 2022, 2026, 2027, 2028}
    # only years no boundary is near (the changes fall in UTC years 2019 and 2024: an instant written in 2018 to 2020 or
    # 2023 to 2025 may lie either side of one, so those years are worked out each time)
    for year, (version, _) in kept.items():
        assert year not in (2018, 2019, 2020, 2023, 2024, 2025) and history.settled(year)
        assert version is history.at(_dt.datetime(year, 7, 1, tzinfo=offsets[0]))

"""``Rulebook.evaluate``'s own path (run.lazy.LazyVerdicts.result): a dict case checked by its kind's compiled
schema check alone, the version chosen once per reference time, the nulls looked for only in the objects the
rules read. Whatever takes it, the result is the general path's, field by field; whatever it cannot judge
(a schema error, an unknown kind, a null the rules read) goes the general way."""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
from test_lazy_verdicts import _record

from policy_eval.api import CaseResult, Rulebook
from policy_eval.plugins.hookspecs import hookimpl
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import FIELDS, LazyResult

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _general(**load: Any) -> Rulebook:
    """A rulebook whose every call goes the general path, verdicts built eagerly."""
    book = Rulebook.load(**load)
    book._lazy = None
    book._evaluator._lazy = None
    # findings detail: an evaluator of its own, made on first use; made here without its lazy path, so that
    # findings are compared with the general findings path (run.kernel), not with the lazy path again
    book._finder = Evaluator(book._book, detail="findings", lazy=True)
    book._finder._lazy = None
    return book


def _examples() -> list[dict[str, Any]]:
    cases = [json.loads(p.read_text(encoding="utf-8"), parse_float=Decimal) for p in sorted(EXAMPLES.glob("*.json"))]
    return [c for c in cases if isinstance(c, dict) and "kind" in c]


def _same(a: CaseResult, b: CaseResult, first: str = "rule") -> None:
    assert (a.case_id, a.kind, a.source, a.record, a.rulebook, a.as_of, a.error, a.versions, a.quiet) == \
        (b.case_id, b.kind, b.source, b.record, b.rulebook, b.as_of, b.error, b.versions, b.quiet)
    assert [_record(r, first) for r in a.results] == [_record(r, first) for r in b.results]
    assert a.to_dict() == b.to_dict()


@pytest.fixture(scope="module")
def books() -> tuple[Rulebook, Rulebook]:
    return Rulebook.load(), _general()


def _variants(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case, then with each top-level and second-level value made null, removed or of another type."""
    out = [case]
    for key in case:
        for inner in [None, *(case[key] if isinstance(case[key], dict) else ())]:
            for change in ("null", "delete", "wrong"):
                other = copy.deepcopy(case)
                node = other if inner is None else other[key]
                name = key if inner is None else inner
                if change == "null":
                    node[name] = None
                elif change == "delete":
                    del node[name]
                else:
                    node[name] = [1] if isinstance(node[name], str) else "x"
                out.append(other)
    return out


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_the_api_path_gives_the_general_paths_results(books: tuple[Rulebook, Rulebook], detail: str) -> None:
    """Every example, and variants of each (rejected ones among them), with and without ``as_of``."""
    quick, general = books
    taken = 0
    for i, case in enumerate(_examples()):
        for j, variant in enumerate(_variants(case) if i % 3 == 0 else [case]):
            as_of = parse_instant("2024-03-01") if j % 2 else None
            a = quick.evaluate(variant, as_of=as_of, detail=detail, source="s", record=j)
            b = general.evaluate(variant, as_of=as_of, detail=detail, source="s", record=j)
            _same(a, b, FIELDS[(i + j) % len(FIELDS)])
            taken += any(isinstance(r, LazyResult) for r in a.results)
    assert taken > 20  # not vacuous: the quick path answered most of them


def test_a_null_the_rules_do_not_read_keeps_the_quick_path(tmp_path: Path) -> None:
    """A null on a path the rules do not read does not send the case the general way, even beside one they
    read (in the same object); a null on a read path does; each gives the general path's verdicts."""
    text = pt.policy(pt.rules_text(pt.rule("in-window", "request.submitted_at <= order.confirmed_at + 15d")))
    pt.write(tmp_path / "policies" / "demo.yaml", text)
    quick = Rulebook.load(tmp_path / "policies", entry_points=False)
    general = _general(policies=tmp_path / "policies", entry_points=False)
    case = pt.after_sale_case()
    unread = pt.after_sale_case(merchant_response={"at": "2024-03-02T10:00:00+08:00", "action": "agree",
                                                   "note": None})
    (verdict,) = quick.evaluate(unread).results
    assert isinstance(verdict, LazyResult)
    _same(quick.evaluate(unread), general.evaluate(unread))
    for near in ({**case, "request": {**case["request"], "reason": None}},  # (in an object the rule reads)
                 {**case, "order": {**case["order"], "received_at": None}}):
        (verdict,) = quick.evaluate(near).results
        assert isinstance(verdict, LazyResult)
        _same(quick.evaluate(near), general.evaluate(near))
    read = {**case, "order": {**case["order"], "confirmed_at": None}}
    (verdict,) = quick.evaluate(read).results
    assert not isinstance(verdict, LazyResult) and verdict.outcome.value == "undetermined"
    _same(quick.evaluate(read), general.evaluate(read))


def test_the_version_follows_the_reference_time(tmp_path: Path) -> None:
    """Two versions: each call picks the one in force at its own reference time (as_of or the case's),
    however the calls alternate (the version last chosen is kept per policy, by reference time)."""
    body = pt.rules_text(pt.rule("in-window", "request.submitted_at <= order.confirmed_at + 15d"))
    pt.write(tmp_path / "policies" / "v1.yaml", pt.policy(body).replace(
        "  effective_from: 2020-01-01\n", "  effective_from: 2020-01-01\n  effective_until: 2024-03-01\n"))
    pt.write(tmp_path / "policies" / "v2.yaml", pt.policy(body, version="2", effective_from="2024-03-01"))
    book = Rulebook.load(tmp_path / "policies", entry_points=False)
    general = _general(policies=tmp_path / "policies", entry_points=False)
    early, late = parse_instant("2024-02-01"), parse_instant("2024-04-01")
    before = pt.after_sale_case(submitted_at="2024-02-29T23:59:59+08:00")
    after = pt.after_sale_case(submitted_at="2024-03-01T00:00:00+08:00")
    calls: list[tuple[dict[str, Any], _dt.datetime | None, str]] = [
        (after, early, "1"), (after, late, "2"), (after, early, "1"), (before, None, "1"), (after, None, "2"),
        (after, None, "2"), (before, None, "1"), (before, late, "2")]
    for case, as_of, version in calls:
        a = book.evaluate(case, as_of=as_of)
        assert a.versions == (("demo", version),)
        assert all(isinstance(r, LazyResult) for r in a.results)
        _same(a, general.evaluate(case, as_of=as_of))


@pytest.mark.parametrize("validate", [True, False])
def test_what_the_quick_path_cannot_judge_goes_the_general_way(validate: bool) -> None:
    book = Rulebook.load(validate=validate)
    general = _general(validate=validate)
    # (a fixed as_of, given twice: the second call tries the version chosen last time first; an unhashable kind
    # with validation off raised TypeError there once)
    fixed = parse_instant("2024-03-20")
    book.evaluate(_examples()[0], as_of=fixed)
    for case in ({"kind": ["after_sale"]}, {"kind": {"a": 1}}, {"kind": "no-such-kind"}, {"case_id": 7},
                 {**_examples()[0], "order": "x"}):
        for as_of in (None, fixed, fixed):
            a = book.evaluate(case, record=3, as_of=as_of)
            _same(a, general.evaluate(case, record=3, as_of=as_of))
            assert (a.error is not None) or not validate  # (validation off: the order's type is not checked)
    with pytest.raises(ValueError, match="detail must be full or findings"):
        book.evaluate(_examples()[0], detail="summary")
    book.evaluate(_examples()[0], detail="findings")
    with pytest.raises(ValueError, match="detail must be full or findings"):
        book.evaluate(_examples()[0], detail="summary")


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_policy_with_no_version_in_force_keeps_the_quick_path(tmp_path: Path, detail: str) -> None:
    """One policy not yet in force at the reference time: its policy-level verdict is the general path's, the
    other policy's verdicts are still lazy; with as_of and without (the case's reference time), and with
    the reference time missing from the case (undetermined: what it misses)."""
    body = pt.rules_text(pt.rule("in-window", "request.submitted_at <= order.confirmed_at + 15d"))
    pt.write(tmp_path / "policies" / "old.yaml", pt.policy(body, id="old"))
    pt.write(tmp_path / "policies" / "new.yaml", pt.policy(body, id="new", effective_from="2024-03-01"))
    book = Rulebook.load(tmp_path / "policies", entry_points=False, validate=False)
    general = _general(policies=tmp_path / "policies", entry_points=False, validate=False)
    case = pt.after_sale_case(submitted_at="2024-03-19T10:00:00+08:00")
    early = pt.after_sale_case(submitted_at="2024-02-29T10:00:00+08:00")
    missing = copy.deepcopy(case)
    del missing["request"]["submitted_at"]
    seen = set()
    for one, as_of in ((case, None), (early, None), (case, parse_instant("2024-02-01")), (missing, None),
                       (early, None)):
        a = book.evaluate(one, as_of=as_of, detail=detail)
        _same(a, general.evaluate(one, as_of=as_of, detail=detail))
        seen |= {(r.policy, r.rule, r.outcome.value, not isinstance(r, LazyResult)) for r in a.results}
    if detail == "full":
        assert ("old", "in-window", "violated", False) in seen  # lazy beside the other policy's verdict
        assert ("new", None, "not_applicable", True) in seen
        assert ("new", None, "undetermined", True) in seen


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_subclass_that_prepares_cases_itself_sees_every_case(detail: str) -> None:
    """The quick path copies and checks the case itself; a Rulebook subclass with its own prepare (adding a
    field, say) must not be bypassed by it."""
    seen: list[str] = []

    class Stamping(Rulebook):
        def prepare(self, case: Any, **kw: Any) -> Any:
            seen.append(str(case.get("case_id")))
            return super().prepare(case, **kw)
    book = Stamping.load()
    (case,) = _examples()[:1]
    book.evaluate(case, detail=detail)
    book.evaluate(case, detail=detail)
    assert seen == [str(case.get("case_id"))] * 2


def test_the_quick_path_result_sets_every_field(books: tuple[Rulebook, Rulebook]) -> None:
    """run.lazy makes the CaseResult by its slots, not its __init__: every field is set, as __init__ sets it."""
    quick, general = books
    case = next(iter(_examples()))
    a = quick.evaluate(case)
    assert any(isinstance(r, LazyResult) for r in a.results)  # (made by run.lazy)
    b = general.evaluate(case)
    for f in dataclasses.fields(CaseResult):
        assert getattr(a, f.name) == getattr(b, f.name), f.name
    assert a == b and type(a) is CaseResult


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_fixed_as_of_takes_the_whole_glue_directly(tmp_path: Path, detail: str) -> None:
    """One ``as_of`` object for every call (an embedder re-judging cases at a date): after the first call the
    version is the policy's last (one identity test) and the version's whole glue makes the result without
    LazyVerdicts.result; complied, violated, undetermined (a missing field: the glue's unfinished answer),
    a null the rule reads (the general way) and a rejected case each give the general path's result."""
    text = pt.policy(pt.rules_text(pt.rule("in-window", "request.submitted_at <= order.confirmed_at + 15d")))
    pt.write(tmp_path / "policies" / "demo.yaml", text)
    book = Rulebook.load(tmp_path / "policies", entry_points=False)
    general = _general(policies=tmp_path / "policies", entry_points=False)
    as_of = parse_instant("2024-03-20")
    case = pt.after_sale_case()
    late = pt.after_sale_case(submitted_at="2024-04-30T10:00:00+08:00")
    missing = {**case, "order": {k: v for k, v in case["order"].items() if k != "confirmed_at"}}
    null = {**case, "order": {**case["order"], "confirmed_at": None}}
    rejected = {**case, "request": "not an object"}
    book.evaluate(case, as_of=as_of, detail=detail)  # (the version is chosen: the policy's last from now on)
    lazy = book._lazy if detail == "full" else book._lazy_findings
    assert lazy is not None
    calls: list[Any] = []
    result = lazy.result
    lazy.result = lambda *a: calls.append(a) or result(*a)  # type: ignore[method-assign]
    outcomes = []
    for one in (case, late, missing, null, rejected, case):
        a = book.evaluate(one, as_of=as_of, detail=detail, source="s", record=3)
        _same(a, general.evaluate(one, as_of=as_of, detail=detail, source="s", record=3))
        outcomes.append(tuple(r.outcome.value for r in a.results))
    # every call took the whole glue (or was refused before it); the null's general way (Evaluator.evaluate) is
    # told that this path was tried, and does not try it again
    assert not calls
    assert outcomes == ([("complied",), ("violated",), ("undetermined",), ("undetermined",), (), ("complied",)]
                        if detail == "full" else [(), ("violated",), ("undetermined",), ("undetermined",), (), ()])
    other = parse_instant("2024-03-20")  # an equal instant, another object: LazyVerdicts.result chooses again
    _same(book.evaluate(case, as_of=other, detail=detail), general.evaluate(case, as_of=other, detail=detail))
    assert len(calls) == 1


def test_a_case_the_lazy_path_leaves_is_not_tried_on_it_again(tmp_path: Path) -> None:
    """A null on a path the rules read: Rulebook.evaluate's lazy path gives the case to the general path, which
    does not run the lazy path (and its fused function) on it a second time; a case it takes runs it once. With an
    enricher, the lazy path is the evaluator's, after the enricher: still once a case."""
    text = pt.policy(pt.rules_text(pt.rule("in-window", "request.submitted_at <= order.confirmed_at + 15d")))
    pt.write(tmp_path / "policies" / "demo.yaml", text)
    case = pt.after_sale_case()
    null = {**case, "order": {**case["order"], "confirmed_at": None}}

    class Enricher:
        @hookimpl
        def policy_eval_enrichers(self) -> list[Any]:
            return [lambda case: case]

    general = _general(policies=tmp_path / "policies", entry_points=False)
    for plugins in ([], [Enricher()]):
        book = Rulebook.load(tmp_path / "policies", entry_points=False, plugins=plugins)
        lazy = book._evaluator._lazy
        assert lazy is not None
        calls: list[Any] = []
        result = lazy.result
        lazy.result = lambda *a, calls=calls, result=result: calls.append(a[0]) or result(*a)  # type: ignore[method-assign]
        for one in (null, case):
            _same(book.evaluate(one), general.evaluate(one))
        assert calls == [null, case]

"""Full detail's records written from the pattern of outcomes (run.written) are the verdicts' own, byte for byte.

A version's verdicts on a case are kept as a shape (each rule's preset class, the loud verdicts the general path
made) and the case's reference time and inputs; the record is written from the shape, and the verdict objects are
made only when read. Against an evaluator without it (the generated makers of run.presetcode): the same record
bytes and counts before anything reads the verdicts, then the same verdicts, field for field, the same record
again, and the same plain CaseResult in another process. Over every golden case (variants with values made null,
removed or mistyped for every ninth) in three explanation settings, and generated records of every kind.
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from test_kernel import TESTS, _variants
from test_presets import pairs

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run import written
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import FIELDS, CaseResult, RuleResult
from policy_eval.run.written import WrittenResult

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402


def _fields(r: RuleResult) -> dict[str, Any]:
    out = {f: getattr(r, f) for f in FIELDS}
    out["explanation"] = list(out["explanation"])
    out["inputs"] = dict(out["inputs"])
    return out


def _unwritten(ev: Evaluator) -> Evaluator:
    ev._runs = ev._straight = None  # (the generated makers of run.presetcode, as before run.written; the straight
    # path writes from the runs too)
    return ev


@pytest.fixture(scope="module")
def pair():  # type: ignore[no-untyped-def]
    return pairs(_unwritten)


def _same(a: CaseResult, b: CaseResult) -> bool:
    """``a`` (perhaps written) is ``b``: record and counts first (unread), then the verdicts; True if ``a`` was
    written from shapes."""
    was_written = type(a) is WrittenResult and a._parts is not None
    assert a.tally() == b.tally()
    assert a.to_json_bytes() == b.to_json_bytes()
    assert a.to_json() == b.to_json()
    assert [(type(r) is RuleResult, type(r).__name__) for r in a.results] == \
        [(type(r) is RuleResult, type(r).__name__) for r in b.results]
    assert [_fields(r) for r in a.results] == [_fields(r) for r in b.results]
    assert a == b and a.to_json_bytes() == b.to_json_bytes() and a.to_dict() == b.to_dict()
    return was_written


@pytest.mark.parametrize("explain", ["missing", "decisive", "all"])
def test_written_records_are_the_verdicts_records(pair, explain: str) -> None:  # type: ignore[no-untyped-def]
    seen = total = 0
    for index, test in enumerate(TESTS):
        made, plain = pair(test.params, explain)
        as_of = parse_instant(test.as_of) if test.as_of else None
        for case in _variants(test.case, rotate=index // 9) if index % 9 == 0 else [test.case]:
            seen += _same(made.evaluate(case, as_of=as_of), plain.evaluate(case, as_of=as_of))
            total += 1
    if explain == "all":  # every verdict explained: no preset class, nothing written
        assert seen == 0
    else:
        assert seen > total // 2, (seen, total)


def test_generated_records_of_every_kind(pair) -> None:  # type: ignore[no-untyped-def]
    """... each written from its shapes, undetermined verdicts (their inputs the reads traced) included."""
    made, plain = pair(None, "missing")
    seen = traced = 0
    cases = list(generate(600, seed=41))
    for case in cases:
        a = made.evaluate(case)
        if type(a) is WrittenResult:
            assert a._parts is not None and written._written(a._parts) is not None
            traced += a.counts()["undetermined"] > 0
        seen += _same(a, plain.evaluate(case))
    assert seen > len(cases) // 2 and traced


@pytest.mark.parametrize("explain", ["missing", "decisive"])
def test_records_with_explicit_nulls(pair, explain: str) -> None:  # type: ignore[no-untyped-def]
    """A case with a null on a path the rules read is written from its shapes too: the rules its nulls decide
    are holes the general path fills (undetermined, or not applicable where a null leaves `when` false), as
    the maker fills them; one null on each optional path in turn, and ``order.shipped_at`` null on every case."""
    made, plain = pair(None, explain)
    cases = [c for c in generate(400, seed=23) if c["kind"] == "after_sale"]
    nulled = [{**c, "order": {**c["order"], "shipped_at": None}} for c in cases[:120]]
    for n, case in enumerate(cases[120:]):
        for top in ("order", "request"):
            keys = [k for k in case[top] if k not in ("id", "type", "submitted_at")]
            if keys:
                key = keys[n % len(keys)]
                nulled.append({**case, top: {**case[top], key: None}})
    seen = undetermined = 0
    for case in nulled:
        a = made.evaluate(case)
        undetermined += type(a) is WrittenResult and a._parts is not None and a.counts()["undetermined"] > 0
        seen += _same(a, plain.evaluate(case))
    assert seen > len(nulled) // 2 and undetermined > 50, (seen, undetermined, len(nulled))


def test_counts_read_first_then_verdicts(pair) -> None:  # type: ignore[no-untyped-def]
    """Each thing a caller may read first: the counts, the findings shape, the verdicts, the record."""
    made, plain = pair(None, "missing")
    cases = [c for c in generate(200, seed=5) if c["kind"] == "after_sale"]
    for first in ("counts", "findings", "violated", "record", "replace"):
        for case in cases:
            a, b = made.evaluate(case), plain.evaluate(case)
            assert type(a) is WrittenResult
            if first == "counts":
                assert a.counts() == b.counts()
            elif first == "findings":
                assert a.to_findings() == b.to_findings()
            elif first == "violated":
                assert [_fields(r) for r in a.violated] == [_fields(r) for r in b.violated]
            elif first == "record":
                assert a.to_dict() == b.to_dict()
            else:  # (dataclasses.replace makes an object of the same class through __init__)
                a = dataclasses.replace(a, record=7)
                b = dataclasses.replace(b, record=7)
            assert a.to_json_bytes() == b.to_json_bytes() and a == b


def test_a_written_result_travels_as_a_plain_one(pair) -> None:  # type: ignore[no-untyped-def]
    made, plain = pair(None, "missing")
    for case in generate(60, seed=9):
        a, b = made.evaluate(case), plain.evaluate(case)
        copied = pickle.loads(pickle.dumps(a))
        assert type(copied) is CaseResult and copied == b and copied.to_json_bytes() == b.to_json_bytes()


def test_a_verdict_changed_after_reading_is_written(pair) -> None:  # type: ignore[no-untyped-def]
    """Once read, the verdicts write the record (eval --explain annotates them: run.due.comply)."""
    made, _ = pair(None, "missing")
    a = next(r for c in generate(100, seed=2) if c["kind"] == "after_sale"
             and type(r := made.evaluate(c)) is WrittenResult and r.counts()["violated"])
    a.violated[0].message = "changed after reading"
    assert b'"message":"changed after reading"' in a.to_json_bytes()  # type: ignore[operator]


@pytest.mark.parametrize("bound", ["MAX_SHAPES", "MAX_SHAPE_BYTES"])
def test_shapes_are_bounded(monkeypatch: pytest.MonkeyPatch, bound: str) -> None:
    """Past MAX_SHAPES patterns a version's verdicts are made as before, and nothing else is remembered; likewise
    past MAX_SHAPE_BYTES of JSON held by the shapes."""
    monkeypatch.setattr(written, bound, 2 if bound == "MAX_SHAPES" else 20_000)
    rb = load_rulebook()
    made, plain = Evaluator(rb, explain="missing"), Evaluator(rb, explain="missing")
    plain._runs = plain._straight = None
    kinds = {False: 0, True: 0}
    for case in generate(300, seed=13):
        kinds[_same(made.evaluate(case), plain.evaluate(case))] += 1
    assert made._runs is not None
    if bound == "MAX_SHAPES":
        assert all(len(ready.shapes) <= 2 for ready in made._runs._ready.values())
    else:  # (the last shape made may pass the bound: none after it)
        sizes = [s.size for ready in made._runs._ready.values() for s in ready.shapes.values() if s is not None]
        assert sum(sizes) - max(sizes) < 20_000 <= sum(sizes)
    assert kinds[True] and kinds[False]

"""A batch record whose text has no ``null`` skips the evaluator's search for explicit nulls; the verdicts
must be those of a search: a record with a null (or whose enricher adds one) is still judged as unknown."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from test_kernel import TESTS

from policy_eval.run.batch import BatchOptions, Processor
from policy_eval.run.evaluate import Evaluator


@pytest.fixture(scope="module")
def proc() -> Processor:
    return Processor(BatchOptions(detail="findings", explain="missing"))


def _lines(case: dict[str, Any]) -> list[bytes]:
    """The case as written, and with each top-level object's first field made null."""
    out = [json.dumps(case, ensure_ascii=False, default=str).encode()]
    for key, value in case.items():
        if isinstance(value, dict) and value:
            other = copy.deepcopy(case)
            other[key][next(iter(value))] = None
            out.append(json.dumps(other, ensure_ascii=False, default=str).encode())
    return out


def test_batch_verdicts_equal_the_evaluators_with_and_without_nulls(proc: Processor) -> None:
    plain = Evaluator(proc.rulebook, detail="findings", explain="missing")
    with_null = 0
    for test in TESTS:
        if test.params is not None or test.as_of is not None:
            continue
        for line in _lines(test.case):
            got = proc.process(("t", 1, line))
            if got.error is not None:
                continue  # a field that may not be null: rejected by the schema either way
            want = plain.evaluate(json.loads(line), source="t", record=1)
            assert got.to_dict() == want.to_dict(), line
            with_null += b"null" in line
    assert with_null > 50


def _null_that_matters(proc: Processor, plain: Evaluator) -> tuple[dict[str, Any], dict[str, Any]]:
    """A golden case, and the same case with one field made null where null (unknown) and absent (did not
    happen) give different verdicts: what a wrongly skipped search for nulls would get wrong."""
    assert proc.validator is not None
    for test in TESTS:
        case = test.case
        if test.params is not None or test.as_of is not None or not isinstance(case.get("request"), dict):
            continue
        for key in case["request"]:
            nulled = {**case, "request": {**case["request"], key: None}}
            absent = {**case, "request": {k: v for k, v in case["request"].items() if k != key}}
            if proc.validator.check(nulled, "t", 1) is None and \
                    plain.evaluate(nulled).to_dict() != plain.evaluate(absent).to_dict():
                return case, nulled
    raise AssertionError("no golden case where a null matters")


def test_null_in_a_string_only_and_an_enricher_adding_one(proc: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Evaluator(proc.rulebook, detail="findings", explain="missing")
    case, nulled = _null_that_matters(proc, plain)
    # the null written in the text, as bytes and as text
    for line in (json.dumps(nulled, default=str).encode(), json.dumps(nulled, default=str)):
        assert proc.process(("t", 1, line)).to_dict() == plain.evaluate(nulled, source="t", record=1).to_dict()
    named = {**case, "case_id": "null"}  # "null" in the text, no null in the case
    assert proc.process(("t", 1, json.dumps(named, default=str).encode())).to_dict() == \
        plain.evaluate(named, source="t", record=1).to_dict()
    # an enricher that makes a value unknown: the text had no null, the case has one
    monkeypatch.setattr(proc, "enrichers", [lambda c: {**c, "request": nulled["request"]}])
    assert proc.process(("t", 1, json.dumps(case, default=str).encode())).to_dict() == \
        plain.evaluate(nulled, source="t", record=1).to_dict()

"""A full record's ``inputs`` (run.later.recorded) is its verdicts' inputs merged in order, whichever way it is made;
its bytes are orjson's of its dict.

In full detail each verdict's ``inputs`` is an ``OwnInputs``: its rule's paths among the values its version read
once for the case. The record lists the versions' reads (their unions) without making any verdict's own dict;
that must be, key for key and in the same order, what merging every verdict's own dict gives: on every golden
case and its variants (values made null, removed or mistyped, which leave some verdicts undetermined and traced,
their inputs then a trace's reads), and when one verdict's inputs are of another kind, empty or not.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_kernel import TESTS, _variants

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.later import OwnInputs, recorded
from policy_eval.run.result import RuleResult


def _merged(verdicts: list[RuleResult]) -> list[tuple[str, Any]]:
    """The merge as the loop before OwnInputs made it: each verdict's own dict, in order."""
    out: dict[str, Any] = {}
    for v in verdicts:
        out.update(dict(v.inputs))
    return list(out.items())


@pytest.fixture(scope="module")
def evaluators():  # type: ignore[no-untyped-def]
    made: dict[str | None, Evaluator] = {}

    def get(params: str | None) -> Evaluator:
        if params not in made:
            made[params] = Evaluator(load_rulebook(params=params), explain="missing")
        return made[params]
    return get


@pytest.mark.parametrize("index", range(len(TESTS)), ids=[f"{Path(t.file).stem}:{t.line}" for t in TESTS])
def test_the_record_lists_what_its_verdicts_read(evaluators, index: int) -> None:  # type: ignore[no-untyped-def]
    test = TESTS[index]
    ev = evaluators(test.params)
    as_of = parse_instant(test.as_of) if test.as_of else None
    for case in _variants(test.case, rotate=index // 4) if index % 4 == 0 else [test.case]:
        verdicts = list(ev.evaluate(case, as_of=as_of).results)
        want = _merged(verdicts)
        assert list(recorded(verdicts).items()) == want
        result = ev.evaluate(case, as_of=as_of)
        assert list(result.to_dict()["inputs"].items()) == want
        # the record's bytes (its results joined apart and spliced in last) are orjson's of its dict
        assert result.to_json_bytes() == orjson.dumps(result.to_dict(), default=str)
        # the same with one verdict's inputs of another kind: a plain dict, empty or holding a path of its own
        for i in (0, len(verdicts) - 1):
            for other in ({}, {"zz.extra": "1"}):
                changed = list(verdicts)
                plain = RuleResult(**{f: getattr(verdicts[i], f) for f in ("policy", "version", "rule", "title",
                                                                         "clause", "outcome", "severity", "reason")},
                                   inputs=other)
                changed[i] = plain
                assert list(recorded(changed).items()) == _merged(changed)


def test_a_verdict_of_a_rule_holds_its_own_inputs_made_when_read() -> None:
    union = {"a": 1, "b": "x", "c": "2023-06-02T16:00:00+08:00"}
    own = object.__new__(OwnInputs)
    own.union, own.paths, own._own = union, ("c", "missing", "a"), None
    assert list(own.items()) == [("c", "2023-06-02T16:00:00+08:00"), ("a", 1)]  # the rule's order, present only
    assert own == {"c": "2023-06-02T16:00:00+08:00", "a": 1} and {"a": 1, "c": "2023-06-02T16:00:00+08:00"} == own
    assert own != {"a": 1}
    other = object.__new__(OwnInputs)
    other.union, other.paths, other._own = dict(union), ("a", "c"), None
    assert own == other
    assert pickle.loads(pickle.dumps(own)) == {"c": "2023-06-02T16:00:00+08:00", "a": 1}
    assert type(pickle.loads(pickle.dumps(own))) is dict
    assert repr(own) == repr({"c": "2023-06-02T16:00:00+08:00", "a": 1})
    with pytest.raises(TypeError):
        hash(own)
    # a record made of it is a fresh dict, not the union itself
    made = recorded([RuleResult("p", "1", "r", "t", None, _complied(), "info", "ok", inputs=own)])
    assert made == union and made is not union


def _complied() -> Any:
    from policy_eval.run.result import Outcome
    return Outcome.COMPLIED

"""Full detail's preset verdicts (run.presets) are the verdicts the general path builds, field for field.

A complied or not-applicable verdict of a rule without dependencies, on a case the fused function decided,
is made from a class holding its rule's constants; its record comes from a template. Every golden case, and
variants with values made null, removed or mistyped, must give the same verdicts and the same JSON record as
the general path gives with the presets turned off; with every verdict explained there are none.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from test_kernel import TESTS, _variants

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.later import LaterInputs
from policy_eval.run.presetcode import maker
from policy_eval.run.presets import PresetResult
from policy_eval.run.result import FIELDS, Outcome, RuleResult


def _general(ev: Evaluator) -> Evaluator:
    ev._presets = {}
    ev._runs = ev._straight = None  # (run.written, and the straight path through it: made from the presets)
    ev._makers = {id(v): maker(ev._rules[id(v)], [None] * len(ev._rules[id(v)]), ev.record_inputs)
                  for v in ev.rulebook.versions()}
    return ev


def pairs(without: Callable[[Evaluator], Evaluator]) -> Callable[[str | None, str], tuple[Evaluator, Evaluator]]:
    """``get(params, explain)``: an evaluator and one made ``without`` something (a shortcut turned off), on one
    rulebook, kept per arguments (tests/test_written.py's pairs too)."""
    books: dict[tuple[str | None, str], tuple[Evaluator, Evaluator]] = {}

    def get(params: str | None, explain: str) -> tuple[Evaluator, Evaluator]:
        if (params, explain) not in books:
            rb = load_rulebook(params=params)
            books[(params, explain)] = (Evaluator(rb, explain=explain), without(Evaluator(rb, explain=explain)))
        return books[(params, explain)]
    return get


@pytest.fixture(scope="module")
def pair():  # type: ignore[no-untyped-def]
    return pairs(_general)


def _fields(r: RuleResult) -> dict[str, Any]:
    out = {f: getattr(r, f) for f in FIELDS}
    out["explanation"] = list(out["explanation"])
    return out


@pytest.mark.parametrize("explain", ["missing", "decisive"])
@pytest.mark.parametrize("index", range(0, len(TESTS), 3), ids=[f"{Path(t.file).stem}:{t.line}" for t in TESTS[::3]])
def test_presets_are_the_general_paths_verdicts(pair, index: int, explain: str) -> None:  # type: ignore[no-untyped-def]
    test = TESTS[index]
    fast, general = pair(test.params, explain)
    as_of = parse_instant(test.as_of) if test.as_of else None
    for case in _variants(test.case, rotate=index // 9) if index % 9 == 0 else [test.case]:
        a, b = fast.evaluate(case, as_of=as_of), general.evaluate(case, as_of=as_of)
        assert not any(isinstance(r, PresetResult) for r in b.results)
        assert [_fields(r) for r in a.results] == [_fields(r) for r in b.results]
        assert [r.to_dict() for r in a.results] == [r.to_dict() for r in b.results]
        assert a.to_json() == b.to_json()


def test_the_corpus_reaches_presets_of_both_outcomes(pair) -> None:  # type: ignore[no-untyped-def]
    fast, _ = pair(None, "missing")
    seen: set[Outcome] = set()
    with_params = False
    for test in TESTS:
        for r in fast.evaluate(test.case, as_of=parse_instant(test.as_of) if test.as_of else None).results:
            if isinstance(r, PresetResult):
                seen.add(r.outcome)
                with_params |= bool(r.params)
    assert seen == {Outcome.COMPLIED, Outcome.NOT_APPLICABLE}
    assert with_params  # a rule with deployment parameters recorded on its verdicts


def test_no_presets_when_every_verdict_is_explained() -> None:
    ev = Evaluator(load_rulebook(), explain=True)
    for test in TESTS[:40]:
        assert not any(isinstance(r, PresetResult) for r in ev.evaluate(test.case).results)


def test_a_preset_record_with_inputs_is_the_general_record() -> None:
    """The template covers the record without inputs (how a case record lists a verdict); asked with
    inputs, the record is built as any verdict's."""
    ev = Evaluator(load_rulebook(), explain="missing")
    made = [r for t in TESTS[:60] for r in ev.evaluate(t.case).results if isinstance(r, PresetResult)]
    assert made
    for r in made:
        plain = RuleResult(**{f: getattr(r, f) for f in FIELDS})
        assert r.to_dict() == plain.to_dict() and r.to_dict(with_inputs=False) == plain.to_dict(with_inputs=False)
        assert list(r.to_dict(with_inputs=False)) == list(plain.to_dict(with_inputs=False))  # key order too


def test_a_preset_verdict_pickles_as_a_plain_one() -> None:
    """Worker processes send verdicts back pickled (eval --jobs, evaluate_many(jobs=2))."""
    ev = Evaluator(load_rulebook(), explain="missing")
    made = [r for t in TESTS[:20] for r in ev.evaluate(t.case).results if isinstance(r, PresetResult)]
    assert made
    for r in made:
        copied = pickle.loads(pickle.dumps(r))
        assert type(copied) is RuleResult and copied == r and repr(copied) == repr(r)
        assert type(copied.inputs) is dict and copied.inputs == dict(r.inputs)


class _Odd(Mapping[str, Any]):
    """A mapping of someone else's, with a ``copy`` of its own that is not a dict."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def copy(self) -> list[str]:
        return list(self._values)


@pytest.mark.parametrize("inputs", [
    {"order.paid_amount": "59.90"}, MappingProxyType({"order.paid_amount": "59.90"}), _Odd({"order.paid_amount": "59.90"}),
    LaterInputs(lambda: {"order.paid_amount": "59.90"}),
])
def test_a_made_verdicts_inputs_travel_as_a_plain_dict(inputs: Mapping[str, Any]) -> None:
    """Whatever mapping a made verdict's inputs are (a dict, one of run.later's made on first use, anyone's), it
    travels as a plain dict of the same items (its own ``copy`` is used only where it is a dict's or run.later's)."""
    ev = Evaluator(load_rulebook(), explain="missing")
    [r, *_] = [r for t in TESTS[:20] for r in ev.evaluate(t.case).results if isinstance(r, PresetResult)]
    r.inputs = inputs
    copied = pickle.loads(pickle.dumps(r))
    assert type(copied.inputs) is dict and copied.inputs == {"order.paid_amount": "59.90"}


@pytest.mark.parametrize("title", ["plain 标题", "\x00policy-eval reference time\x00", "lone \ud800"])
def test_a_preset_record_is_written_already_serialised_as_its_dict_would_be(title: str) -> None:
    """A full record writes a preset verdict as its class's JSON around the reference time's; a policy text that is the sentinel the JSON is split at (a whole JSON string), or that
    orjson refuses,
    writes it from the dict. The bytes are the same either way."""
    import orjson

    from policy_eval.run.result import CaseResult

    ev = Evaluator(load_rulebook(), explain="missing")
    [r, *_] = [r for t in TESTS[:20] for r in ev.evaluate(t.case).results if isinstance(r, PresetResult)]
    constants = {f: getattr(r, f) for f in FIELDS if f not in ("reference_time", "inputs")}
    made = PresetResult.of({**constants, "title": title})
    verdict = made.__new__(made)
    verdict.reference_time, verdict.inputs = "2023-06-02T16:00:00+08:00", {"order.id": "X"}
    assert (made._head is not None) == (title == "plain 标题")  # (split at the sentinel, or not)
    if "\ud800" not in title:
        assert verdict.json_bytes() == orjson.dumps(verdict.to_dict(with_inputs=False))
    result = CaseResult(case_id="C", kind="after_sale", source=None, record=1, results=(verdict, r))
    plain = orjson.dumps(result.to_dict(), option=0) if "\ud800" not in title else None
    if plain is not None:
        assert result.to_json_bytes() == plain
    assert result.to_json() == CaseResult.to_json(result) and '"title":"' in result.to_json()

"""A rule that reads a null (run.evaluate, ``Evaluator._rule``): where none of its non-strict calls (``exists``,
``default``'s first argument, a plugin's non-strict function) reads a null, its outcome is decided first and the
reference interpreter's judgement of the nulls (compose.unknown) runs only when that outcome is undetermined.
Every verdict must be what judging the nulls first gives: compared here on every golden case with each of its
values made null in turn, and on generated after-sale cases with one and two nulls, in full detail with
explanations, full detail as ``eval`` writes it, and findings detail."""

from __future__ import annotations

import copy
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from goldencorpus import golden_tests

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run import compose
from policy_eval.run.evaluate import Evaluator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402

TESTS = golden_tests()
SETTINGS = ({"detail": "full", "explain": True}, {"detail": "full", "explain": "missing"}, {"detail": "findings"})


def _nulls_first(ev: Evaluator) -> Evaluator:
    """The evaluator as it was: every rule that reads a null judged by compose.unknown before it is decided."""
    ev._hiding = dict(ev._reads)  # (a rule's every read counts as one a non-strict call makes)
    return ev


@pytest.fixture(scope="module")
def pairs() -> dict[tuple[str | None, int], tuple[Evaluator, Evaluator]]:
    return {}


def _pair(pairs: dict[Any, tuple[Evaluator, Evaluator]], params: str | None, setting: int
          ) -> tuple[Evaluator, Evaluator]:
    if (params, setting) not in pairs:
        book = load_rulebook(params=params)
        pairs[(params, setting)] = (Evaluator(book, **SETTINGS[setting]),  # type: ignore[arg-type]
                                    _nulls_first(Evaluator(book, **SETTINGS[setting])))  # type: ignore[arg-type]
    return pairs[(params, setting)]


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The paths outside lists (a null inside a list is read as missing, as before)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "kind":
                yield path + (k,)
                yield from _leaves(v, path + (k,))


def _nulled(case: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    other = copy.deepcopy(case)
    for path in paths:
        node = other
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = None
    return other


def _same(new: Evaluator, old: Evaluator, case: dict[str, Any], as_of: Any) -> None:
    a, b = new.evaluate(case, as_of=as_of), old.evaluate(case, as_of=as_of)
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_golden_cases_with_each_value_null(pairs: dict[Any, Any], setting: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every golden case, each of its values outside lists made null in turn (every third case in the two
    full-detail settings, every case in findings detail)."""
    calls = {"new": 0, "old": 0}
    unknown = compose.unknown
    for i, test in enumerate(TESTS):
        if setting < 2 and i % 3:
            continue
        new, old = _pair(pairs, test.params, setting)
        as_of = parse_instant(test.as_of) if test.as_of else None
        for path in _leaves(test.case):
            case = _nulled(test.case, [path])
            for name, ev in (("new", new), ("old", old)):
                def counted(*a: Any, name: str = name, **k: Any) -> Any:
                    calls[name] += 1
                    return unknown(*a, **k)
                monkeypatch.setattr(compose, "unknown", counted)
                ev.evaluate(case, as_of=as_of)
            monkeypatch.setattr(compose, "unknown", unknown)
            _same(new, old, case, as_of)
    # not vacuous: the interpreter ran on fewer rules, and still on some (an exists of a null, an undetermined rule)
    assert 0 < calls["new"] < calls["old"], calls


@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_generated_cases_with_one_and_two_nulls(pairs: dict[Any, Any], setting: int) -> None:
    rng = random.Random(11 + setting)
    new, old = _pair(pairs, None, setting)
    for case in generate(400, seed=5 + setting):
        paths = list(_leaves({k: case[k] for k in ("order", "request") if k in case}))
        if not paths:
            continue
        for picked in (rng.sample(paths, 1), rng.sample(paths, min(2, len(paths)))):
            _same(new, old, _nulled(case, picked), None)


def test_hiding_reads_are_the_arguments_of_non_strict_calls() -> None:
    """``exists`` and ``default``'s first argument (lets included); a strict call's or an operator's are not."""
    book = load_rulebook()
    found = {id(r): compose.hiding_reads(r) for v in book.versions() for r in v.rules}
    assert found and any(found.values()) and not all(found.values())
    for v in book.versions():
        for r in v.rules:
            assert set(found[id(r)]) <= set(compose.case_reads(r))
    # `exists(order.shipped_at)` is in a let (after-sales v2's unshipped_at_submission): its rules read it so
    assert any("order.shipped_at" in paths for paths in found.values())

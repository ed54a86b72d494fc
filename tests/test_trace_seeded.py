"""An undetermined verdict's trace in findings detail takes the lets the fused function found as they are.

The fused function leaves in the environment the values of the lets an undetermined step's ``when`` and condition
read themselves (lang.exports); findings detail's trace, which only names what is missing, takes the known ones
(run.explaining.known_lets) instead of computing them again. These tests hold its missing paths equal to those of
the trace that computes every let, on the bundled after-sale examples with each value left out in turn, and check
that the lets are taken (the saving is not silently lost).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casefiles import UNDETERMINED_HANDLING, without

from policy_eval.lang import tracecode
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import load_rulebook
from policy_eval.run import explaining
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def findings() -> Evaluator:
    return Evaluator(load_rulebook(ROOT / "policies"), detail="findings")


def _without_each_value(case: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The case, then the case with each of its values (outside lists) left out in turn, ``kind`` kept."""
    yield case
    stack: list[tuple[str, ...]] = [(k,) for k in case if k != "kind"]
    while stack:
        path = stack.pop()
        node: Any = case
        for key in path:
            node = node[key]
        if isinstance(node, dict):
            stack += [(*path, k) for k in node]
            continue
        yield without(case, path)


def _cases() -> list[dict[str, Any]]:
    lines = (ROOT / "examples" / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()
    return [variant for base in [UNDETERMINED_HANDLING, *map(json.loads, lines)] for variant in _without_each_value(base)]


def test_a_seeded_trace_names_what_a_full_one_names(findings: Evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    traced = tracecode.trace_without_steps
    seen: list[tuple[int, int]] = []  # (lets given, of them taken from the fused function) a trace
    wrong: list[Any] = []  # (kept, not asserted, in the spy: run.explaining takes what a trace raises for a bug of its own)

    def both(when: Any, condition: Any, case: Any, env: Any, errors: Any, lets: Any = None) -> Any:
        given = dict(lets or {})  # (the trace adds the lets it computes)
        seeded = traced(when, condition, case, env, errors, lets)
        full = traced(when, condition, case, env, errors)
        if seeded.missing != full.missing or any(v is UNKNOWN or b != () for v, b in given.values()):
            wrong.append((case.get("case_id"), condition.text, seeded.missing, full.missing))
        seen.append((len(given), 1 if given else 0))
        return seeded

    monkeypatch.setattr(explaining, "trace_without_steps", both)
    undetermined = 0
    for case in _cases():
        result = findings.evaluate(case)
        undetermined += sum(r.outcome is Outcome.UNDETERMINED for r in result.results)
    assert wrong == []
    # (some undetermined verdicts need no trace: a policy's, or one a dependency holds undetermined)
    assert undetermined >= 100 and len(seen) >= 100
    assert sum(taken for _, taken in seen) >= len(seen) // 2  # most traces took some let as the fused function found it


def test_the_undetermined_handling_limit_takes_its_lets(findings: Evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refund-only handling limit, undetermined for want of ``snapshot_at``: its trace takes the window's
    eligibility and the deadline from the fused function (two lets its ``when`` reads) and names only what is
    missing."""
    traced = tracecode.trace_without_steps
    given: list[dict[int, Any]] = []

    def spy(when: Any, condition: Any, case: Any, env: Any, errors: Any, lets: Any = None) -> Any:
        given.append(dict(lets or {}))  # (before the trace adds the lets it computes)
        return traced(when, condition, case, env, errors, lets)

    monkeypatch.setattr(explaining, "trace_without_steps", spy)
    verdicts = [r for r in findings.evaluate(UNDETERMINED_HANDLING).results if r.rule == "refund-only-handling-limit"]
    assert [(r.outcome, r.missing) for r in verdicts] == [(Outcome.UNDETERMINED, ("snapshot_at",))]
    assert len(given) == 1 and len(given[0]) >= 2

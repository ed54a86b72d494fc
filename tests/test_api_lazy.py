"""The embedding API explains on demand: ``verdict.explanation`` is computed when read, never by default."""

from __future__ import annotations

import json
from pathlib import Path

from policy_eval.api import Outcome, Rulebook
from policy_eval.run.later import Later

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CAR = json.loads((EXAMPLES / "after_sale_car_return_refund.json").read_text(encoding="utf-8"))


def test_explanations_are_computed_when_read_and_equal_the_eager_ones() -> None:
    book = Rulebook.load()
    lazy = book.evaluate(CAR)
    eager = book.evaluate(CAR, explain=True)
    [violated] = lazy.violated
    assert isinstance(violated.explanation, Later)
    assert "explanation" not in violated.to_dict()  # serialising does not explain what nobody asked for
    twin = next(r for r in eager.results if r.full_id == violated.full_id)
    assert twin.outcome is Outcome.VIOLATED and twin.explanation
    assert list(violated.explanation) == list(twin.explanation)
    assert violated.explanation == twin.explanation
    # inputs too are read on demand, and agree with the eager evaluator's
    assert dict(violated.inputs) == {k: v for k, v in twin.inputs.items() if "[" not in k}
    assert lazy.counts() == eager.counts()


def test_the_explaining_evaluator_is_made_when_first_asked_for() -> None:
    """Loading compiles no explaining evaluator (a fifth of a load's CPU): ``explain=True`` makes it once, in full
    and in findings detail alike, and its verdicts are explained."""
    book = Rulebook.load(entry_points=False)
    assert book._explainer is None
    book.evaluate(CAR)
    assert book._explainer is None
    full = book.evaluate(CAR, explain=True)
    made = book._explainer
    assert made is not None and all(r.explanation for r in full.violated)
    findings = book.evaluate(CAR, explain=True, detail="findings")
    assert book._explainer is made and findings.violated and all(r.explanation for r in findings.violated)

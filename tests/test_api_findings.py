"""Rulebook.evaluate(detail="findings"): the batch's fast path for embedders.

Only violated, undetermined and waived verdicts are built; the complied and not-applicable ones are
counted. The record it gives equals the findings record of the full result on every example case.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy_eval.api import Outcome, Rulebook

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _examples() -> list[dict[str, Any]]:
    out = [json.loads(p.read_text(encoding="utf-8"), parse_float=Decimal) for p in sorted(EXAMPLES.glob("*.json"))]
    out += [json.loads(line, parse_float=Decimal)
            for line in (EXAMPLES / "after_sales.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return Rulebook.load(entry_points=False)


def test_findings_equal_the_full_results_findings(book: Rulebook) -> None:
    cases = _examples()
    assert len(cases) > 20
    kinds = set()
    for case in cases:
        short = book.evaluate(case, detail="findings")
        full = book.evaluate(case)
        assert short.is_findings and not full.is_findings
        assert short.to_findings() == full.to_findings()
        assert short.counts() == full.counts()
        assert all(r.outcome in (Outcome.VIOLATED, Outcome.UNDETERMINED) or r.waiver is not None or r.rule is None
                   for r in short.results)
        kinds.add(case["kind"])
        # only what is acted on is built: fewer verdicts than the full result whenever a rule complies
        if full.counts()["complied"]:
            assert len(short.results) < len(full.results)
    assert len(kinds) >= 4


def test_evaluate_many_takes_the_same_detail(book: Rulebook) -> None:
    cases = _examples()[:8]
    many = list(book.evaluate_many(cases, detail="findings"))
    assert [r.to_findings() for r in many] == [book.evaluate(c, detail="findings", record=i).to_findings()
                                                for i, c in enumerate(cases, 1)]


def test_explain_builds_every_verdict_whatever_the_detail(book: Rulebook) -> None:
    case = _examples()[0]
    explained = book.evaluate(case, detail="findings", explain=True)
    assert not explained.is_findings
    assert len(explained.results) == sum(explained.counts().values())


def test_unknown_detail_is_refused(book: Rulebook) -> None:
    with pytest.raises(ValueError, match="detail must be full or findings"):
        book.evaluate(_examples()[0], detail="brief")

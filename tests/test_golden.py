"""The golden corpus: hand-written cases with outcomes derived from the rule texts.

Every case in tests/golden/*.yaml runs against the bundled rulebook (as
installed), and the corpus must cover every rule with both a violating and a
complying case.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from goldencorpus import golden_tests

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.testing import coverage, run_test

TESTS = golden_tests()


@pytest.fixture(scope="module")
def books():  # type: ignore[no-untyped-def]
    """The bundled rulebook, and one per deployment overlay a golden file names (``params:``)."""
    loaded = {}

    def get(params):  # type: ignore[no-untyped-def]
        if params not in loaded:
            rb = load_rulebook(params=params)
            loaded[params] = rb, Evaluator(rb), CaseValidator(rb.case_schemas)
        return loaded[params]
    return get


def test_corpus_is_large_enough() -> None:
    assert len(TESTS) >= 150


@pytest.mark.parametrize("test", TESTS, ids=[f"{Path(t.file).stem}:{t.line}:{t.name}" for t in TESTS])
def test_golden_case(books, test) -> None:  # type: ignore[no-untyped-def]
    _, evaluator, validator = books(test.params)
    outcome = run_test(test, evaluator, validator)
    assert outcome.passed, "\n".join(outcome.failures)


def test_every_rule_has_a_violating_and_a_complying_golden_case(books) -> None:  # type: ignore[no-untyped-def]
    rb = books(None)[0]
    outcomes = [run_test(t, *books(t.params)[1:]) for t in TESTS]
    cov = coverage(rb, [o for o in outcomes if o.passed])
    lacking = {rule: sorted(seen) for rule, seen in cov.items() if not {"violated", "complied"} <= seen}
    assert not lacking, f"rules without both a violated and a complied golden case: {lacking}"

"""The embedding API's quick path against its general path, on mutated cases (Hypothesis; fuzz/fuzz_api.py runs the
same property under atheris).

``Rulebook.evaluate`` takes most cases through generated code: a kind's compiled schema check, then the version's
whole-result glue, which runs the fused body in its own frame and makes lazy verdicts (run.lazycode). A rulebook
whose quick path is turned off (``_lazy = None``) evaluates the same case by the general path, every verdict at
once. On the example cases mutated as fuzz/fuzz_common.py mutates them (wrong types at any path, deleted and
duplicated keys, huge, NaN and 10^400 numbers, odd timestamps, any JSON value at any path), both must give the same
result, verdict by verdict and field by field (whichever field is read first), with the version chosen by a fixed
``as_of`` (the whole glue) and by the case; full and findings detail; validation on and off. And neither may change
the caller's dict.
"""

from __future__ import annotations

import copy
import os
import random
import sys
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api_quick import _general
from test_lazy_verdicts import _record

from policy_eval.api import Rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.result import FIELDS, CaseResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
import fuzz_common as fc  # noqa: E402

SCALE = float(os.environ.get("POLICY_EVAL_FUZZ_SCALE", "1"))  # (as tests/test_fuzz.py)
FUZZ = settings(max_examples=max(1, int(150 * SCALE)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CASES = fc.example_cases()
AS_OF = parse_instant("2024-06-01T00:00:00+08:00")


@cache
def books(validate: bool) -> tuple[Rulebook, Rulebook]:
    """The rulebook as loaded, and one whose every call goes the general path, its verdicts built at once."""
    return Rulebook.load(entry_points=False, validate=validate), _general(entry_points=False, validate=validate)


def shown(result: CaseResult, first: str) -> str:
    """Everything a caller can read of a result, as text (a NaN is not equal to itself; its repr is)."""
    return repr((result.to_json(), result.counts(), [_record(r, first) for r in result.results]))


def same_both_ways(case: Any, first: str) -> None:
    before = repr(case)
    for validate in (True, False):
        quick, general = books(validate)
        for as_of in (AS_OF, None):
            for detail in ("full", "findings"):
                quick.evaluate(case, as_of=as_of, detail=detail)  # (the first call with an as_of picks the version)
                a = quick.evaluate(case, as_of=as_of, detail=detail)
                b = general.evaluate(copy.deepcopy(case), as_of=as_of, detail=detail)
                assert shown(a, first) == shown(b, first), (validate, as_of, detail)
                assert repr(case) == before  # (neither the evaluation nor the reading changed the case)


@FUZZ
@given(st.integers(0, len(CASES) - 1), st.randoms(use_true_random=False), st.integers(0, 4),
       st.sampled_from(FIELDS))
def test_quick_and_general_paths_agree_on_mutated_cases(index: int, rng: random.Random, steps: int,
                                                        first: str) -> None:
    case = fc.mutate_case(CASES[index], rng, steps)
    if isinstance(case, dict):
        same_both_ways(case, first)


def test_the_property_reaches_the_quick_path() -> None:
    """Not vacuous: on the unmutated examples the quick path makes lazy verdicts, and a mutated case that fails its
    schema is refused the same way both ways (checked by the property)."""
    from policy_eval.run.result import LazyResult

    quick, general = books(True)
    for detail in ("full", "findings"):
        lazy = sum(isinstance(r, LazyResult) for case in CASES for _ in range(2)
                   for r in quick.evaluate(case, as_of=AS_OF, detail=detail).results)
        eager = sum(isinstance(r, LazyResult) for case in CASES
                    for r in general.evaluate(case, as_of=AS_OF, detail=detail).results)
        assert lazy > (100 if detail == "full" else 10) and eager == 0, (detail, lazy, eager)
    same_both_ways(CASES[0], "message")

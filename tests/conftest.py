"""Hypothesis profiles: a quick one for local runs, a thorough one for CI.

``dev`` (the default, 200 examples) keeps the property tests fast while editing. ``ci`` (4,000) is
chosen when ``CI=true`` (as CI sets it) or ``HYPOTHESIS_PROFILE=ci``, for the broad property of
tests/test_properties.py, which draws every kind of expression and so reaches rare shapes only with many
examples. A wrong three-valued ``and`` inside a quantifier body is not left to it: the narrow property
of tests/test_properties_quantifiers.py finds that within the ``dev`` budget (bench/mutation.md).
Tests that set ``max_examples`` themselves (the robustness properties, tests/test_fuzz.py's budgets,
which ``POLICY_EVAL_FUZZ_SCALE`` multiplies) keep it in both profiles.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("ci", max_examples=4000, deadline=None, suppress_health_check=_SLOW_OK)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
settings.load_profile(PROFILE)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    """Once the tests have run, the heap they built (rulebooks, the golden corpus: about 2 GB in an xdist
    worker) is frozen out of the garbage collector. pytest collects after the session, to report unraisable
    exceptions, and a full collection over that heap took seconds; pytest-xdist's gateway (execnet) sends a
    worker still busy 5 s after it was told to end a SIGINT, which surfaced after the last test as a
    PytestUnraisableExceptionWarning: KeyboardInterrupt inside a gc callback (Hypothesis's, a WeakKeyDictionary's)."""
    gc.freeze()


_BOOKS: dict[Any, Any] = {}


@pytest.fixture
def fast_load(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """In-process CLI runs share one loaded rulebook per test module and policy folder (loading takes
    about a second)."""
    from policy_eval.cli import common

    real = common.load
    module = request.module.__name__

    def cached(args: Any, policies: str | None = None) -> Any:
        key = (module, policies if policies is not None else getattr(args, "policies", None),
               getattr(args, "schemas", None))
        if key not in _BOOKS:
            _BOOKS[key] = real(args, policies)
        return _BOOKS[key]

    monkeypatch.setattr(common, "load", cached)


@pytest.fixture
def watcher(folder: Any) -> Iterator[Any]:
    """A running ``policy-eval test --watch`` (tests/watchproc.py) on the requesting module's ``folder``
    fixture, killed after the test if it still runs."""
    from watchproc import WAIT, watch

    w = watch(folder)
    yield w
    if w.proc.poll() is None:
        w.proc.kill()
        w.proc.wait(timeout=WAIT)

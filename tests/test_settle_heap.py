"""``eval`` in policy-eval's own process freezes what it loaded and collects young objects less often
(cli.common.settle_heap); a program or test that calls ``cli.run`` keeps its collector as it was."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from policy_eval.cli import common, run

EXAMPLE = Path(__file__).parent.parent / "examples" / "after_sale_clothing_return_ok.json"


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def _eval() -> int:
    return run(["eval", "-q", "-f", "jsonl", str(EXAMPLE)], stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.usefixtures("collector")
def test_own_process_freezes_the_loaded_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "OWN_PROCESS", True)
    assert _eval() == 0
    assert gc.get_freeze_count() > 10_000  # the rulebook and the modules: tens of thousands of objects
    assert gc.get_threshold()[0] == 10_000


@pytest.mark.usefixtures("collector")
def test_a_host_calling_run_keeps_its_collector() -> None:
    threshold = gc.get_threshold()
    assert _eval() == 0
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold

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


GOLDEN = Path(__file__).parent / "golden" / "appeals_scope.yaml"


@pytest.mark.usefixtures("collector")
def test_own_process_freezes_the_loaded_heap_for_policy_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """``test`` loads the test files' YAML while the rulebook is in memory: the collector no longer walks it
    (``policy-eval test`` on the bundled tests: 4.3 -> 3.1 s, bench/README, fifty-sixth session)."""
    monkeypatch.setattr(common, "OWN_PROCESS", True)
    out = io.StringIO()
    assert run(["test", str(GOLDEN)], stdout=out, stderr=io.StringIO()) == 0, out.getvalue()
    assert "5 passed, 0 failed" in out.getvalue()
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == 10_000


@pytest.mark.usefixtures("collector")
def test_the_runner_watch_mode_repeats_leaves_the_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--watch`` runs ``run_files`` after each change with a rulebook loaded again: a frozen old one could
    never be freed, so the runner itself does not freeze."""
    import argparse

    from policy_eval.cli.commands.test import run_files

    monkeypatch.setattr(common, "OWN_PROCESS", True)
    threshold = gc.get_threshold()
    args = argparse.Namespace(policies=None, schemas=None, params=None, plugin=[], max_cost=common.DEFAULT_CEILING,
                              follow_links=False, verbose=False, coverage=False, min_coverage=0.0, command="test")
    out = io.StringIO()
    assert run_files(args, common.load(args), [GOLDEN], out, io.StringIO(), report_coverage=False) == 0
    assert "5 passed, 0 failed" in out.getvalue()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold


@pytest.mark.usefixtures("collector")
def test_policy_evals_own_process_collects_young_objects_less_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` (policy-eval's own process, every command) collects the youngest generation every 10,000
    allocations, not 700: what a command makes is nearly all kept for its run. A host calling ``cli.run`` keeps
    its collector (the tests above and below)."""
    import sys

    from policy_eval.cli import main

    monkeypatch.setattr(common, "OWN_PROCESS", False)  # (restored after: main sets it for the process)
    gc.set_threshold(700, 10, 10)
    monkeypatch.setattr(sys, "argv", ["policy-eval", "rules", "--help"])
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 0
    assert common.OWN_PROCESS is True
    assert gc.get_threshold() == (10_000, 10, 10)
    assert gc.get_freeze_count() == 0  # (freezing is a batch's, after its rulebook is loaded: settle_heap)

"""``policy-eval test --watch`` through the real CLI: a subprocess watches a temporary copy of a small policy
folder (tests/data/watch), the test edits files and reads the reruns from the pipe, then stops it with Ctrl-C."""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import pytest

pytest.importorskip("watchfiles")

from watchproc import DATA, SUMMARY, WAIT, Watcher, save  # noqa: E402  (the subprocess driver; `watcher`: conftest.py)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(DATA, tmp_path / "watch")
    return tmp_path / "watch"


def test_first_run_then_reruns_of_the_affected_tests_until_ctrl_c(folder: Path, watcher: Watcher) -> None:
    first = watcher.until(r"^watching ")
    assert "ship_tests.yaml ." in first and "refund_tests.yaml ." in first
    assert "2 passed, 0 failed" in first

    # A policy edit: 48h -> 24h makes the 30-hour shipment late. Only the tests of that policy run again.
    ship = folder / "policies" / "ship.yaml"
    save(ship, ship.read_text(encoding="utf-8").replace("value: 48h", "value: 24h"))
    rerun = watcher.until(SUMMARY)
    assert "changed: " in rerun and "ship.yaml" in rerun
    assert "ship_tests.yaml F" in rerun
    assert "watch-ship/ships-in-time: expected complied, got violated" in rerun
    assert "refund_tests.yaml" not in rerun
    assert "0 passed, 1 failed" in rerun

    # A YAML mistake while watching: printed with its place; the watch goes on.
    good = ship.read_text(encoding="utf-8")
    save(ship, good.replace("params:\n", "params\n"))
    broken = watcher.until(r"^not run: the policies do not load")
    assert re.search(r"ship\.yaml:10:1: invalid YAML", broken), broken

    # Fixed (and back to 48 hours): the policy's tests pass again.
    save(ship, good.replace("value: 24h", "value: 48h"))
    fixed = watcher.until(SUMMARY)
    assert "ship_tests.yaml ." in fixed and "1 passed, 0 failed" in fixed

    # A test file edit reruns that file alone.
    refund = folder / "tests" / "refund_tests.yaml"
    save(refund, refund.read_text(encoding="utf-8").replace(": violated", ": complied"))
    edited = watcher.until(SUMMARY)
    assert "refund_tests.yaml F" in edited and "ship_tests.yaml" not in edited

    watcher.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert watcher.proc.wait(timeout=WAIT) == 0
    tail = watcher.rest()
    assert "stopped watching" in tail and "Traceback" not in tail


def test_a_test_file_that_does_not_load_is_located_and_watching_goes_on(folder: Path, watcher: Watcher) -> None:
    watcher.until(r"^watching ")
    refund = folder / "tests" / "refund_tests.yaml"
    good = refund.read_text(encoding="utf-8")
    save(refund, "tests:\n  - name: x\n    case: {kind: after_sale\n")
    out = watcher.until(SUMMARY)
    assert re.search(r"refund_tests\.yaml:\d+:\d+: invalid YAML", out), out
    assert "1 file(s) with errors" in out
    save(refund, good)
    again = watcher.until(SUMMARY)
    assert "refund_tests.yaml ." in again
    watcher.proc.send_signal(signal.SIGINT)
    assert watcher.proc.wait(timeout=WAIT) == 0

"""A runaway record costs that record, never the run (run.runaway): a plugin's code that never returns on one
record is stopped after --record-limit CPU seconds, that record is reported rejected, the others are evaluated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from casefiles import marked_cases

from policy_eval.run.runaway import RecordTimeout, Watchdog

CLI = str(Path(sys.executable).with_name("policy-eval"))

PLUGIN = '''
from policy_eval.plugins.hookspecs import hookimpl

def _spin(case):
    if str(case.get("case_id", "")).startswith("SPIN"):
        while True:  # a plugin that never returns on this record
            pass
    return case

@hookimpl
def policy_eval_enrichers():
    return [_spin]
'''


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_record_that_never_ends_is_rejected_and_the_run_goes_on(tmp_path: Path, jobs: str) -> None:
    spin = {3, 250}
    source = tmp_path / "cases.jsonl"
    source.write_bytes(marked_cases(400, spin, "SPIN"))
    (tmp_path / "spin_plugin.py").write_text(PLUGIN, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NO_COLOR="1")
    proc = subprocess.Popen([CLI, "eval", "-q", "-f", "jsonl", "--jobs", jobs, "--plugin", "spin_plugin",
                             "--record-limit", "1", "-o", str(out), str(source)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the run never ended: the spinning records were not stopped")
    assert proc.returncode == 1, err  # rejected records
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["record"] for r in records] == list(range(1, 401))
    rejected = {r["record"] - 1: r["error"]["message"] for r in records if r["status"] == "rejected"}
    assert set(rejected) == spin
    assert {r["case_id"] for r in records if r["status"] == "rejected"} == {f"SPIN-{i}" for i in spin}
    assert all(m.startswith("evaluation stopped: this record used more than 1 s of CPU") for m in rejected.values())
    assert "400 records read: 398 evaluated, 2 rejected" in err


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_watchdog_stops_a_long_record_and_only_it() -> None:
    dog = Watchdog(0.4)
    assert dog.arm()
    try:
        dog.begin()
        with pytest.raises(RecordTimeout, match="more than 0.4 s of CPU"):
            _burn(30)
        dog.end()
        for _ in range(6):  # short records, one after the other, for longer than the limit in all
            dog.begin()
            _burn(0.1)
            dog.end()
        _burn(1.0)  # between records: nothing to stop
    finally:
        dog.disarm()
    assert signal.getsignal(signal.SIGPROF) in (signal.SIG_DFL, None)
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_the_watchdog_leaves_a_timer_or_thread_that_is_not_its_own() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGPROF, mine)
    try:
        assert not Watchdog(1).arm()  # a profiler's or a test's CPU limit: kept
        assert signal.getsignal(signal.SIGPROF) is mine
    finally:
        signal.signal(signal.SIGPROF, previous)
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(Watchdog(1).arm()))
    thread.start()
    thread.join()
    assert answers == [False]  # (handlers run on the main thread only)
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            Watchdog(bad)


def test_record_limit_option() -> None:
    import argparse

    from policy_eval.cli import options

    assert options.seconds_or_none("none") is None and options.seconds_or_none("2.5") == 2.5
    for bad in ("0", "-1", "inf", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            options.seconds_or_none(bad)


def test_watching_arms_for_a_block_and_a_forked_copy_arms_again() -> None:
    dog = Watchdog(8)
    with dog.watching():
        assert dog.armed and signal.getitimer(signal.ITIMER_PROF) != (0.0, 0.0)
        with dog.watching():  # (already armed: left as it was)
            pass
        assert dog.armed
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # a forked worker: the timer is not inherited, the watchdog's state is
            timer_before = signal.getitimer(signal.ITIMER_PROF)
            ok = dog.arm() and signal.getitimer(signal.ITIMER_PROF) != (0.0, 0.0)
            os.write(write, b"1" if timer_before == (0.0, 0.0) and ok else b"0")
            os._exit(0)
        os.close(write)
        answer = os.read(read, 1)
        os.waitpid(pid, 0)
        os.close(read)
        assert answer == b"1"
    assert not dog.armed and signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)

"""A Ctrl-C during `eval --engine dask` ends as with --jobs: exit 130, the run's own lines on stderr, no worker
tracebacks (an operator's trial: each local Dask worker, in the same process group, printed KeyboardInterrupt
and CancelledError tracebacks, 70-80 lines, in 4 of 6 tries)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask extra is installed by .ci/run; see pyproject [dask]")

EXAMPLES = Path(__file__).parent.parent / "examples"
CLI = str(Path(sys.executable).with_name("policy-eval"))


def test_ctrl_c_to_the_process_group_leaves_no_worker_traceback(tmp_path: Path) -> None:
    lines = (EXAMPLES / "after_sales.jsonl").read_bytes().splitlines()
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"\n".join(lines[i % len(lines)] for i in range(100_000)) + b"\n")
    out = tmp_path / "out.jsonl"
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([CLI, "eval", "-q", "-f", "jsonl", "--engine", "dask", "--jobs", "2", "-o", str(out),
                                 str(big)], stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size > 0 for p in tmp_path.glob(".out.jsonl.*")):  # results are being written
            assert proc.poll() is None and time.monotonic() < deadline, "the evaluation never started writing"
            time.sleep(0.05)
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stderr = (tmp_path / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    assert code == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    # nor Dask's own log lines (a heartbeat's ERROR when the scheduler closed, a WARNING per cancelled task)
    assert " - distributed." not in stderr, stderr[-3000:]
    assert "policy-eval: interrupted;" in stderr

"""--jobs N survives a worker's death (issue 13 item 6): no hang, nothing lost, a non-zero exit.

A plugin enricher kills its own process (SIGKILL, as the OOM killer does) on the records named
POISON. The run must finish: every other record evaluated in input order, each poison record
rejected with a message naming the death, read = evaluated + rejected, exit non-zero; and a worker
killed from outside mid-run costs nothing but a warning: its records are evaluated again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from casefiles import marked_cases

CLI = str(Path(sys.executable).with_name("policy-eval"))

PLUGIN = '''
import os, signal
from policy_eval.plugins.hookspecs import hookimpl

def _poison(case):
    if str(case.get("case_id", "")).startswith("POISON") and os.environ.get("POISON_ARMED") == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    return case

@hookimpl
def policy_eval_enrichers():
    return [_poison]
'''

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")


def _env(tmp_path: Path, armed: bool) -> dict[str, str]:
    (tmp_path / "poison_plugin.py").write_text(PLUGIN, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), POISON_ARMED="1" if armed else "0", NO_COLOR="1")
    return env


def test_a_record_that_kills_its_worker_is_rejected_and_the_rest_is_evaluated(tmp_path: Path) -> None:
    poison = {5, 700}
    source = tmp_path / "cases.jsonl"
    source.write_bytes(marked_cases(1200, poison, "POISON"))
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([CLI, "eval", "-q", "-f", "jsonl", "--jobs", "2", "--plugin", "poison_plugin",
                           "-o", str(out), str(source)], env=_env(tmp_path, armed=True), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode != 0, proc.stderr
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["record"] for r in records] == list(range(1, 1201))  # every line once, in order
    rejected = {r["record"] - 1: r["error"]["message"] for r in records if r["status"] == "rejected"}
    assert set(rejected) == poison
    assert all("worker process evaluating this record died" in m for m in rejected.values())
    assert all(r["status"] == "evaluated" for r in records if r["record"] - 1 not in poison)
    assert "1200 records read: 1198 evaluated, 2 rejected" in proc.stderr
    assert "killed its worker twice" in proc.stderr


COUNT = 60_000


def _children(pid: int) -> list[int]:
    task = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in task.read_text().split()] if task.exists() else []


def test_a_worker_killed_from_outside_costs_a_warning_not_records(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    # enough records that the run outlasts the kill (20,000 once took seconds; evaluation got faster: a worker
    # that had finished could not be killed any more)
    source.write_bytes(marked_cases(COUNT, set(), "POISON"))
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([CLI, "eval", "-q", "-f", "jsonl", "--jobs", "2", "-o", str(out), str(source)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        children: list[int] = []
        deadline = time.monotonic() + 120
        while len(children) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            children = _children(proc.pid)
        assert children, "no worker started"
        time.sleep(0.5)
        killed = False
        while not killed and proc.poll() is None:  # a worker may have ended meanwhile: kill one still there
            for pid in _children(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed = True
                break
        assert killed, "the run ended before a worker could be killed: the input is too small"
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, err
    assert "worker process died" in err
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["record"] for r in records] == list(range(1, COUNT + 1))
    assert all(r["status"] == "evaluated" for r in records)


def _double(chunk: list[int]) -> list[int]:
    return [2 * x for x in chunk]


def test_the_pool_is_closed_with_its_manager_thread() -> None:
    """A run's end joins the pool's manager thread: left running, it may close the pool's wake-up pipe while
    the interpreter's exit writes to it (Python 3.11), and a run that went well then ends with an "Exception
    ignored ... Bad file descriptor" traceback on stderr."""
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    from policy_eval.run.workers import run_pool

    before = set(threading.enumerate())
    ctx = multiprocessing.get_context("fork")
    for _ in range(3):
        out = list(run_pool(([i, i + 1] for i in range(0, 20, 2)), _double,
                            lambda: ProcessPoolExecutor(2, mp_context=ctx), window=4,
                            lost=lambda item, why: None, on_death=lambda message: None))
        assert out == [2 * i for i in range(20)]
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        assert left == [], left


def _run_alone(script: str, timeout: float = 60) -> tuple[int | None, bytes, bytes]:
    """Run ``script`` in a fresh interpreter, in its own process group: its exit code (None if it had not ended
    after ``timeout`` seconds: the group is killed, as its pool's workers hold its pipes too), stdout, stderr."""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err
    return proc.returncode, out, err


def _half_a_result(chunk: list[int]) -> list[int]:
    """In a pool's worker: write the start of a result message (its length says 1 MB, 10 bytes follow) on the
    worker's result pipe, as a worker stopped in the middle of sending a result does, then wait to be stopped."""
    import struct

    result_queue = sys._getframe(1).f_locals["result_queue"]  # concurrent.futures.process._process_worker's
    os.write(result_queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 10)
    Path(f"{chunk[0]}").write_text("written")
    time.sleep(600)
    return chunk


_HALF_A_RESULT = """
import multiprocessing, os, sys, threading, time
sys.path.insert(0, {tests!r})
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from policy_eval.run.workers import _Pool
from test_workers import _half_a_result

os.chdir({tmp!r})
pool = _Pool(lambda: ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")))
manager = pool.executor._executor_manager_thread if hasattr(pool.executor, "_executor_manager_thread") else None
pool.submit(_half_a_result, [1])
while not Path("1").exists():
    time.sleep(0.05)
time.sleep(0.5)  # the manager thread reads the length and waits for the rest
manager = pool.executor._executor_manager_thread
pool.close()
print("manager alive:", manager.is_alive(), flush=True)
"""


def test_a_worker_stopped_while_sending_a_result_does_not_hang_the_end(tmp_path: Path) -> None:
    """An interrupted ``--jobs`` run terminates its workers; one of them may be in the middle of writing a result.
    The pool's manager thread then waited forever for the rest of the message, and so did the interpreter's exit
    (it joins that thread): SIGTERM during ``eval --jobs 2`` sometimes left the process running. Closing the pool
    must end the manager thread, and the process must exit."""
    script = _HALF_A_RESULT.format(tests=str(Path(__file__).parent), tmp=str(tmp_path))
    code, out, err = _run_alone(script)
    if code is None:
        pytest.fail(f"the process did not exit after the pool was closed: {out!r} {err[-2000:]!r}")
    assert out.decode().strip() == "manager alive: False", err.decode()[-2000:]
    assert code == 0, err.decode()[-2000:]


def _half_a_result_then_die(chunk: list[tuple[str, int]]) -> list[int]:
    """The first time it meets record 3: write the start of a result message, then die (``kill -9`` while
    sending). Otherwise: each record's number, doubled."""
    import struct

    flag = Path("died")
    if ("", 3) in chunk and not flag.exists():
        flag.write_text("once")
        result_queue = sys._getframe(1).f_locals["result_queue"]
        os.write(result_queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 10)
        os.kill(os.getpid(), signal.SIGKILL)
    return [2 * number for _, number in chunk]


_KILLED_WHILE_SENDING = """
import multiprocessing, os, sys
sys.path.insert(0, {tests!r})
from concurrent.futures import ProcessPoolExecutor
from policy_eval.run import workers
from test_workers import _half_a_result_then_die

os.chdir({tmp!r})
workers.STUCK = 1.0
deaths = []
out = list(workers.run_pool(([("", i), ("", i + 1)] for i in range(0, 20, 2)), _half_a_result_then_die,
                            lambda: ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")),
                            window=4, lost=lambda item, why: None, on_death=deaths.append))
print(out == [2 * i for i in range(20)], len(deaths), flush=True)
"""


def test_a_worker_killed_while_sending_a_result_costs_a_warning_not_the_run(tmp_path: Path) -> None:
    """A worker killed in the middle of writing a result leaves the pool's manager thread waiting for the rest of
    the message: it neither completes the chunk's future nor notices the death, and the run waited forever. The
    pool's watchdog takes it for dead, and the run goes on as after any other death: every record evaluated once,
    one death reported."""
    script = _KILLED_WHILE_SENDING.format(tests=str(Path(__file__).parent), tmp=str(tmp_path))
    code, out, err = _run_alone(script)
    if code is None:
        pytest.fail(f"the run never ended: {out!r} {err[-2000:]!r}")
    assert out.decode().split() == ["True", "1"], err.decode()[-2000:]
    assert code == 0, err.decode()[-2000:]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:  # (state, ppid, ...)
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_workers_die_with_a_parent_killed_outright(tmp_path: Path) -> None:
    """An operator's audit: kill -9 of the parent (the OOM killer, say) left the --jobs workers alive for good,
    reparented to init and waiting for work."""
    source = Path(__file__).resolve().parent.parent / "examples" / "after_sales.jsonl"
    big = tmp_path / "big.jsonl"
    big.write_bytes(source.read_bytes() * 5000)  # 100,000 records: minutes of work
    proc = subprocess.Popen([CLI, "eval", "-q", "-f", "jsonl", "--jobs", "2", "-o", str(tmp_path / "out.jsonl"),
                             str(big)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = _children(proc.pid)
    assert len(workers) >= 2, "the workers never started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    alive = [w for w in workers if Path(f"/proc/{w}").exists()]
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [w for w in workers if Path(f"/proc/{w}").exists()
                 and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    for w in alive:  # (ours: do not leave them behind whatever the outcome)
        os.kill(w, signal.SIGKILL)
    assert alive == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
@pytest.mark.parametrize(("told", "code"), [("this process", 0), ("another", 1)])
def test_a_worker_whose_parent_is_not_the_pools_maker_ends_at_once(told: str, code: int) -> None:
    """A worker forked just before kill -9 of its parent asked for its parent's pid only after it was
    reparented to init, took init for its parent and waited for work for good (a CI run left one alive): it is
    told the pid the pool was made in."""
    import multiprocessing

    from policy_eval.run.workers import die_with_parent

    parent = os.getpid() if told == "this process" else os.getpid() + 4_000_000  # (beyond pid_max: no process)
    child = multiprocessing.get_context("fork").Process(target=die_with_parent, args=(parent,))
    child.start()
    child.join(30)
    assert child.exitcode == code

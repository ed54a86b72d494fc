"""Dask: a record that kills its worker is isolated (issue 13 item 7).

The poison plugin of tests/test_workers.py SIGKILLs the worker on records named POISON. Before, the
run ended with KilledWorker and nothing written; now the other records of its chunk and everything
after are evaluated and written, in input order, and the poison record is reported as rejected.

The input is small on purpose: each record of the chunk that killed its worker is evaluated again as a
task of its own, one in flight (a round trip each), and each death costs a worker restart that loads the
rulebook again. With 600 records (a first byte range of 326) the test took 45 s on a quiet machine and
over 200 s under load, and once hit its 900 s timeout. Records padded with JSON whitespace to 8 KiB keep
two byte ranges (the poison in the first, a range after it) with 31 + 9 records.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from casefiles import marked_cases
from test_workers import CLI, _env

from policy_eval.rulebook.shards import plan_shards

pytest.importorskip("distributed", reason="the Dask extra is installed by .ci/run; see pyproject [dask]")

COUNT, POISON, WIDTH = 40, 20, 8192  # the poison is record 21, in the first of two byte ranges


def _padded(count: int, poison: set[int]) -> bytes:
    """The cases of test_workers, each line padded to WIDTH bytes with whitespace before its closing brace."""
    lines = marked_cases(count, poison, "POISON").decode().splitlines()
    assert all(line.endswith("}") and len(line) < WIDTH for line in lines)
    return "".join(line[:-1] + " " * (WIDTH - len(line)) + "}\n" for line in lines).encode()


def test_a_record_that_kills_its_dask_worker_is_isolated(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_bytes(_padded(COUNT, {POISON}))
    with source.open("rb") as fh:
        ranges = [(r.first, r.last) for r in plan_shards(fh, str(source))]
    assert len(ranges) == 2 and ranges[0][0] < POISON + 1 < ranges[0][1], ranges  # records before, after, beyond
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([CLI, "eval", "-q", "-f", "jsonl", "--engine", "dask", "--jobs", "2", "--plugin",
                           "poison_plugin", "-o", str(out), str(source)], env=_env(tmp_path, armed=True),
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode != 0, proc.stderr
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["record"] for r in records] == list(range(1, COUNT + 1))
    rejected = [r["record"] for r in records if r["status"] == "rejected"]
    assert rejected == [POISON + 1], proc.stderr
    assert all(r["status"] == "evaluated" for r in records if r["record"] != POISON + 1)
    assert "killed its Dask worker" in proc.stderr
    assert f"{COUNT} records read: {COUNT - 1} evaluated, 1 rejected" in proc.stderr


def test_a_local_cluster_that_drops_a_restarting_worker_gets_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under load a killed worker's restart can outlast Dask's ``lost-worker-timeout``: the LocalCluster then
    closes that nanny for good, and with no worker left the run waited forever (the 900 s timeouts above).
    Here the timeout is 0 s, so the cluster gives up on the killed worker at once; the run must still end
    with every record evaluated as in one process."""
    import dask

    from policy_eval.run import distributed
    from policy_eval.run.batch import BatchOptions, run_batch

    monkeypatch.setattr(distributed, "POLL", 0.5)
    records = [("cases.jsonl", i, json.loads(line)) for i, line in enumerate(marked_cases(20, set(), "POISON").decode().splitlines(), 1)]
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "0s"}):
        client = distributed.connect(None, jobs=1)
        cluster = client.cluster
        try:
            (pid,) = client.run(os.getpid).values()
            os.kill(pid, signal.SIGKILL)
            for _ in range(600):  # the cluster drops the nanny (it would never come back by itself)
                if not cluster.workers:
                    break
                time.sleep(0.1)
            assert not cluster.workers
            out: list[Any] = []
            runner = threading.Thread(target=lambda: out.extend(
                r.to_dict() for r in distributed.run_on_dask(records, BatchOptions(), client=client)), daemon=True)
            runner.start()
            runner.join(timeout=600)
            assert not runner.is_alive(), "the run is waiting for a worker that will never come"
        finally:
            client.close()
            cluster.close()
    assert out == [r.to_dict() for r in run_batch(records, BatchOptions(), jobs=1)]

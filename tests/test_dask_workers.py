"""Dask: a record that kills its worker is isolated (issue 13 item 7).

The poison plugin of tests/test_workers.py SIGKILLs the worker on records named POISON. Before, the
run ended with KilledWorker and nothing written; now the other records of its chunk and everything
after are evaluated and written, in input order, and the poison record is reported as rejected.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_workers import CLI, _cases, _env

pytest.importorskip("distributed", reason="the Dask extra is installed by .ci/run; see pyproject [dask]")


def test_a_record_that_kills_its_dask_worker_is_isolated(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_bytes(_cases(600, {300}))
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([CLI, "eval", "-q", "-f", "jsonl", "--engine", "dask", "--jobs", "2", "--plugin",
                           "poison_plugin", "-o", str(out), str(source)], env=_env(tmp_path, armed=True),
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode != 0, proc.stderr
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["record"] for r in records] == list(range(1, 601))
    rejected = [r["record"] for r in records if r["status"] == "rejected"]
    assert rejected == [301], proc.stderr
    assert "killed its Dask worker" in proc.stderr
    assert "600 records read: 599 evaluated, 1 rejected" in proc.stderr

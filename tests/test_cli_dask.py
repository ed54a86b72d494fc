"""Issue 18 item 2: ``eval --engine dask --scheduler ADDR -p RELATIVE`` works when the workers run in another
folder (paths are resolved on the client), and results from another rulebook are refused naming both hashes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("distributed", reason="the Dask extra: pip install '.[dask]'")

from policy_eval.cli import UsageError  # noqa: E402
from policy_eval.cli.commands.eval import _same_rulebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("policy-eval"))


def test_relative_policy_folder_on_a_cluster_whose_workers_run_elsewhere(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    shutil.copytree(ROOT / "policies", tmp_path / "my-policies", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "examples" / "after_sale_car_return_refund.json", tmp_path / "case.json")
    # The workers' folder is this process's (the repository), where ./my-policies does not exist.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster):
        proc = subprocess.run([CLI, "eval", "--engine", "dask", "--scheduler", cluster.scheduler_address,
                               "-p", "my-policies", "-f", "jsonl", "case.json"],
                              cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", timeout=300)
    local = subprocess.run([CLI, "eval", "-p", "my-policies", "-f", "jsonl", "case.json"],
                           cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == local.returncode == 1, proc.stderr[-2000:]
    assert proc.stdout == local.stdout and '"violated"' in proc.stdout


def test_results_of_another_rulebook_are_an_error_naming_both_hashes() -> None:
    mine, theirs = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    same = [SimpleNamespace(rulebook=mine)] * 2
    assert list(_same_rulebook(iter(same), mine, "p")) == same
    with pytest.raises(UsageError) as caught:
        list(_same_rulebook(iter([SimpleNamespace(rulebook=mine), SimpleNamespace(rulebook=theirs)]), mine, "p"))
    assert theirs in str(caught.value) and mine in str(caught.value)

"""Rough edges a new user met (issue 18 item 6 of the follow-up): errors blamed on the right file, and
`policy-eval test -p FOLDER` finding the tests beside the folder as the no-argument form does."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli import run
from policy_eval.cli.commands import test as test_command
from policy_eval.resources import bundled_policies, bundled_tests
from policy_eval.run.testing import discover

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_explain_blames_a_bad_policy_test_file_not_the_policies(fast_load: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests:\n  - name: x\n    case: {kind: appeal}\n    expect:\n      appeals/nope: complyed\n",
                   encoding="utf-8")
    code, out, err = _run("explain", str(bad))
    assert (code, out) == (2, "")
    assert err.startswith(f"{bad}:5:21: unknown outcome 'complyed'")
    assert err.endswith(f"\n1 error: {bad} was not read\n")
    assert "policies were not loaded" not in err


def _files_run(monkeypatch: pytest.MonkeyPatch) -> list[list[Path]]:
    """Replace the running of the tests by a record of the files chosen."""
    chosen: list[list[Path]] = []

    def fake(args: Any, rb: Any, files: list[Path], out: Any, err: Any, **kw: Any) -> int:
        chosen.append(sorted(files))
        return 0

    monkeypatch.setattr(test_command, "run_files", fake)
    return chosen


def test_test_with_the_bundled_folder_given_runs_its_golden_tests(fast_load: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = _files_run(monkeypatch)
    assert _run("test")[0] == 0
    assert _run("test", "-p", str(bundled_policies()))[0] == 0
    golden = sorted(discover([bundled_tests()]))
    assert golden and chosen == [golden, golden]


def test_test_finds_tests_golden_beside_a_policy_folder(fast_load: None, tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    shutil.copy(ROOT / "policies" / "appeals" / "v1.yaml", tmp_path / "policies" / "appeals.yaml")
    code, out, _ = _run("test", "-p", str(tmp_path / "policies"))
    assert code == 1
    assert out.startswith(f"no tests found in {tmp_path / 'policies'} (")  # nothing beside it either
    (tmp_path / "tests" / "golden").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "golden" / "appeals.yaml", tmp_path / "tests" / "golden")
    code, out, _ = _run("test", "-p", str(tmp_path / "policies"))
    assert out.splitlines()[0].startswith(f"{tmp_path / 'tests' / 'golden' / 'appeals.yaml'} ...")
    assert " 0 failed" in out


def test_detail_full_in_the_text_report_shows_every_verdict() -> None:
    """A new user: `eval --detail full` with the text report was accepted and changed nothing. It shows every
    verdict there, as -v does (full detail: every verdict of every rule)."""
    case = str(ROOT / "examples" / "after_sale_fruit_refund_no_reply.json")
    _, plain, _ = _run("eval", "--color", "never", case)
    _, full, _ = _run("eval", "--color", "never", "--detail", "full", case)
    _, verbose, _ = _run("eval", "--color", "never", "-v", case)
    assert full == verbose and full != plain
    assert "COMPLIED after-sales/refund-only-window" in full and "COMPLIED" not in plain


def test_rules_as_of_names_the_policies_not_yet_in_force() -> None:
    """A new user: `rules --as-of 2019-01-01 --policy national-warranty` printed '0 rules' and no more (the
    store metrics begin on the date in their text's title, 2019-07-01)."""
    code, out, _ = _run("rules", "--as-of", "2019-06-01", "--policy", "service-metrics")
    assert code == 0 and out.splitlines()[-1] == "0 rules; no version in force at 2019-06-01: service-metrics from 2019-07-01"
    _, out, _ = _run("rules", "--as-of", "2024-06-01")
    assert "no version in force" not in out  # every policy has a version then

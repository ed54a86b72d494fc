"""A policy test file's ``params:`` names the deployment overlay its tests run with (issue 19 item 5)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import policytext as pt
import pytest

# Imported here, before pytester snapshots sys.modules, so that each in-process run reuses them.
import policy_eval.rulebook.cases  # noqa: F401
import policy_eval.run.evaluate  # noqa: F401
from policy_eval.errors import PolicyError
from policy_eval.run.testing import load_tests

pytest_plugins = ["pytester"]

POLICY = pt.policy(pt.RESPONSE_TIME)
# answered 30 h after it was submitted
CASE = pt.after_sale_case(merchant_response={"at": "2024-03-02T16:00:00+08:00", "action": "agree"})
_write = pt.write


def _cli(*argv: object) -> tuple[int, str, str]:
    from policy_eval.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run([str(a) for a in argv], out, err)
    return code, out.getvalue(), err.getvalue()


def _tests(folder: Path, params: str | None, expect: str) -> Path:
    head = f"params: {params}\n" if params else ""
    return _write(folder / "t.yaml", head + "tests:\n  - name: answered 30 h later\n"
                  + f"    case: {json.dumps(CASE)}\n    expect:\n      demo/response-time: {expect}\n")


def test_params_is_resolved_from_the_test_files_folder(tmp_path: Path) -> None:
    overlay = _write(tmp_path / "deploy" / "d.yaml", "params:\n  demo:\n    response_limit: 24h\n")
    (test,) = load_tests(_tests(tmp_path / "tests", "../deploy/d.yaml", "violated"))
    assert test.params == str(overlay.resolve())
    (test,) = load_tests(_tests(tmp_path / "other", None, "undetermined"))
    assert test.params is None


def test_a_missing_overlay_is_an_error_at_the_params_line(tmp_path: Path) -> None:
    path = _tests(tmp_path, "nowhere.yaml", "violated")
    with pytest.raises(PolicyError) as info:
        load_tests(path)
    assert info.value.file == str(path) and info.value.line == 1 and "nowhere.yaml" in info.value.message


def test_policy_eval_test_runs_each_file_with_its_overlay(tmp_path: Path) -> None:
    _write(tmp_path / "p" / "demo.yaml", POLICY)
    _write(tmp_path / "d.yaml", "params:\n  demo:\n    response_limit: 24h\n")
    _tests(tmp_path / "set", "../d.yaml", "violated")  # 30 h > 24 h
    _tests(tmp_path / "unset", None, "undetermined")  # the text sets no number
    code, out, err = _cli("test", "-p", tmp_path / "p", tmp_path / "set", tmp_path / "unset")
    assert (code, err) == (0, ""), out
    assert "2 passed, 0 failed" in out
    # a file's params: wins over --params; a file without one takes --params
    _write(tmp_path / "loose.yaml", "params:\n  demo:\n    response_limit: 48h\n")
    code, out, _ = _cli("test", "-p", tmp_path / "p", "--params", tmp_path / "loose.yaml",
                        tmp_path / "set", tmp_path / "unset")
    assert code != 0 and "1 passed, 1 failed" in out
    assert "expected undetermined, got complied" in out


def test_the_pytest_plugin_honours_params(pytester: pytest.Pytester) -> None:
    _write(pytester.path / "p" / "demo.yaml", POLICY)
    _write(pytester.path / "d.yaml", "params:\n  demo:\n    response_limit: 24h\n")
    _tests(pytester.path / "set", "../d.yaml", "violated")
    (pytester.path / "set" / "t.yaml").rename(pytester.path / "set" / "test_set.yaml")
    _tests(pytester.path / "unset", None, "undetermined")
    (pytester.path / "unset" / "t.yaml").rename(pytester.path / "unset" / "test_unset.yaml")
    pytester.makeini("[pytest]\npolicy_eval_policies = p\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2)


def test_the_golden_overlay_is_the_example_deployment() -> None:
    # tests/golden is installed as package data (policy_eval.golden) without examples/, so the golden
    # files name a copy beside them; it must stay the README's example deployment, byte for byte.
    root = Path(__file__).resolve().parent.parent
    golden = root / "tests" / "golden" / "deployment.yml"
    assert golden.read_bytes() == (root / "examples" / "deployment.yaml").read_bytes()
    names = {Path(t.params).name for f in sorted((root / "tests" / "golden").glob("*.yaml"))
             for t in load_tests(f) if t.params}
    assert names == {"deployment.yml"}

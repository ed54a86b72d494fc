"""Files a policy-test file names (``case:``, ``params:``) stay in the tests' own tree (a red team's trial).

Before: ``params: ../../../home/.git-credentials``, ``params: /etc/passwd`` or ``case:`` through a symbolic link
were read and their first line quoted in the error ("a parameter file is a mapping with one key ..."), so a test
file arriving in a pull request could print a CI runner's secrets; ``case:`` naming a FIFO hung ``policy-eval
test`` forever. Now such a file is refused at the key's line without being read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.run.testing import load_tests

SECRET = "https://alice:ghp_SECRETTOKEN123456@github.com"
CASE = '{"kind": "warranty_claim", "case_id": "c"}'


def _tree(tmp_path: Path, test: str) -> Path:
    """tmp/home/.git-credentials (the secret), tmp/project/tests/t.yaml (the test file), tmp/project/cases/."""
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".git-credentials").write_text(SECRET + "\n", encoding="utf-8")
    (tmp_path / "home" / "key.json").write_text('{"kind": "sk_live_SECRET_abc"}', encoding="utf-8")
    tests = tmp_path / "project" / "tests"
    tests.mkdir(parents=True)
    (tmp_path / "project" / "cases").mkdir()
    (tmp_path / "project" / "cases" / "ok.json").write_text(CASE, encoding="utf-8")
    path = tests / "t.yaml"
    path.write_text(test, encoding="utf-8")
    return path


def _error(path: Path) -> PolicyError:
    with pytest.raises((PolicyLoadError, ErrorList)) as info:
        load_tests(path)
    error = info.value
    return error.errors[0] if isinstance(error, ErrorList) else error


@pytest.mark.parametrize("params", ["../../home/.git-credentials", "{home}/.git-credentials"])
def test_params_outside_the_tree_is_refused_unread(tmp_path: Path, params: str) -> None:
    params = params.format(home=tmp_path / "home")
    path = _tree(tmp_path, f"params: {params}\ntests:\n  - case: {CASE}\n    expect: {{}}\n")
    error = _error(path)
    assert (error.line, error.column) == (1, 9)
    assert "outside the folder above this test file's" in error.message
    assert "ghp_SECRET" not in str(error)


@pytest.mark.parametrize("case", ["../../home/key.json", "{home}/key.json", "linked.json"])
def test_a_case_file_outside_the_tree_is_refused_unread(tmp_path: Path, case: str) -> None:
    case = case.format(home=tmp_path / "home")
    path = _tree(tmp_path, f"tests:\n  - case: {case}\n    expect: {{}}\n")
    (path.parent / "linked.json").symlink_to(tmp_path / "home" / "key.json")  # a link inside pointing outside
    error = _error(path)
    assert (error.line, error.column) == (2, 11)
    assert "outside the folder above this test file's" in error.message
    assert "sk_live" not in str(error)


def test_the_tests_own_tree_is_still_read(tmp_path: Path) -> None:
    path = _tree(tmp_path, "tests:\n  - case: ../cases/ok.json\n    expect: {}\n")
    (test,) = load_tests(path)
    assert test.case == {"kind": "warranty_claim", "case_id": "c"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_case_that_is_a_fifo_is_refused_not_waited_for(tmp_path: Path) -> None:
    path = _tree(tmp_path, "tests:\n  - case: ../cases/pipe.json\n    expect: {}\n")
    os.mkfifo(tmp_path / "project" / "cases" / "pipe.json")
    # in a child process: on the old code it waited for a writer forever
    code = ("import sys; from pathlib import Path; from policy_eval.run.testing import load_tests\n"
            "try:\n    load_tests(Path(sys.argv[1]))\nexcept Exception as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert "case: " in done.stdout and "not a regular file; not read" in done.stdout, done

"""Policy tests whose case is a JSON file (``case: ../cases/x.json``), and ``test --watch`` rerunning them when
that file is saved (issue 15 leftover).

Before: a test's case could only be written inline, and ``--watch`` looked at YAML files only, so a case kept
as a JSON file (as ``eval`` reads it) could not be shared with a test, and saving one reran nothing. Now
``case:`` may name a JSON file relative to the test file, read as ``eval`` reads a record (problems located
at the ``case:`` line); ``--watch`` watches those files wherever they are and reruns exactly the test files
reading a saved one, without loading the policies again. Expected outcomes come from the watch fixture's own
rule (tests/data/watch/policies/ship.yaml: shipped at most 48 hours after grouping).
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from policy_eval.authoring.affected import affected, index_tests
from policy_eval.errors import PolicyLoadError
from policy_eval.run.testing import load_tests

pytest.importorskip("watchfiles")

from watchproc import DATA, SUMMARY, WAIT, Watcher, save  # noqa: E402  (the subprocess driver; `watcher`: conftest.py)

# shipped 30 hours after grouping: within 48 hours
CASE: dict[str, Any] = {
    "kind": "after_sale", "case_id": "W-J1",
    "order": {"id": "W-J1", "group_success_at": "2024-03-01T10:00:00+08:00", "shipped_at": "2024-03-02T16:00:00+08:00"},
    "request": {"id": "R-J1", "type": "refund_only", "submitted_at": "2024-03-05T10:00:00+08:00", "reason": "不想要了"},
}
TESTS = """\
tests:
  - name: shipped 30 hours after grouping, case kept as JSON
    case: ../cases/shipped.json
    expect:
      watch-ship/ships-in-time: complied
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "watch"
    shutil.copytree(DATA, root)
    (root / "cases").mkdir()  # beside the tests, not inside a watched folder
    (root / "cases" / "shipped.json").write_text(json.dumps(CASE, ensure_ascii=False), encoding="utf-8")
    (root / "cases" / "unused.json").write_text(json.dumps(CASE, ensure_ascii=False), encoding="utf-8")
    (root / "tests" / "json_tests.yaml").write_text(TESTS, encoding="utf-8")
    return root


def test_a_case_file_is_read_as_eval_reads_it(folder: Path) -> None:
    [test] = load_tests(folder / "tests" / "json_tests.yaml")
    assert test.case == CASE
    assert test.case_file == str((folder / "cases" / "shipped.json").resolve())


@pytest.mark.parametrize("content, message", [
    (None, "case: cannot read"),
    ('{"kind": "after_sale", "kind": "x"}', 'duplicate key "kind"'),  # as eval refuses it
    ("[1, 2]", "case: "),                                          # not one object
    ("{", "invalid JSON"),
])
def test_a_bad_case_file_is_an_error_at_the_case_line(folder: Path, content: str | None, message: str) -> None:
    case = folder / "cases" / "shipped.json"
    if content is None:
        case.unlink()
    else:
        case.write_text(content, encoding="utf-8")
    with pytest.raises(PolicyLoadError) as caught:
        load_tests(folder / "tests" / "json_tests.yaml")
    assert (caught.value.line, caught.value.column) == (3, 11)
    assert message in caught.value.message and "shipped.json" in caught.value.message


def test_only_json_files_are_case_files(folder: Path) -> None:
    tests = folder / "tests" / "json_tests.yaml"
    tests.write_text(TESTS.replace("../cases/shipped.json", "../policies/ship.yaml"), encoding="utf-8")
    with pytest.raises(PolicyLoadError, match="not a .json file"):
        load_tests(tests)


def test_a_saved_case_file_affects_exactly_the_test_files_reading_it(folder: Path) -> None:
    files = sorted((folder / "tests").glob("*.yaml"))
    index = index_tests(files)
    case = folder / "cases" / "shipped.json"
    assert index.case_files() == {case.resolve()}
    assert [f.name for f in affected([case], files, index, None, None)] == ["json_tests.yaml"]
    assert affected([folder / "cases" / "unused.json"], files, index, None, None) == []


def test_watch_reruns_the_tests_of_a_saved_case_file(folder: Path, watcher: Watcher) -> None:
    first = watcher.until(r"^watching ")
    assert "json_tests.yaml ." in first and "3 passed, 0 failed" in first
    assert "cases" in first.splitlines()[-1]  # the case file's folder is watched too

    # Shipped 60 hours after grouping: past the 48-hour limit. Only the test reading the file runs again,
    # and the policies are not loaded again (no YAML changed).
    case = folder / "cases" / "shipped.json"
    late = {**CASE, "order": {**CASE["order"], "shipped_at": "2024-03-03T22:00:00+08:00"}}
    save(case, json.dumps(late, ensure_ascii=False))
    rerun = watcher.until(SUMMARY)
    assert "changed: " in rerun and "shipped.json" in rerun
    assert "json_tests.yaml F" in rerun
    assert "watch-ship/ships-in-time: expected complied, got violated" in rerun
    assert "ship_tests.yaml" not in rerun and "refund_tests.yaml" not in rerun
    assert "0 passed, 1 failed" in rerun

    # A JSON file no test reads: said so, nothing run.
    save(folder / "cases" / "unused.json", json.dumps(late))
    assert "no test reads it" in watcher.until(r"^no test")

    # Back within the limit: passes again.
    save(case, json.dumps(CASE, ensure_ascii=False))
    fixed = watcher.until(SUMMARY)
    assert "json_tests.yaml ." in fixed and "1 passed, 0 failed" in fixed

    watcher.proc.send_signal(signal.SIGINT)
    assert "stopped watching" in watcher.rest()
    assert watcher.proc.wait(timeout=WAIT) == 0

"""Which tests a saved file affects (policy_eval.authoring.affected), on tests/data/watch."""

from __future__ import annotations

import shutil
from pathlib import Path

from policy_eval.authoring.affected import affected, index_tests, policy_files
from policy_eval.rulebook import load_rulebook

DATA = Path(__file__).resolve().parent / "data" / "watch"


def _setup(tmp_path: Path) -> tuple[Path, list[Path]]:
    shutil.copytree(DATA, tmp_path / "w")
    root = tmp_path / "w"
    return root, sorted((root / "tests").glob("*.yaml"))


def test_a_policy_change_affects_the_tests_expecting_its_rules(tmp_path: Path) -> None:
    root, tests = _setup(tmp_path)
    book = load_rulebook(root / "policies")
    index = index_tests(tests)
    ship, refund = root / "policies" / "ship.yaml", root / "policies" / "refund.yaml"
    assert policy_files(book) == {ship.resolve(): {"watch-ship"}, refund.resolve(): {"watch-refund"}}
    assert affected([ship], tests, index, book, book) == [root / "tests" / "ship_tests.yaml"]
    assert affected([refund], tests, index, book, book) == [root / "tests" / "refund_tests.yaml"]
    assert affected([ship, refund], tests, index, book, None) == tests  # the new rulebook did not load


def test_a_test_file_change_affects_itself_only(tmp_path: Path) -> None:
    root, tests = _setup(tmp_path)
    book = load_rulebook(root / "policies")
    changed = root / "tests" / "refund_tests.yaml"
    assert affected([changed], tests, index_tests(tests), book, book) == [changed]


def test_a_changed_params_overlay_affects_the_files_naming_it(tmp_path: Path) -> None:
    root, tests = _setup(tmp_path)
    overlay = root / "tests" / "deployment.yml"
    overlay.write_text("params: {}\n", encoding="utf-8")
    refund = root / "tests" / "refund_tests.yaml"
    refund.write_text("params: deployment.yml\n" + refund.read_text(encoding="utf-8"), encoding="utf-8")
    book = load_rulebook(root / "policies")
    assert affected([overlay], tests, index_tests(tests), book, book) == [refund]


def test_an_unrelated_file_affects_nothing(tmp_path: Path) -> None:
    root, tests = _setup(tmp_path)
    book = load_rulebook(root / "policies")
    assert affected([root / "notes.yaml"], tests, index_tests(tests), book, book) == []

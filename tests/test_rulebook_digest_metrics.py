"""The rulebook hash covers the metric definitions (issue 19): the data that defines the store-metric
counts changes the figures the service-metrics rules judge, so a changed definition changes the hash."""

from __future__ import annotations

import shutil
from pathlib import Path

from policy_eval.resources import bundled_policies, bundled_schemas
from policy_eval.rulebook import load_rulebook


def _copy(tmp: Path) -> tuple[Path, Path]:
    policies, schemas = tmp / "policies", tmp / "schemas"
    shutil.copytree(bundled_policies(), policies, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shutil.copytree(bundled_schemas(), schemas, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return policies, schemas


def test_a_changed_metric_definition_changes_the_rulebook_hash(tmp_path: Path) -> None:
    policies, schemas = _copy(tmp_path)
    before = load_rulebook(policies, schema_dir=schemas).digest
    defs = policies / "metrics" / "order_metrics.yaml"
    text = defs.read_text(encoding="utf-8")
    # the platform drops the Xinjiang exclusion: no policy file changes, the figures do
    edited = text.replace("ship_to_xinjiang and len(exceptions_in_window) > 0", "false and len(exceptions_in_window) > 0")
    assert edited != text
    defs.write_text(edited, encoding="utf-8")
    after = load_rulebook(policies, schema_dir=schemas).digest
    assert after != before


def test_renaming_the_definitions_file_changes_the_hash(tmp_path: Path) -> None:
    policies, schemas = _copy(tmp_path)
    before = load_rulebook(policies, schema_dir=schemas).digest
    (policies / "metrics" / "order_metrics.yaml").rename(policies / "metrics" / "orders.yaml")
    assert load_rulebook(policies, schema_dir=schemas).digest != before


def test_the_copy_hashes_as_the_bundled_rulebook_and_a_test_file_beside_it_changes_nothing(tmp_path: Path) -> None:
    policies, schemas = _copy(tmp_path)
    bundled = load_rulebook().digest
    assert load_rulebook(policies, schema_dir=schemas).digest == bundled
    (policies / "metrics" / "local_tests.yaml").write_text("tests: []\n", encoding="utf-8")
    assert load_rulebook(policies, schema_dir=schemas).digest == bundled

"""Documentation that is generated must match what it documents."""

from __future__ import annotations

from pathlib import Path

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.ruletable import load_clauses, markdown

ROOT = Path(__file__).resolve().parent.parent


def test_rules_table_is_up_to_date() -> None:
    expected = markdown(load_rulebook(ROOT / "policies"), load_clauses(ROOT / "docs" / "clauses.yaml"))
    actual = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/rules.md is stale: run python -m policy_eval.rulebook.ruletable > docs/rules.md"


def test_every_bundled_policy_declares_its_editor_schema() -> None:
    for path in sorted((ROOT / "policies").rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("=", 1)[1].strip()).resolve()
        # metric definitions (a top-level ``metrics:`` key) have a schema of their own
        schema = "metrics.schema.json" if path.name == "order_metrics.yaml" else "policy.schema.json"
        assert target == (ROOT / "schemas" / schema).resolve(), path

"""A chain of revisions is bounded (a red team's trial: each revision builds every part it inherits, so N files
of 170 bytes cost N squared: 200 took 14 s, 400 did not finish in two minutes). More than
MAX_REVISIONS revisions in a chain is one located error, at the first revision too deep."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_eval.errors import ErrorList, PolicyError
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.loader import MAX_REVISIONS

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tests" / "data" / "policies" / "schemas"
BASE = """policy:
  id: chain
  title: chain
  version: "0"
  source: {document: fixture}
  effective_from: 2020-01-01
  effective_until: 2020-01-02
  applies_to: refund
  reference_time: request.submitted_at
rules:
  - id: r1
    title: r1
    clause: "1"
    severity: low
    let:
      a: "1"
    require: a == 1
    message: r1
"""


def _chain(folder: Path, n: int) -> None:
    """Version 0 and ``n`` revisions, each revising the one before and amending rule r1's let."""
    folder.mkdir()
    (folder / "v0.yaml").write_text(BASE, encoding="utf-8")
    for i in range(1, n + 1):
        until = f"  effective_until: 2020-{1 + (i + 1) // 28:02d}-{1 + (i + 1) % 28:02d}\n"
        (folder / f"v{i}.yaml").write_text(
            f'policy:\n  id: chain\n  version: "{i}"\n  revises: "{i - 1}"\n'
            f"  effective_from: 2020-{1 + i // 28:02d}-{1 + i % 28:02d}\n{until}"
            f"amend:\n  - id: r1\n    let:\n      a: \"{i}\"\n", encoding="utf-8")


def test_a_chain_at_the_limit_loads(tmp_path: Path) -> None:
    _chain(tmp_path / "p", MAX_REVISIONS)
    book = load_rulebook(tmp_path / "p", schema_dir=SCHEMAS)
    assert len(book.policies["chain"].versions) == MAX_REVISIONS + 1


def test_a_longer_chain_is_one_error_at_the_first_revision_too_deep(tmp_path: Path) -> None:
    _chain(tmp_path / "p", MAX_REVISIONS + 5)
    with pytest.raises((PolicyError, ErrorList)) as info:
        load_rulebook(tmp_path / "p", schema_dir=SCHEMAS)
    errors = info.value.errors if isinstance(info.value, ErrorList) else [info.value]
    deep = [e for e in errors if "revisions in a chain" in str(e)]
    assert len(deep) == 1
    assert deep[0].file is not None and deep[0].file.endswith(f"v{MAX_REVISIONS + 1}.yaml")
    assert (deep[0].line, deep[0].column) == (4, 12)  # at its revises: value

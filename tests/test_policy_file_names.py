"""Policy files that would be skipped without a word (issue 13 item 16): a misspelt ``policy:`` key, a
``rules:`` list without its header, a ``.YAML`` / ``.Yml`` suffix. Each is a located load error; test
files, deployment overlays and metric definitions beside policies are still not policies."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from policy_eval.errors import ErrorList
from policy_eval.rulebook import load_rulebook

ROOT = Path(__file__).resolve().parent.parent
V2 = ROOT / "policies" / "after_sales" / "v2.yaml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies" / "after_sales", tmp_path / "policies")
    return tmp_path / "policies"


def _errors(folder: Path) -> list[tuple[str, int, int, str]]:
    with pytest.raises(ErrorList) as info:
        load_rulebook(folder)
    return [(Path(e.file or "").name, e.line, e.column, e.message) for e in info.value.errors]


@pytest.mark.parametrize("key", ["polciy", "Policy", "POLICY", "poliy", "policyy", "plicy"])
def test_a_misspelt_policy_key_is_a_located_error(folder: Path, key: str) -> None:
    text = V2.read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("policy:"))
    (folder / "v2.yaml").write_text(text.replace("\npolicy:", f"\n{key}:", 1), encoding="utf-8")
    [(name, at, column, message)] = _errors(folder)
    assert (name, at, column) == ("v2.yaml", line, 1)
    assert f"top-level key {key!r} is not known; did you mean 'policy'?" in message


def test_rules_without_a_policy_header_is_an_error(folder: Path) -> None:
    (folder / "stray.yaml").write_text("rules:\n  - id: x\n", encoding="utf-8")
    [(name, line, column, message)] = _errors(folder)
    assert (name, line, column) == ("stray.yaml", 1, 1) and "no top-level 'policy:' key" in message


@pytest.mark.parametrize("suffix", [".YAML", ".Yml", ".yAml"])
def test_an_upper_case_suffix_is_an_error_not_a_skipped_file(folder: Path, suffix: str) -> None:
    (folder / "v2.yaml").rename(folder / f"v2{suffix}")
    errors = _errors(folder)
    assert ("v2" + suffix, 1, 1) in [e[:3] for e in errors]
    assert any(f"ends in '{suffix}' and is not read: rename it to v2{suffix.lower()}" in e[3] for e in errors)


def test_other_yaml_documents_are_still_not_policies(folder: Path) -> None:
    (folder / "deployment.yml").write_text("after-sales:\n  some_parameter: 1\n", encoding="utf-8")
    (folder / "tests.yaml").write_text("tests: []\nparams: deployment.yml\n", encoding="utf-8")
    (folder / "metrics.yaml").write_text("metrics: []\n", encoding="utf-8")
    (folder / "notes.yaml").write_text("- a list\n", encoding="utf-8")
    rb = load_rulebook(folder)
    assert [v.version for v in rb.versions()] == ["1", "2"]


def test_check_reports_the_misspelt_key(folder: Path) -> None:
    from policy_eval import cli

    text = V2.read_text(encoding="utf-8")
    (folder / "v2.yaml").write_text(text.replace("\npolicy:", "\npolciy:", 1), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert cli.run(["check", "--policies", str(folder)], out, err) != 0
    assert "v2.yaml:" in err.getvalue() + out.getvalue() and "did you mean 'policy'" in err.getvalue() + out.getvalue()

"""Lint: every check fires where it should (a fixture with one of each), suppressions, the bundled rulebook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from policy_eval.authoring.lint import CHECKS, lint_paths
from policy_eval.resources import bundled_schemas

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "lint"
PE = Path(sys.executable).parent / "policy-eval"

# (check, line in findings/v1.yaml, column): worked out by reading the fixture, not by running lint.
EXPECTED_V1 = {
    ("unused-parameter", 12, 3),
    ("parameter-without-clause", 16, 3),
    ("shared-parameter", 17, 3),
    ("rule-never-applies", 26, 11),  # request.type == "refund-only": the enum has refund_only
    ("unused-let", 34, 7),
    ("constant-condition", 35, 14),  # request.status != "refundd"
    ("conflicting-rules", 44, 5),
    ("constant-condition", 55, 14),  # 1 < 2: its suppression has no reason, so it does not apply
    ("suppression-without-reason", 55, 21),
    ("rule-untested", 22, 5), ("rule-untested", 29, 5), ("rule-untested", 44, 5), ("rule-untested", 51, 5),
    ("rule-untested", 57, 5),
}


@pytest.fixture(scope="module")
def findings() -> list:
    return lint_paths([DATA / "findings", DATA / "findings_tests.yaml"], schema_dir=bundled_schemas())


def _rel(file: str) -> str:
    return Path(file).resolve().relative_to(DATA).as_posix()


def test_each_check_fires_at_its_place(findings: list) -> None:
    got = {(f.check, f.line, f.column) for f in findings if _rel(f.file) == "findings/v1.yaml"}
    assert got == EXPECTED_V1


def test_identical_version_is_reported_on_the_later_version(findings: list) -> None:
    v2 = [f for f in findings if _rel(f.file) == "findings/v2.yaml" and f.check == "identical-version"]
    assert [(f.line, f.column) for f in v2] == [(5, 12)]
    assert "same rules (conditions, messages, remedies) and parameters as version '1'" in v2[0].message


def test_tested_rule_of_one_version_is_untested_in_the_other(findings: list) -> None:
    untested = {(_rel(f.file), f.message.split("'")[1]) for f in findings if f.check == "rule-untested"}
    assert ("findings/v1.yaml", "demand") not in untested
    assert ("findings/v2.yaml", "demand") in untested


def test_suppression_with_a_reason_applies(findings: list) -> None:
    # untested-but-allowed has `require: "true"` below a '# lint: ignore[constant-condition] <reason>' line
    assert not [f for f in findings if f.check == "constant-condition" and f.line in (62, 63)]


def test_messages_name_what_is_wrong(findings: list) -> None:
    by = {(f.check, f.line): f.message for f in findings if _rel(f.file) == "findings/v1.yaml"}
    assert "never 'refundd'; did you mean 'refunding'?" in by[("constant-condition", 35)]  # (a new user's 'breech')
    assert "used by 3 rules: counter-demand, demand, typo-enum" in by[("shared-parameter", 17)]
    assert "'demand' and 'counter-demand'" in by[("conflicting-rules", 44)]


def test_every_check_is_documented() -> None:
    doc = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    for check in CHECKS.values():
        assert f"`{check.id}`" in doc and check.severity in doc


def test_bundled_policies_pass_lint_deny_warnings() -> None:
    proc = subprocess.run([str(PE), "lint", "--deny-warnings", str(ROOT / "policies"), str(ROOT / "tests" / "golden")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors, 0 warnings" in proc.stdout


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    args = [str(PE), "lint", str(DATA / "findings"), str(DATA / "findings_tests.yaml"),
            "--schemas", str(bundled_schemas())]
    plain = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # warnings only: lint passes ...
    assert "warning[rule-never-applies]" in plain.stdout
    denied = subprocess.run(args + ["--deny-warnings", "--format", "json"], capture_output=True, text=True,
                            timeout=600)
    assert denied.returncode == 1  # ... unless warnings are denied
    doc = json.loads(denied.stdout)
    assert {f["check"] for f in doc["findings"]} >= {"unused-parameter", "identical-version", "conflicting-rules"}


def test_cli_on_invalid_policy_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("policy:\n  id x\n  title: y\n", encoding="utf-8")
    proc = subprocess.run([str(PE), "lint", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert ":2:3:" in proc.stdout + proc.stderr


def test_the_examples_in_docs_lint_md_are_the_real_first_lines() -> None:
    """Each example in docs/lint.md is what the command prints (its first lines): a new user found the
    'first lines' example missing two warnings and out of order."""
    import re
    import shlex

    doc = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    blocks = [(m.group(1), m.group(2)) for block in re.findall(r"```\n(\$ policy-eval lint .*?)```", doc, flags=re.S)
              for m in re.finditer(r"^\$ (policy-eval lint [^\n]*)\n((?:(?!\$ ).*\n)*)", block, flags=re.M)]
    assert len(blocks) >= 4
    for command, shown in blocks:
        argv = shlex.split(command)
        proc = subprocess.run([str(PE), *argv[1:]], capture_output=True, text=True, timeout=600, cwd=ROOT)
        lines = shown.rstrip("\n").splitlines()
        assert proc.stdout.splitlines()[:len(lines)] == lines, command


def test_a_remedy_duration_uses_the_lets_and_parameters_it_reads(tmp_path: Path) -> None:
    """A remedy's duration is an expression like its amount: a let or a parameter only it reads is used (lint
    once said 'unused-let' and 'unused-parameter' of them), and a comparison with no enum value in it is seen."""
    text = (
        "policy:\n  id: durations\n  title: durations\n  version: \"1\"\n  source: {document: fixture}\n"
        "  effective_from: 2020-01-01\n  applies_to: after_sale\n  reference_time: request.submitted_at\n"
        "params:\n  ban_days:\n    type: duration\n    value: 7d\n    clause: fixture 1\n"
        "rules:\n  - id: r1\n    title: R\n    clause: fixture 1\n    severity: low\n    message: M\n"
        "    let:\n      ban_for: \"ban_days + 1d\"\n"
        "    require: \"exists(order.shipped_at)\"\n"
        "    remedies:\n      - kind: ban_promotions\n        to: merchant\n        description: fixture\n"
        "        duration: 'if request.type == \"refund-only\" then ban_for else 1d'\n")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "durations.yaml").write_text(text, encoding="utf-8")
    got = {(f.check, f.line) for f in lint_paths([tmp_path / "p"], schema_dir=bundled_schemas())}
    assert not {check for check, _ in got} & {"unused-let", "unused-parameter"}, got
    assert ("constant-condition", text[:text.index("duration:")].count("\n") + 1) in got

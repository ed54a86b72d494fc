"""Lint through the CLI: unused policy-level definitions (tests/data/lint/definitions, a version and a
revision of it) and ``rule-untested`` finding the tests with ``--tests`` or in the policy folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
PE = Path(sys.executable).parent / "policy-eval"


def lint(*args: str | Path) -> tuple[int, dict]:
    proc = subprocess.run([str(PE), "lint", "--format", "json", *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def found(doc: dict, check: str) -> set[tuple[str, int, int]]:
    return {(Path(f["file"]).name, f["line"], f["column"]) for f in doc["findings"] if f["check"] == check}


def test_unused_definitions_are_located_in_the_file_that_writes_them() -> None:
    code, doc = lint(DATA / "lint" / "definitions")
    # By reading the fixture: 'spare' is used by nothing; 'base_of_chain' only by 'chain', used by nothing;
    # 'for_v2' is unused in v1 but used by the revision v2, which inherits it; 'kept' is suppressed with a
    # reason; 'grouped' is reached through 'late', which the rule forbids; v2's own 'own_unused' is unused.
    assert found(doc, "unused-definition") == {("v1.yaml", 15, 3), ("v1.yaml", 16, 3), ("v1.yaml", 17, 3),
                                               ("v2.yaml", 8, 3)}
    messages = {f["message"] for f in doc["findings"] if f["check"] == "unused-definition"}
    assert "definition 'base_of_chain' is used only by definitions that are themselves unused: chain" in messages
    assert "definition 'spare' is not used by any rule, waiver or other definition" in messages
    assert all(f["severity"] == "warning" for f in doc["findings"] if f["check"] == "unused-definition")
    assert code == 0  # warnings alone do not fail lint ...
    denied = subprocess.run([str(PE), "lint", "--deny-warnings", str(DATA / "lint" / "definitions")],
                            capture_output=True, text=True, timeout=600)
    assert denied.returncode == 1  # ... unless denied
    assert "v1.yaml:15:3: warning[unused-definition]: definition 'spare'" in denied.stdout


def test_a_suppression_without_reason_does_not_hide_an_unused_definition(tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    shutil.copytree(DATA / "lint" / "definitions", folder)
    v1 = folder / "v1.yaml"
    text = v1.read_text(encoding="utf-8")
    marker = "# lint: ignore[unused-definition] kept for the 2022 revision's readers, fixture of a suppression"
    assert marker in text
    v1.write_text(text.replace(marker, "# lint: ignore[unused-definition]"), encoding="utf-8")
    _, doc = lint(folder)
    assert ("v1.yaml", 19, 3) in found(doc, "unused-definition")  # 'kept'
    assert ("v1.yaml", 18, 3) in found(doc, "suppression-without-reason")  # the comment, indented 2


def test_rule_untested_reads_the_tests_given_with_tests_or_beside_the_policies(tmp_path: Path) -> None:
    folder = tmp_path / "watch"
    shutil.copytree(DATA / "watch", folder)
    policies, tests = folder / "policies", folder / "tests"
    _, alone = lint(policies)
    assert found(alone, "rule-untested") == set()  # no test anywhere: the check has nothing to go on
    _, both = lint(policies, "--tests", tests)
    assert found(both, "rule-untested") == set()  # each rule has a test
    _, one = lint(policies, "--tests", tests / "ship_tests.yaml")
    assert found(one, "rule-untested") == {("refund.yaml", 11, 5)}  # has-reason: its test was left out
    _, inside = lint(folder)  # a policy folder holding its tests: found there, as `policy-eval test` does
    assert found(inside, "rule-untested") == set()
    (tests / "refund_tests.yaml").unlink()
    _, fewer = lint(folder)
    assert found(fewer, "rule-untested") == {("refund.yaml", 11, 5)}


def test_tests_that_do_not_exist_are_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run([str(PE), "lint", str(DATA / "watch" / "policies"), "--tests", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert "no such file or folder" in proc.stderr


def test_a_parameter_read_through_a_definition_is_used_and_an_inherited_one_keeps_its_clause() -> None:
    """An author's audit: in a revision withdrawing the only rule that read 'floor' directly, lint called 'floor'
    unused although a definition a kept rule reads uses it (rules --params listed it as used), and it asked the
    revision, which never mentions 'floor', for the clause its own file gives."""
    _, doc = lint(DATA / "lint" / "inherited_params")
    assert found(doc, "unused-parameter") == set()
    assert found(doc, "parameter-without-clause") == set()
    shared = {f["message"] for f in doc["findings"] if f["check"] == "shared-parameter"}
    assert "parameter 'floor' is used by 2 rules: floor-rule, handled" in shared  # v1: 'handled' through floor_deadline
    # the revision repeats none of v1's findings about what it inherits (it said them at its own params: line)
    assert [f for f in doc["findings"] if Path(f["file"]).name == "v2.yaml"] == []
    (note,) = [f["message"] for f in doc["findings"] if f["check"] == "message-reads-unread-path"]
    assert note == "rule 'handled': the message shows request.status, which the rule does not read"  # once


def test_a_comment_that_hides_the_rest_of_a_folded_condition_is_a_load_error(tmp_path: Path) -> None:
    """YAML joins the lines of a '>-' block: `a   # note` then `or b` reaches the language as `a # note or b`, and
    the comment swallows `or b`. Found while documenting comments in conditions (docs/language.md): the
    fixture's first rule has one such comment (line 15) and one on the block's last line (harmless). Only lint
    said so at first, and a new user's `check` said "ok" on a `when` that meant less than it said (its
    `eval` reported a 0.00 fee as "fee charged"): the policy is not loaded now, wherever it is loaded."""
    from policy_eval.errors import PolicyError
    from policy_eval.rulebook import load_rulebook

    with pytest.raises(PolicyError) as caught:
        load_rulebook(DATA / "lint" / "folded")
    errors = getattr(caught.value, "errors", None) or [caught.value]
    assert [(Path(str(e.file)).name, e.line, e.column) for e in errors] == [("v1.yaml", 15, 68)]
    assert "this comment hides what follows it" in errors[0].message
    run = subprocess.run([str(PE), "lint", str(DATA / "lint" / "folded")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "v1.yaml:15:68: require: this comment hides what follows it" in run.stderr
    # the same condition as '|-' (each comment ends with its line), a '#' in a string, and a comment on the
    # block's last line load
    text = (DATA / "lint" / "folded" / "v1.yaml").read_text(encoding="utf-8")
    hiding = "request.submitted_at + 48h   # 48小时内: inclusive"
    assert hiding in text
    fine = text.replace(hiding, 'request.submitted_at + 48h and "a # b" != "c"')
    (tmp_path / "v1.yaml").write_text(fine, encoding="utf-8")
    rules = {r.id: r for r in load_rulebook(tmp_path).policies["mini"].latest().rules}
    assert "or exists" in rules["handled"].condition.node.text
    assert "or exists" in rules["keeps"].condition.node.text


def test_a_definition_read_only_by_a_remedy_duration_is_used(tmp_path: Path) -> None:
    """A remedy's duration is an expression like its amount: a definition it reads is used (lint once said
    'unused' of it, reading each remedy's ``when`` and amount only)."""
    folder = tmp_path / "defs"
    shutil.copytree(DATA / "lint" / "definitions", folder)
    v1 = folder / "v1.yaml"
    text = v1.read_text(encoding="utf-8")
    assert "  for_v2: exists(request.reason)\n" in text and text.endswith("    message: order {order.id}\n")
    text = text.replace("  for_v2: exists(request.reason)\n",
                        "  for_v2: exists(request.reason)\n  ban_for: 7d\n")
    text += ("    remedies:\n      - kind: ban_promotions\n        to: merchant\n"
             "        description: fixture\n        duration: ban_for\n")
    v1.write_text(text, encoding="utf-8")
    _, doc = lint(folder)
    names = {f["message"].split("'")[1] for f in doc["findings"] if f["check"] == "unused-definition"}
    assert "spare" in names and "ban_for" not in names

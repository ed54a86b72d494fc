"""YAML mistakes explained: each common mistake gets the place of the mistake, the line and a hint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from policy_eval.errors import ErrorList, PolicyError
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.yamlhints import condition_hint
from policy_eval.rulebook.yamlload import load_yaml

# (name, text, line, column, substring of the hint)
CASES = [
    ("tab indent", "policy:\n\tid: x\n", 2, 1, "YAML indents with spaces only"),
    ("tab after colon", "policy:\n  id: x\n  title:\tfoo\n", 3, 9, "a tab inside the line"),
    # an author's audit: these two got "YAML indents with spaces only" and "indented 4 spaces but the line above 4"
    ("tab inside a condition", "rules:\n  - id: x\n    require: a <=\t1\n", 3, 18, "replace it with a space"),
    ("text after a quoted value", 'policy:\n  id: x\n  title: "abc" def\n', 3, 16,
     'put the whole value inside the quotes: "abc def"'),
    ("colon in a plain value", "policy:\n  title: a: b\n", 2, 11, "unless it is quoted"),
    ("missing colon, then a key", "policy:\n  id x\n  title: y\n", 2, 3, "write 'id: ...'"),
    ("missing colon at the end", "policy:\n  id: x\n  title y\nrules: []\n", 3, 3, "write 'title: ...'"),
    ("indented too far", "policy:\n  id: x\n   title: y\n", 3, 4, "indented 3 spaces but the key above it 2"),
    ("indented too little", "policy:\n  id: x\n title: y\n", 3, 2, "must start in the same column"),
    ("rule key out of line", "rules:\n  - id: a\n    when: x\n   require: y\n", 4, 4, "must start in the same column"),
    # an outside author's audit: a key at the column of the '- ' got "indented 2 spaces but the line above 2",
    # and a line of a folded message not indented enough "a key needs ':' after it"
    ("key at the dash of a list item", "amend:\n  - id: r\n  severity: high\n", 3, 3,
     "the keys of the list item above start after its '- ', at 4 spaces: indent it 4 spaces"),
    ("nested list item key short", "rules:\n  - id: r\n    remedies:\n      - kind: refund\n      to: buyer\n", 5, 7,
     "at 8 spaces: indent it 8 spaces"),
    ("block text not indented", "rules:\n  - id: r\n    message: >-\n      answered late\n    (submitted {x})\n", 5, 5,
     "this line continues the text of 'message' above: indent it 6 spaces"),
    ("unclosed quote", 'policy:\n  title: "abc\n  id: x\n', 2, 10, "never closed"),
    ("unclosed bracket", "a: [1, 2\nb: 3\n", 2, 2, "is not closed"),
]


@pytest.mark.parametrize(("text", "line", "column", "hint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_yaml_mistake_is_located_and_explained(text: str, line: int, column: int, hint: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_yaml(text, "p.yaml")
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert "hint: " + hint in err.message or hint in err.message.split("hint: ", 1)[1]
    rendered = str(err).splitlines()
    assert rendered[0].startswith(f"p.yaml:{line}:{column}: invalid YAML: ")
    assert rendered[1].strip() == text.splitlines()[line - 1].strip()  # the line itself
    assert rendered[2].strip() == "^"  # and a caret under the place


def test_pyyaml_message_is_kept_beside_the_hint() -> None:
    with pytest.raises(PolicyError) as info:
        load_yaml("policy:\n  title: a: b\n", "p.yaml")
    assert "mapping values are not allowed here" in info.value.message


@pytest.mark.parametrize(("text", "expect"), [
    ("24 hours", "written 24h"), ("request.at + 7 days > snapshot_at", "written 7d"), ("15天", "written 15d"),
    ("30 minutes", "written 30m"), ("order.days > 3", ""), ("48h", ""),
])
def test_condition_hint_for_durations_in_words(text: str, expect: str) -> None:
    got = condition_hint(text)
    assert (expect in got) if expect else got == ""


POLICY = """\
policy:
  id: x
  title: t
  version: "1"
  source: {document: d}
  effective_from: 2021-01-01
  applies_to: after_sale
  reference_time: request.submitted_at
params:
  limit:
    type: duration
    value: 24 hours
    clause: c
rules:
  - id: r
    title: t
    clause: c
    severity: low
    require: request.submitted_at <= snapshot_at
    message: m
"""


def test_duration_in_words_in_a_policy_gets_the_hint_at_the_word(tmp_path: Path) -> None:
    shutil.copytree(bundled_schemas() / "cases", tmp_path / "schemas" / "cases")
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    with pytest.raises(ErrorList) as info:
        load_rulebook(tmp_path / "p.yaml", schema_dir=tmp_path / "schemas")
    [err] = info.value.errors
    assert (err.line, err.column) == (12, 15)
    assert "hint: durations are written 24h" in err.message


def test_unquoted_dates_stay_text(tmp_path: Path) -> None:
    """YAML 1.1 loaders turn 2021-01-01 into a date object; policy files are read as YAML 1.2 core."""
    data, _ = load_yaml("effective_from: 2021-01-01\nat: 2021-03-01T10:00:00+08:00\n", "p.yaml")
    assert data == {"effective_from": "2021-01-01", "at": "2021-03-01T10:00:00+08:00"}


def test_check_command_shows_the_hint(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(POLICY.replace("  title: t\n  version", "  title t\n  version"), encoding="utf-8")
    proc = subprocess.run([str(Path(sys.executable).parent / "policy-eval"), "check", str(bad)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert ":3:3: invalid YAML" in proc.stdout + proc.stderr
    assert "write 'title: ...'" in proc.stdout + proc.stderr

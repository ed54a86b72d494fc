"""References and renaming of parameters, definitions and lets (policy_eval.authoring.references, .renaming).

The fixture has two rules that each bind a let ``deadline``, a quantifier whose variable is also ``deadline``,
a string holding the word, a use written with a YAML escape, message placeholders, a remedy condition, a waiver
scope and a definition used by another: each use must be found where the checker means it, and only there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_editing import HEADER

from policy_eval.authoring.editing import replaced
from policy_eval.authoring.outline import Document, analyse, inherited_definition
from policy_eval.authoring.references import RenameError, Symbol, references, rename_edits, symbol_at
from policy_eval.authoring.renaming import checked_rename
from policy_eval.plugin_manager import get_plugin_manager

FUNCTIONS = get_plugin_manager().functions()

POLICY = HEADER + r'''definitions:
  late_by: order.shipped_at - order.group_success_at
  very_late: late_by > 96h
rules:
  - id: ships-in-time
    title: shipped within 48 hours of grouping
    clause: "4.1"
    severity: low
    when: exists(order.group_success_at) and exists(order.shipped_at)
    let:
      deadline: order.group_success_at + 48h
      note: '"deadline"'
    require: >-
      order.shipped_at <= deadline + grace
      or (any deadline in [1, 2]: deadline > 5)
    message: order {order.id} shipped after {deadline + grace} ({note}, late by {late_by})
    remedies:
      - kind: notice
        to: buyer
        when: order.shipped_at > deadline
        description: late
  - id: ships-very-late
    title: not shipped far too late
    clause: "4.1"
    severity: low
    when: "exists(order.shipped_at) and order.shipped_at > d\x65adline"
    let:
      deadline: order.group_success_at + 96h
    forbid: very_late
    message: order {order.id}
waivers:
  - id: W-1
    rules: [ships-in-time]
    scope: late_by < 1h
    reason: fixture
    approved_by: ops@example
    until: 2022-01-01
'''
LINES = POLICY.split("\n")


def _at(needle: str, after: str = "", nth: int = 0, within: str = "") -> tuple[int, int, int]:
    """The place of the ``nth`` ``needle`` (``within`` a longer text there) on the first line holding it after
    ``after``."""
    start = next(i for i, line in enumerate(LINES) if after in line) if after else 0
    for i in range(start, len(LINES)):
        column = LINES[i].find(within or needle)
        if column >= 0:
            column += (within or needle).find(needle)
            for _ in range(nth):
                column = LINES[i].index(needle, column + 1)
            return i, column, column + len(needle)
    raise AssertionError(needle)


@pytest.fixture
def doc(tmp_path: Path) -> Document:
    path = tmp_path / "ships" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(POLICY, encoding="utf-8")
    d = analyse(path, POLICY, FUNCTIONS)
    assert d.errors == []
    return d


FIRST = ("rules", 0)
DEADLINE = [  # the first rule's let: its key, the require's use, the message's, the remedy's
    _at("deadline", "    let:"),
    _at("deadline", within="<= deadline + grace"),
    _at("deadline", within="{deadline + grace}"),
    _at("deadline", within="> deadline", after="        when:"),
]


def test_a_lets_references_are_its_rules_uses_only(doc: Document) -> None:
    # not the quantifier's variable nor its uses, not the word in a string, not the other rule's let
    assert references(doc, Symbol("let", "deadline", FIRST)) == DEADLINE
    assert references(doc, Symbol("let", "deadline", FIRST), include_definition=False) == DEADLINE[1:]


def test_the_symbol_at_each_place(doc: Document) -> None:
    for place in DEADLINE:
        assert symbol_at(doc, place[0], place[1] + 2) == Symbol("let", "deadline", FIRST)
    other = _at("deadline", after="id: ships-very-late", within="deadline: order")
    assert symbol_at(doc, other[0], other[1]) == Symbol("let", "deadline", ("rules", 1))
    assert symbol_at(doc, *_at("deadline", within="any deadline")[:2]) is None  # the quantifier's variable
    assert symbol_at(doc, *_at("deadline", within=": deadline > 5")[:2]) is None  # ... and its use
    assert symbol_at(doc, *_at("deadline", within='"deadline"')[:2]) is None  # a word in a string
    assert symbol_at(doc, *_at("grace", within="grace:")[:2]) == Symbol("parameter", "grace")
    assert symbol_at(doc, *_at("order", within="order.shipped_at <=")[:2]) is None  # a case field


def test_a_definitions_and_a_parameters_references(doc: Document) -> None:
    assert references(doc, Symbol("definition", "late_by")) == [
        _at("late_by"), _at("late_by", within="late_by > 96h"), _at("late_by", within="{late_by}"),
        _at("late_by", within="late_by < 1h")]
    assert references(doc, Symbol("parameter", "grace")) == [
        _at("grace", within="grace:"), _at("grace", within="<= deadline + grace"),
        _at("grace", within="{deadline + grace}")]


def test_renaming_a_let_renames_its_uses_and_the_policy_loads(doc: Document, tmp_path: Path) -> None:
    edits = checked_rename(doc, *DEADLINE[1][:2], "due", FUNCTIONS)
    assert [place for place, _ in edits] == DEADLINE
    text = replaced(POLICY, edits)
    assert "      due: order.group_success_at + 48h" in text and "{due + grace}" in text
    assert "(any deadline in [1, 2]: deadline > 5)" in text and '"deadline"' in text  # not these
    assert analyse(tmp_path / "ships" / "v1.yaml", text, FUNCTIONS).errors == []


def test_renaming_a_definition(doc: Document) -> None:
    edits = rename_edits(doc, Symbol("definition", "late_by"), "lateness")
    text = replaced(POLICY, edits)
    assert "late_by" not in text and text.count("lateness") == 4


@pytest.mark.parametrize(("symbol", "new", "why"), [
    (Symbol("parameter", "grace"), "slack", "deployment overlays"),
    (Symbol("let", "deadline", FIRST), "not", "not a name"),
    (Symbol("let", "deadline", FIRST), "2late", "not a name"),
    (Symbol("let", "deadline", FIRST), "note", "already a let"),
    (Symbol("let", "deadline", FIRST), "late_by", "already a definition"),
    (Symbol("let", "deadline", FIRST), "order", "already a case field"),
    (Symbol("definition", "late_by"), "deadline", "already a let"),
    (Symbol("let", "deadline", ("rules", 1)), "due", "YAML escapes"),
    (Symbol("definition", "elsewhere"), "x", "not defined in this document"),
])
def test_a_rename_refused_says_why(doc: Document, symbol: Symbol, new: str, why: str) -> None:
    with pytest.raises(RenameError, match=why):
        rename_edits(doc, symbol, new)


def test_a_rename_a_quantifier_would_capture_is_refused(doc: Document) -> None:
    text = POLICY.replace("(any deadline in [1, 2]: deadline > 5)", "(any x in [order.shipped_at]: x > deadline)")
    d = analyse(Path(doc.file), text, FUNCTIONS)
    assert d.errors == []
    with pytest.raises(RenameError, match="quantifier's variable"):
        rename_edits(d, Symbol("let", "deadline", FIRST), "x")


REVISION = '''policy:
  id: ships
  title: shipping fixture, revised
  version: "2"
  revises: "1"
  source: {document: fixture}
  effective_from: 2022-01-01
rules:
  - id: ships-far-too-late
    title: not shipped a week late
    clause: "4.1"
    severity: low
    forbid: late_by > 7d
    message: late by {late_by}
'''


def test_a_rename_that_breaks_another_version_is_refused(doc: Document) -> None:
    v1 = Path(doc.file)
    ended = POLICY.replace("  effective_from: 2021-01-01\n", "  effective_from: 2021-01-01\n  effective_until: 2022-01-01\n")
    v1.write_text(ended, encoding="utf-8")
    v1.with_name("v2.yaml").write_text(REVISION, encoding="utf-8")
    d = analyse(v1, ended, FUNCTIONS)
    assert d.errors == [] and analyse(v1.with_name("v2.yaml"), REVISION, FUNCTIONS).errors == []
    line, column, _ = _at("late_by")
    with pytest.raises(RenameError, match=r"breaks v2.yaml:13:\d+: unknown name 'late_by'"):
        checked_rename(d, line + 1, column, "lateness", FUNCTIONS)
    # a rename the revision does not see (the first rule's let) goes through
    assert checked_rename(d, DEADLINE[0][0] + 1, DEADLINE[0][1], "due", FUNCTIONS)
    # the revision uses the definition and does not define it: renamed where it is defined, not there
    v2 = analyse(v1.with_name("v2.yaml"), REVISION, FUNCTIONS)
    line = REVISION.split("\n").index("    forbid: late_by > 7d")
    assert symbol_at(v2, line, 13) == Symbol("definition", "late_by")
    with pytest.raises(RenameError, match="not defined in this document"):
        checked_rename(v2, line, 13, "lateness", FUNCTIONS)


AMENDING = REVISION.replace("""rules:
  - id: ships-far-too-late""", """amend:
  - id: ships-in-time
    require: order.shipped_at <= deadline + grace
rules:
  - id: ships-far-too-late""")


def test_a_name_a_revision_inherits_is_defined_in_the_version_it_revises(doc: Document) -> None:
    v1 = Path(doc.file)
    ended = POLICY.replace("  effective_from: 2021-01-01\n", "  effective_from: 2021-01-01\n  effective_until: 2022-01-01\n")
    v1.write_text(ended, encoding="utf-8")
    v2 = analyse(v1.with_name("v2.yaml"), AMENDING, FUNCTIONS, open_texts={})
    assert v2.errors == []
    lines, v1_lines = AMENDING.split("\n"), ended.split("\n")

    def where(needle: str, within: str) -> tuple[int, int]:
        line = next(i for i, text in enumerate(lines) if within in text)
        return line, lines[line].index(within) + within.index(needle) + 1

    def key(text: str) -> tuple[str, int, int]:
        line = v1_lines.index(text)
        return str(v1), line, len(text) - len(text.lstrip())

    assert inherited_definition(v2, *where("late_by", "forbid: late_by")) == key("  late_by: order.shipped_at - "
                                                                                 "order.group_success_at")
    assert inherited_definition(v2, *where("deadline", "<= deadline")) == key(
        "      deadline: order.group_success_at + 48h")  # (the amended rule's let, not the other rule's)
    assert inherited_definition(v2, *where("grace", "+ grace")) == key("  grace:")
    assert inherited_definition(v2, *where("shipped_at", "order.shipped_at <=")) is None  # a case field

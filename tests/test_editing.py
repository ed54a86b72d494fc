"""The edits an editor is offered (policy_eval.authoring.editing): quick fixes, formatting, lint's findings.

A quick fix must make the policy load: each mistake below is typed into a valid fixture, the fix the error
carries is applied where :func:`fix_edit` places it, and the text must then load without error. Where the fix
is not certain (``=<``, ``!``, a name close to nothing, a character written as a YAML escape) none is offered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_eval.authoring.editing import fix_edit, format_edits, lint_findings
from policy_eval.authoring.fmt import format_text
from policy_eval.authoring.outline import Document, analyse
from policy_eval.errors import PolicyError
from policy_eval.plugin_manager import get_plugin_manager

FUNCTIONS = get_plugin_manager().functions()

HEADER = """\
policy:
  id: ships
  title: shipping fixture
  version: "1"
  source: {document: fixture}
  effective_from: 2021-01-01
  applies_to: after_sale
  reference_time: request.submitted_at
params:
  grace:
    type: duration
    value: 2d
    clause: "4.1"
"""  # (tests/test_references.py's fixture starts so too)
POLICY = HEADER + """\
rules:
  - id: ships-in-time
    title: shipped within 48 hours of grouping
    clause: "4.1"
    severity: low
    when: exists(order.group_success_at) and exists(order.shipped_at)
    let:
      deadline: order.group_success_at + 48h
    require: >-
      order.shipped_at <= deadline + grace
      or order.shipped_at < order.promised_ship_by
      and order.shipped_at < request.submitted_at + grace
    message: order {order.id} shipped {order.shipped_at}
"""

# (what is typed in place of what, the text the fix replaces, the text it writes)
FIXABLE = [
    ("order.shipped_at <=", "order.shiped_at <=", "shiped_at", "shipped_at"),  # a field, on a folded line
    ("deadline + grace", "dedline + grace", "dedline", "deadline"),  # a let
    ("submitted_at + grace", "submitted_at + graec", "graec", "grace"),  # a parameter, on the third line
    ("exists(order.shipped_at)", "exsts(order.shipped_at)", "exsts", "exists"),  # a function
    (") and exists", ") adn exists", "adn", "and"),  # a keyword misspelt
    (") and exists", ") AND exists", "AND", "and"),  # a keyword in capitals
    (") and exists", ") && exists", "&&", "and"),  # another language's operator
    ("      or order", "      || order", "||", "or"),  # ... on the folded condition's second line
    ("shipped_at < order.promised", "shipped_at ＜ order.promised", "＜", "<"),  # a full-width character
    ("{order.id}", "{order.idd}", "idd", "id"),  # in a message's placeholder
]


def _doc(text: str, tmp_path: Path) -> Document:
    path = tmp_path / "ships" / "v1.yaml"
    path.parent.mkdir(exist_ok=True)
    return analyse(path, text, FUNCTIONS)


def _apply(text: str, edit: tuple[int, int, int, str]) -> str:
    lines = text.split("\n")
    line, start, end, new = edit
    lines[line] = lines[line][:start] + new + lines[line][end:]
    return "\n".join(lines)


def test_the_fixture_loads(tmp_path: Path) -> None:
    assert _doc(POLICY, tmp_path).errors == []


@pytest.mark.parametrize(("old", "new", "wrong", "right"), FIXABLE, ids=[f[2] for f in FIXABLE])
def test_a_fix_applied_where_it_is_placed_makes_the_policy_load(
        tmp_path: Path, old: str, new: str, wrong: str, right: str) -> None:
    assert POLICY.count(old) == 1
    text = POLICY.replace(old, new)
    doc = _doc(text, tmp_path)
    [error] = doc.errors
    assert error.fix == (wrong, right)
    edit = fix_edit(doc, error)
    assert edit is not None
    line, start, end, _ = edit
    assert doc.lines[line][start:end] == wrong
    fixed = _apply(text, edit)
    assert _doc(fixed, tmp_path).errors == []
    assert fixed == POLICY.replace(old, new.replace(wrong, right))


@pytest.mark.parametrize(("old", "new"), [
    ("deadline + grace", "deadline =< grace"),  # '<=' or '==' meant? not certain
    ("deadline + grace", "deadline ! grace"),  # 'not' or '!='?
    ("deadline + grace", "deadline + zzzzqqq"),  # close to no name
], ids=["=<", "!", "no-close-name"])
def test_no_fix_where_none_is_certain(tmp_path: Path, old: str, new: str) -> None:
    doc = _doc(POLICY.replace(old, new), tmp_path)
    [error] = doc.errors
    assert error.fix is None and fix_edit(doc, error) is None


def test_no_fix_where_the_text_at_the_place_is_not_what_it_names(tmp_path: Path) -> None:
    # a full-width character written as a YAML escape: the fix would replace text that is not there
    text = POLICY.replace("    when: exists(order.group_success_at) and exists(order.shipped_at)",
                          '    when: "exists(order.group_success_at) and order.shipped_at \\uff1e deadline"')
    doc = _doc(text, tmp_path)
    [error] = doc.errors
    assert error.fix == ("\uff1e", ">")
    assert fix_edit(doc, error) is None
    # and a fix is not applied to a document that changed since the error was found
    typo = POLICY.replace("exists(order.shipped_at)", "exsts(order.shipped_at)")
    [error] = _doc(typo, tmp_path).errors
    assert fix_edit(Document("x.yaml", POLICY.replace("exists(order.shipped_at)", "e(order.shipped_at)")), error) \
        is None


UNFORMATTED = POLICY.replace("  grace:\n    type: duration\n    value: 2d\n", "  grace:\n    value:   2d\n    type: duration\n")


def _format_applied(text: str, edits: list[tuple[int, int, str]]) -> str:
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    for first, end, new in reversed(edits):
        lines[first:end] = [new]
    return "".join(lines)


@pytest.mark.parametrize("text", [UNFORMATTED, UNFORMATTED.rstrip("\n"),
                                  UNFORMATTED.replace("    severity: low\n", "").replace("    title:", "    severity: low\n    title:", 1)],
                         ids=["values", "no-final-newline", "key-order"])
def test_format_edits_applied_give_fmts_text(text: str) -> None:
    edits = format_edits(text, "x.yaml")
    assert edits and all(a[1] <= b[0] for a, b in zip(edits, edits[1:], strict=False))  # in order, apart
    assert _format_applied(text, edits) == format_text(text, "x.yaml")
    assert len(edits) < len(format_text(text, "x.yaml").split("\n"))  # runs of lines, not the whole file


def test_format_edits_of_a_canonical_text_are_none_and_a_refused_one_raises() -> None:
    assert format_text(POLICY, "x.yaml") == POLICY
    assert format_edits(POLICY, "x.yaml") == []
    with pytest.raises(PolicyError) as caught:
        format_edits(POLICY.replace("    severity: low", "\tseverity: low"), "x.yaml")
    assert caught.value.line == 18


LINTED = POLICY.replace("""    clause: "4.1"
rules:""", """    clause: "4.1"
  spare: 3d
rules:""").replace("      deadline: order.group_success_at + 48h\n",
                   "      deadline: order.group_success_at + 48h\n      unused: order.shipped_at\n")


def test_lint_findings_are_this_files_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "ships"
    folder.mkdir()
    (folder / "v1.yaml").write_text(LINTED, encoding="utf-8")
    other = LINTED.replace("id: ships\n", "id: other\n")  # another policy in the folder, with its own warnings
    (folder / "other.yaml").write_text(other, encoding="utf-8")
    found = lint_findings(folder / "v1.yaml", FUNCTIONS)
    spare, unused = (LINTED.split("\n").index(line) + 1 for line in ("  spare: 3d", "      unused: order.shipped_at"))
    assert [(f.check, f.line) for f in found] == [
        ("parameter-without-clause", spare), ("unused-parameter", spare), ("unused-let", unused)]
    # not the notes (shared-parameter, no-tests-found), nor rule-untested, nor the other file's findings
    assert {f.file for f in found} == {str(folder / "v1.yaml")}


def test_lint_findings_of_a_folder_that_does_not_load_are_none(tmp_path: Path) -> None:
    folder = tmp_path / "ships"
    folder.mkdir()
    (folder / "v1.yaml").write_text(LINTED, encoding="utf-8")
    (folder / "broken.yaml").write_text(LINTED.replace("id: ships\n", "id: broken\n").replace("48h", "48 hours"),
                                        encoding="utf-8")
    assert lint_findings(folder / "v1.yaml", FUNCTIONS) == []


@pytest.mark.parametrize(("condition", "fix"), [
    ("a = 1", ("=", "==")), ("a =", ("=", "==")), ("a =< 1", None), ("a => 1", None), ("a =! 1", None),
    ("a & b", ("&", "and")), ("a | b", ("|", "or")), ("! a", None), ("a Or b", ("Or", "or")),
    ("a （b）", ("（", "(")), ("a ＝ 1", ("＝", "==")), ("a <＝ 1", ("＝", "=")), ("a > 1 > 2", None),
    ('"open', None), ("72小时", None),
])
def test_the_parsers_fixes(condition: str, fix: tuple[str, str] | None) -> None:
    from policy_eval.expression import compile_expression

    with pytest.raises(PolicyError) as caught:
        compile_expression(condition)
    assert caught.value.fix == fix

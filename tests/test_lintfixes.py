"""Lint's unused let, definition or parameter removed by a quick fix (policy_eval.authoring.lintfixes): the
entry's own lines (with its map's key when it is the only entry), only when the policy still loads without
them, never part of a line that holds something else."""

from __future__ import annotations

from pathlib import Path

from test_editing import POLICY

from policy_eval.authoring.editing import lint_findings
from policy_eval.authoring.findings import Finding
from policy_eval.authoring.lintfixes import removal
from policy_eval.authoring.outline import analyse
from policy_eval.plugin_manager import get_plugin_manager

FUNCTIONS = get_plugin_manager().functions()

UNUSED = POLICY.replace(  # a second parameter, a lone definition, a chain of two, and a let over three lines
    '    clause: "4.1"\nrules:',
    '    clause: "4.1"\n  spare: 3d\ndefinitions:\n  lonely: order.shipped_at\n  base_of_chain: order.shipped_at\n'
    '  chain: base_of_chain + 1d\nrules:').replace(
    "    let:\n      deadline: order.group_success_at + 48h\n",
    "    let:\n      deadline: order.group_success_at + 48h\n      later: >-\n        order.group_success_at\n"
    "        + 96h\n")


def _fixes(tmp_path: Path, text: str) -> dict[tuple[str, str], tuple[list[str], str]]:
    path = tmp_path / "ships" / "v1.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    doc = analyse(path, text, FUNCTIONS)
    assert doc.errors == []
    lines = text.split("\n")
    out = {}
    for f in lint_findings(path, FUNCTIONS):
        found = removal(doc, f, lambda t: not analyse(path, t, FUNCTIONS).errors)
        if found is not None:
            first, end, title = found
            out[(f.check, f.message.split("'")[1 if f.check != "unused-let" else 3])] = (lines[first:end], title)
            assert analyse(path, "\n".join(lines[:first] + lines[end:]), FUNCTIONS).errors == []
    return out


def test_each_removal_is_the_entrys_own_lines(tmp_path: Path) -> None:
    fixes = _fixes(tmp_path, UNUSED)
    assert fixes == {
        ("unused-parameter", "spare"): (["  spare: 3d"], "Remove the unused parameter 'spare'"),
        ("unused-definition", "lonely"): (["  lonely: order.shipped_at"], "Remove the unused definition 'lonely'"),
        ("unused-definition", "chain"): (["  chain: base_of_chain + 1d"], "Remove the unused definition 'chain'"),
        ("unused-let", "later"): (["      later: >-", "        order.group_success_at", "        + 96h"],
                                  "Remove the unused let 'later'"),
    }  # (not base_of_chain alone: chain would then name nothing)


def test_a_maps_only_entry_takes_the_maps_key(tmp_path: Path) -> None:
    text = UNUSED.replace("  base_of_chain: order.shipped_at\n  chain: base_of_chain + 1d\n", "").replace(
        "      deadline: order.group_success_at + 48h\n", "").replace("deadline + grace", "order.group_success_at + grace")
    fixes = _fixes(tmp_path, text)
    assert fixes[("unused-definition", "lonely")][0] == ["definitions:", "  lonely: order.shipped_at"]
    assert fixes[("unused-let", "later")][0] == ["    let:", "      later: >-", "        order.group_success_at",
                                                 "        + 96h"]


def test_no_removal_where_it_is_not_sure(tmp_path: Path) -> None:
    text = UNUSED.replace("    let:\n      deadline: order.group_success_at + 48h\n      later: >-\n"
                          "        order.group_success_at\n        + 96h\n",
                          "    let: {deadline: order.group_success_at + 48h, later: order.shipped_at}\n")
    assert ("unused-let", "later") not in _fixes(tmp_path, text)  # (flow style: the line holds the used let too)
    path = tmp_path / "ships" / "v1.yaml"
    doc = analyse(path, UNUSED, FUNCTIONS)
    line = UNUSED.split("\n").index("  spare: 3d") + 1
    moved = Finding("unused-parameter", "parameter 'spare' is not used", str(path), line + 1, 3)  # (stale)
    assert removal(doc, moved, lambda t: True) is None
    other = Finding("parameter-without-clause", "parameter 'spare' has no clause", str(path), line, 3)
    assert removal(doc, other, lambda t: True) is None


def test_no_removal_when_the_policy_would_not_load_without_it(tmp_path: Path) -> None:
    path = tmp_path / "ships" / "v1.yaml"
    path.parent.mkdir()
    doc = analyse(path, UNUSED, FUNCTIONS)
    line = UNUSED.split("\n").index("  spare: 3d") + 1
    finding = Finding("unused-parameter", "parameter 'spare' is not used", str(path), line, 3)
    assert removal(doc, finding, lambda t: False) is None
    assert removal(doc, finding, lambda t: True) is not None

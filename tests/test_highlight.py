"""Semantic tokens of a policy's conditions (policy_eval.authoring.highlight): each token's kind is what the
checker takes it for, it is placed where the file holds its text, and a use written with a YAML escape, a
stale analysis or YAML that does not parse gives no token."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_references import POLICY, _at

from policy_eval.authoring.highlight import highlight
from policy_eval.authoring.outline import Document, analyse
from policy_eval.plugin_manager import get_plugin_manager
from policy_eval.resources import bundled_policies

FUNCTIONS = get_plugin_manager().functions()


@pytest.fixture
def tokens(tmp_path: Path) -> dict[tuple[int, int, int], tuple[str, tuple[str, ...]]]:
    path = tmp_path / "ships" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(POLICY, encoding="utf-8")
    return {(line, a, b): (kind, mods) for line, a, b, kind, mods in highlight(analyse(path, POLICY, FUNCTIONS))}


@pytest.mark.parametrize(("needle", "within", "after", "kind"), [
    ("grace", "<= deadline + grace", "", ("parameter", ("readonly",))),
    ("grace", "{deadline + grace}", "", ("parameter", ("readonly",))),
    ("deadline", "<= deadline + grace", "", ("variable", ("readonly",))),  # the rule's let
    ("late_by", "late_by > 96h", "", ("variable", ("readonly",))),  # a definition
    ("deadline", "any deadline", "", ("variable", ("declaration",))),  # a quantifier's variable ...
    ("deadline", ": deadline > 5", "", ("variable", ())),  # ... and its use
    ('"deadline"', "", "", ("string", ())),
    ("exists", "exists(order.shipped_at)", "", ("function", ())),
    ("order", "order.shipped_at <=", "", ("property", ())),
    ("shipped_at", "order.shipped_at <=", "", ("property", ())),
    ("request", "request.submitted_at", "reference_time", ("property", ())),
    ("or", "or (any", "", ("keyword", ())),
    ("any", "(any", "", ("keyword", ())),
    ("in", " in [1", "", ("keyword", ())),
    ("48h", "", "", ("number", ())),
    ("<=", "", "", ("operator", ())),
    ("id", "{order.id}", "", ("property", ())),
])
def test_each_token_is_what_the_checker_takes_it_for(tokens: dict, needle: str, within: str, after: str,
                                                      kind: tuple[str, tuple[str, ...]]) -> None:
    assert tokens[_at(needle, after, within=within)] == kind


def test_a_use_written_with_an_escape_is_left_out(tokens: dict) -> None:
    written = '    when: "exists(order.shipped_at) and order.shipped_at > d\\x65adline"'
    line, escaped = POLICY.split("\n").index(written), written.index("d\\x65")
    assert [t for t in tokens if t[0] == line and t[1] >= escaped] == []
    assert tokens[(line, escaped - 2, escaped - 1)] == ("operator", ())  # (the '>' before it is placed)


def test_no_tokens_for_a_stale_or_unreadable_document(tmp_path: Path) -> None:
    path = tmp_path / "ships" / "v1.yaml"
    path.parent.mkdir()
    doc = analyse(path, POLICY, FUNCTIONS)
    typed = POLICY.replace("severity: low", "severity: [low", 1)
    assert highlight(Document(doc.file, typed, doc.data, doc.positions)) == []
    assert highlight(analyse(path, typed, FUNCTIONS)) == []


POLICY_FILES = sorted(p for p in bundled_policies().rglob("*.yaml") if "\npolicy:" in "\n" + p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_token_of_the_bundled_policies_is_placed_on_its_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = highlight(analyse(path, text, FUNCTIONS))
    lines = text.split("\n")
    assert found == sorted(found) and len(found) > 50
    for (line, _, end, _, _), (line2, start2, _, _, _) in zip(found, found[1:], strict=False):
        assert (line, end) <= (line2, start2)  # none overlapping
    assert all(lines[line][a:b].strip() == lines[line][a:b] != "" for line, a, b, _, _ in found)
    kinds = {kind for *_, kind, _ in found}
    assert {"keyword", "function", "property", "operator"} <= kinds

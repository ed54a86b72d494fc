"""The editor's questions never fail, whatever the document: every bundled policy file, as written and with one
character changed at a random place (a YAML error, a half-typed condition), asked for its tokens, its errors'
fixes, and the symbol, references and renaming at random places."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from policy_eval.authoring.editing import fix_edit
from policy_eval.authoring.highlight import highlight
from policy_eval.authoring.outline import analyse
from policy_eval.authoring.references import cannot_rename, references, symbol_at
from policy_eval.plugin_manager import get_plugin_manager
from policy_eval.resources import bundled_policies

FUNCTIONS = get_plugin_manager().functions()
FILES = sorted(bundled_policies().rglob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_question_fails(path: Path) -> None:
    rng = random.Random(path.name)
    text = path.read_text(encoding="utf-8")
    policy = "\npolicy:" in "\n" + text  # (a top-level policy: header; not a metrics definitions file)
    for k in range(4):
        i = rng.randrange(len(text))
        edited = text if k == 0 else text[:i] + rng.choice(["", ":", "\t", "{", '"', "'", "\n", "x", "-"]) + text[i + 1:]
        doc = analyse(path, edited, FUNCTIONS)
        tokens = highlight(doc)
        assert tokens or k or not policy  # (the file as written: its conditions are coloured)
        for error in doc.errors:
            fix_edit(doc, error)
        lines = edited.split("\n")
        for _ in range(25):
            line = rng.randrange(len(lines))
            symbol = symbol_at(doc, line, rng.randrange(len(lines[line]) + 1))
            if symbol is not None:
                assert references(doc, symbol)
                cannot_rename(doc, symbol)

"""A quick fix never makes a policy worse: mistakes typed at random places of the fixture's conditions (a name
misspelt, a keyword in capitals or misspelt, another language's operator, a full-width character), and each
fix the checker offers applied where it is placed; the error it fixes is gone, no error is added, and a name
misspelt by one letter is written back as it was whenever the fix names the name it came from."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_references import POLICY

from policy_eval.authoring.editing import fix_edit
from policy_eval.authoring.highlight import highlight
from policy_eval.authoring.outline import analyse
from policy_eval.plugin_manager import get_plugin_manager

FUNCTIONS = get_plugin_manager().functions()
FULL_WIDTH = {"(": "（", ")": "）", ">": "＞", "<": "＜", "+": "＋", "-": "－", ",": "，", "[": "［", "]": "］"}


def _mutants(path: Path, seed: int, count: int) -> list[tuple[str, str]]:
    """(what was done, the mutated text) for ``count`` random one-place mistakes."""
    rng = random.Random(seed)
    lines = POLICY.split("\n")
    tokens = highlight(analyse(path, POLICY, FUNCTIONS))
    out = []
    while len(out) < count:
        line, start, end, kind, _ = rng.choice(tokens)
        word = lines[line][start:end]
        if kind in ("property", "variable", "parameter", "function") and len(word) > 3:
            i = rng.randrange(len(word) - 1)
            new = rng.choice([word[:i] + word[i + 1:], word[:i] + word[i] + word[i:], word[:i] + word[i + 1] + word[i] +
                              word[i + 2:]])
        elif kind == "keyword" and word in ("and", "or"):
            new = rng.choice([word.upper(), {"and": "&&", "or": "||"}[word], word[::-1] if word == "and" else "ro"])
        elif kind == "operator" and word in FULL_WIDTH or word in FULL_WIDTH:
            new = FULL_WIDTH[word]
        else:
            continue
        if new == word:
            continue
        edited = list(lines)
        edited[line] = edited[line][:start] + new + edited[line][end:]
        out.append((f"{word!r} -> {new!r} at {line + 1}:{start + 1}", "\n".join(edited)))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_a_fix_removes_its_error_and_adds_none(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "ships" / "v1.yaml"
    path.parent.mkdir()
    offered = 0
    for what, text in _mutants(path, seed, 60):
        doc = analyse(path, text, FUNCTIONS)
        for error in doc.errors:
            edit = fix_edit(doc, error)
            if edit is None:
                continue
            offered += 1
            line, start, end, right = edit
            lines = text.split("\n")
            lines[line] = lines[line][:start] + right + lines[line][end:]
            fixed = "\n".join(lines)
            after = analyse(path, fixed, FUNCTIONS).errors
            same = [e for e in after if (e.line, e.column, e.message) == (error.line, error.column, error.message)]
            assert same == [], f"{what}: the fix {error.fix} left {error.message!r}"
            assert len(after) <= len(doc.errors), f"{what}: the fix {error.fix} added {[e.message for e in after]}"
            original = POLICY.split("\n")[line]
            if original[start:start + len(right)] == right and len(POLICY.split("\n")) == len(lines):
                assert fixed == POLICY, f"{what}: the fix wrote {right!r} elsewhere than where it came from"
    assert offered >= 50  # (most mistakes typed are ones the checker is sure how to fix: 56-59 of 60 seen)

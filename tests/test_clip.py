"""A quoted expression cut to fit a message ends at a word and says it was cut (an outside trial: the cost error
quoted `... a.sent_at != b.sent_a`, which an author read as a typo in the policy)."""

from __future__ import annotations

import io
from pathlib import Path

import policytext as pt

from policy_eval.cli import run
from policy_eval.errors import clip

LONG = "any a in messages: any b in messages: a.text == b.text and a.sent_at != b.sent_at and a.id != b.id"


def test_clip_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert clip("a  ==\n b") == "a == b"
    cut = clip(LONG)
    assert len(cut) <= 80 and cut.endswith("…") and LONG.startswith(cut[:-1])
    assert LONG[len(cut) - 1] == " "  # the cut falls on a space: no name is cut in two
    assert clip("x" * 100).endswith("…") and len(clip("x" * 100)) == 80  # (no space to cut at)


def test_the_cost_error_quotes_whole_names(tmp_path: Path) -> None:
    pt.write(tmp_path / "costly.yaml", pt.policy(pt.rules_text(pt.rule("pairs", LONG)), applies_to="chat",
                                                  reference_time="captured_at"))
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", str(tmp_path)], out, err, None) == 2
    text = out.getvalue() + err.getvalue()
    quoted = text.split("items is above the ceiling", 1)[1].split("`")[1]
    assert quoted.endswith("…") and LONG.startswith(quoted[:-1]) and LONG[len(quoted) - 1] == " ", quoted

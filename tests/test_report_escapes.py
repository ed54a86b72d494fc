"""The text report cannot be forged by a case (issue 13 item 15).

Before: ``case_id``, file names and messages quoting case values were printed raw, so a case id holding a
newline wrote a report line of its own ("OK ..." under someone else's verdict), and ESC sequences (clear the
screen, set the terminal title, recolour) or bidi overrides reached the reader's terminal. Now every such
character is written as its escape (``\\n``, ``\\x1b``, ``\\u202e``) by policy_eval.errors.printable, the
helper the located YAML error snippets use too.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from policy_eval import cli
from policy_eval.errors import printable, snippet

ROOT = Path(__file__).resolve().parents[1]
FORGED = "\nOK FORGED (after_sale, x:1)\x1b[2J\x1b]0;title\x07\u202eevil\u2066\r\u2028\x85"
_LINE = re.compile(r"^(VIOLATED|UNDETERMINED|OK|REJECTED) |^ {2,}\S|^\d+ records? read: ")


def _unprintable(text: str) -> list[str]:
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")]


def _cases(tmp_path: Path) -> Path:
    case: dict[str, Any] = json.loads((ROOT / "examples" / "after_sale_fruit_refund_no_reply.json").read_text())
    case["case_id"] = "PDD" + FORGED
    case["request"]["id"] = "AS" + FORGED  # quoted by the violated rule's message
    rejected = {"kind": "after_sale", "case_id": "R" + FORGED}  # no order: rejected by the schema
    # the file name is the case author's too
    path = tmp_path / "cases\x1b[31m\n.jsonl"
    path.write_text(json.dumps(case) + "\n" + json.dumps(rejected) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_no_case_can_forge_a_report_line_or_send_a_terminal_escape(tmp_path: Path, verbose: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["eval", "--color", "never", *verbose, str(_cases(tmp_path))], out, err)
    text = out.getvalue()
    assert code == 1, err.getvalue()
    assert _unprintable(text) == []
    lines = text.splitlines()
    assert [line for line in lines if not _LINE.match(line)] == []
    assert [line.split()[0] for line in lines if not line.startswith(" ")][:2] == ["VIOLATED", "REJECTED"]
    assert len([line for line in lines if "FORGED" in line]) == 3  # the case line, the message, the rejection
    assert "PDD\\nOK FORGED (after_sale, x:1)\\x1b[2J\\x1b]0;title\\x07\\u202eevil\\u2066\\r\\u2028\\x85" in text
    assert "refund-only request AS OK FORGED (after_sale, x:1)\\x1b[2J" in text  # messages: whitespace runs as one space
    assert "cases\\x1b[31m\\n.jsonl:1" in text


def test_explain_escapes_the_case_too(tmp_path: Path) -> None:
    case: dict[str, Any] = json.loads((ROOT / "examples" / "after_sale_fruit_refund_no_reply.json").read_text())
    case["case_id"] = "PDD" + FORGED
    case["request"]["id"] = "AS" + FORGED
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    out = io.StringIO()
    cli.run(["explain", str(path)], out, io.StringIO())
    assert _unprintable(out.getvalue()) == []
    assert out.getvalue().startswith("case PDD\\nOK FORGED")


def test_machine_formats_keep_the_exact_value(tmp_path: Path) -> None:
    """Escaping is for terminals: JSON Lines carries the case id as it was (json.dumps escapes it itself)."""
    out = io.StringIO()
    cli.run(["eval", "-f", "jsonl", str(_cases(tmp_path))], out, io.StringIO())
    first = json.loads(out.getvalue().split("\n")[0])  # JSON Lines split at newlines only
    assert first["case_id"] == "PDD" + FORGED


def test_printable_is_the_one_helper() -> None:
    assert printable("plain 中文 text") == "plain 中文 text"
    assert printable("a\tb") == "a\\tb" and printable("a\tb", keep="\t") == "a\tb"
    assert printable("\ud800") == "\\ud800"
    assert printable("\u00a0x") == "\u00a0x"  # a no-break space is shown, not escaped
    line, column = snippet("key: \x1b[2Jvalue", 6)
    assert line == "key: \\x1b[2Jvalue" and column == 6

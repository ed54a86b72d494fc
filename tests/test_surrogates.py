"""A lone surrogate escape in a case record (a red team's trial): ``"\\ud800"`` is valid JSON but no character.

Before: orjson refused the record, the exact reader took it, and every conduct rule reading that text was
undetermined with a codec error naming no JSON path ("'utf-8' codec can't encode character '\\ud800'"): six
bytes in each merchant message turned nine high or critical violations into one undetermined case and exit 0.
Now the record is refused at the string, by every reader (JSON Lines, a .json array, stdin); an escaped pair
(an emoji) is one character and is read as ever.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from policy_eval.cli import run

TEXT = "去这里买 https://item.taobao.com/item.htm?id=1"
RECORD = ('{"kind":"chat","case_id":"x","store_id":"S","messages":[{"id":"m1","sender":"merchant",'
          '"sent_at":"2024-05-01T10:00:00+08:00","attachments":[],"text":"%s"}]}')
LONE = RECORD % ("\\ud800" + TEXT)


def _eval(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["eval", "-q", "-f", "jsonl", *argv], out, err, io.BytesIO(stdin.encode()) if stdin is not None else None)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("form", ["jsonl", "json", "stdin"])
def test_a_lone_surrogate_rejects_the_record_at_its_string(tmp_path: Path, form: str) -> None:
    if form == "jsonl":
        (tmp_path / "c.jsonl").write_text(LONE + "\n" + (RECORD % TEXT).replace('"x"', '"y"') + "\n")
        code, out, err = _eval(str(tmp_path / "c.jsonl"))
        path = "$.messages[0].text"
    elif form == "json":
        (tmp_path / "c.json").write_text("[" + LONE + ",\n" + (RECORD % TEXT).replace('"x"', '"y"') + "]")
        code, out, err = _eval(str(tmp_path / "c.json"))
        path = "$[0].messages[0].text"
    else:
        code, out, err = _eval("-", stdin=LONE + "\n" + (RECORD % TEXT).replace('"x"', '"y"') + "\n")
        path = "$.messages[0].text"
    lines = [json.loads(line) for line in out.splitlines()]
    rejected = [x for x in lines if x.get("status") == "rejected"]
    judged = [x for x in lines if x.get("case_id") == "y"]
    assert len(rejected) == 1, out
    assert rejected[0]["error"]["json_path"] == path
    assert "lone surrogate" in rejected[0]["error"]["message"]
    assert len(judged) == 1 and any(f["rule"] == "cs-conduct/no-external-links" for f in judged[0]["findings"])
    assert code == 1, err  # the good record's violation still counts


def test_an_escaped_pair_is_one_character_and_read(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text(RECORD % ("\\ud83d\\ude00" + TEXT) + "\n")
    code, out, _ = _eval(str(tmp_path / "c.jsonl"))
    (line,) = [x for x in map(json.loads, out.splitlines()) if x.get("case_id") == "x"]
    assert line["status"] == "evaluated"
    assert any(f["rule"] == "cs-conduct/no-external-links" for f in line["findings"]) and code == 1

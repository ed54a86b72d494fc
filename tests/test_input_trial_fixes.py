"""An operator's trial of case inputs (items 3 and 9) and a stdin finding: each test fails on the old code.

* A syntax error in a ``.json`` array lost every item (``REJECTED arr_midbad.json:1: ... (line 4, ...)``,
  "1 record read"): now the items before it are evaluated, the error is placed at its own line with the
  item it is in, and either reading goes on (the bad item is a whole line of its own) or the rejection
  says that the rest of the file is not evaluated. Concatenated values one a line read on the same way.
* JSON Lines mistakes got raw parser messages: a ',' after a record, and a pretty-printed ``.jsonl`` (one
  rejection per line, none saying why).
* ``eval -`` with a pretty-printed case holding a key twice said "Expecting property name ..." where the
  same text in a file says "duplicate key".
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli import run
from policy_eval.rulebook.cases import read_cases

ROOT = Path(__file__).resolve().parent.parent
CASES = [json.loads(line) for line in (ROOT / "examples" / "after_sales.jsonl").read_text(encoding="utf-8")
         .splitlines()[:5]]


def _line(case: dict[str, Any]) -> str:
    return json.dumps(case, ensure_ascii=False)


def _broken(case: dict[str, Any]) -> str:
    """The case on one line with one ':' missing (after "source")."""
    text = _line(case)
    assert '"source": ' in text
    return text.replace('"source": ', '"source" ', 1)


def _eval(*argv: str, stdin: bytes | None = None) -> tuple[int, list[dict[str, Any]], str]:
    """``eval -q -f jsonl``: the exit code, the report's lines, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = run(["eval", "-q", "-f", "jsonl", *argv], out, err, io.BytesIO(stdin) if stdin is not None else None)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def _text(*argv: str, stdin: bytes | None = None) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    run(["eval", "-q", *argv], out, err, io.BytesIO(stdin) if stdin is not None else None)
    return out.getvalue().splitlines()


def _split(report: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The results evaluated and those rejected."""
    assert all(r.get("status") in ("evaluated", "rejected") for r in report), report
    return [r for r in report if r["status"] == "evaluated"], [r for r in report if r["status"] == "rejected"]


def test_an_array_with_a_bad_item_on_its_own_line_evaluates_every_other_item(fast_load: None,
                                                                              tmp_path: Path) -> None:
    """The trial's arr_midbad.json: 5 items one a line, item 3 lacks a ':'."""
    items = [_line(c) for c in CASES]
    items[2] = _broken(CASES[2])
    path = tmp_path / "arr_midbad.json"
    path.write_text("[\n" + ",\n".join(items) + "\n]\n", encoding="utf-8")
    _, report, _ = _eval(str(path))
    evaluated, rejected = _split(report)
    assert [r["case_id"] for r in evaluated] == [CASES[i]["case_id"] for i in (0, 1, 3, 4)]
    [bad] = rejected
    assert bad["record"] == 3 and bad["error"]["json_path"] == "$[2]"
    message = bad["error"]["message"]
    assert message.startswith("invalid JSON: Expecting ':' delimiter (line 4, column ")
    assert "in item 3" in message and "reading goes on at line 5" in message
    text = _text(str(path))
    assert any(line.startswith(f"REJECTED {path}:4 [item 3]: $[2]: invalid JSON: Expecting ':'") for line in text)
    assert text[-1].startswith("5 records read: 4 evaluated, 1 rejected")


def test_a_pretty_printed_array_with_a_syntax_error_keeps_the_items_before_and_says_the_rest_is_lost(
        fast_load: None, tmp_path: Path) -> None:
    body = json.dumps(CASES[:3], ensure_ascii=False, indent=2)
    first = body.index('"source": ', body.index('"source": ') + 1)  # item 2's "source" loses its ':'
    broken = body[:first] + '"source" ' + body[first + len('"source": '):]
    error_line = broken.count("\n", 0, first) + 1
    path = tmp_path / "pretty.json"
    path.write_text(broken, encoding="utf-8")
    _, report, _ = _eval(str(path))
    evaluated, rejected = _split(report)
    assert [r["case_id"] for r in evaluated] == [CASES[0]["case_id"]]
    [bad] = rejected
    message = bad["error"]["message"]
    assert bad["record"] == 2 and message.startswith(f"invalid JSON: Expecting ':' delimiter (line {error_line}, ")
    assert f"in item 2; the rest of {path} is skipped, not evaluated" in message
    assert "(1 item(s) before it read)" in message
    text = _text(str(path))
    assert any(line.startswith(f"REJECTED {path}:{error_line} [item 2]: ") for line in text), text


def test_a_trailing_comma_in_an_array_is_one_located_rejection_and_every_item_is_read(
        fast_load: None, tmp_path: Path) -> None:
    path = tmp_path / "arr_trailing_comma.json"
    path.write_text("[\n" + ",\n".join(_line(c) for c in CASES[:3]) + ",\n]\n", encoding="utf-8")
    _, report, _ = _eval(str(path))
    evaluated, rejected = _split(report)
    assert len(evaluated) == 3
    [bad] = rejected
    assert bad["record"] == 4  # the line of the ','
    assert bad["error"]["message"].startswith("invalid JSON: a ',' after the last item, before ']' (line 4, ")


def test_an_array_item_with_nan_is_rejected_alone(fast_load: None, tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    nan = _line(CASES[1]).replace('"source": "', '"x": NaN, "source": "', 1)
    path.write_text(f"[{_line(CASES[0])}, {nan}, {_line(CASES[2])}]", encoding="utf-8")
    _, report, _ = _eval(str(path))
    evaluated, rejected = _split(report)
    assert [r["case_id"] for r in evaluated] == [CASES[0]["case_id"], CASES[2]["case_id"]]
    assert [r["record"] for r in rejected] == [2] and "NaN" in rejected[0]["error"]["message"]


def test_reading_without_a_sound_place_to_go_on_stops_and_says_so(tmp_path: Path) -> None:
    """Not resynchronised: a bad line that is not one whole value (a string broken, a bracket left open)."""
    ok = '{"case_id": "A"}'
    for bad in ('{"case_id": "x, "b": 1},', '{"case_id" "x", "b": [', '{"case_id": "x" "b": {"c": 1},'):
        path = tmp_path / "a.json"
        path.write_text(f"[\n{ok},\n{bad}\n{ok},\n{ok}\n]\n", encoding="utf-8")
        records = list(read_cases([str(path)]))
        assert [n for _, n, _ in records] == [1, 2], bad
        assert records[0][2] == {"case_id": "A"}
        err = records[1][2]
        assert "(line 3, column " in err.message and f"the rest of {path} is skipped, not evaluated" in err.message


def test_a_missing_comma_between_items_on_their_own_lines_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[\n{"case_id": "A"},\n{"case_id": "B"}\n{"case_id": "C"}\n]\n', encoding="utf-8")
    records = list(read_cases([str(path)]))
    cases = [c["case_id"] for _, _, c in records if isinstance(c, dict)]
    errors = [(n, c.message) for _, n, c in records if not isinstance(c, dict)]
    assert cases == ["A", "B", "C"]
    assert errors == [(4, "invalid JSON: Expecting ',' delimiter (line 4, column 1): none after item 2; item 3 "
                          "is on a line of its own and is read")]


def test_concatenated_values_one_a_line_read_on_past_a_syntax_error(fast_load: None, tmp_path: Path) -> None:
    """The trial's concat_midbad.json: records 3-5 were lost and the totals said 3 records."""
    lines = [_line(c) for c in CASES]
    lines[2] = _broken(CASES[2])
    path = tmp_path / "concat_midbad.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, report, _ = _eval(str(path))
    evaluated, rejected = _split(report)
    assert [r["record"] for r in evaluated] == [1, 2, 4, 5]
    assert [r["record"] for r in rejected] == [3]
    assert "reading goes on at line 4" in rejected[0]["error"]["message"]


def test_a_comma_after_a_json_lines_record_is_named(fast_load: None, tmp_path: Path) -> None:
    path = tmp_path / "commas.jsonl"
    path.write_text(_line(CASES[0]) + ",\n" + _line(CASES[1]) + "\n", encoding="utf-8")
    _, report, _ = _eval(str(path))
    evaluated, rejected = _split(report)
    assert [r["record"] for r in evaluated] == [2]
    [bad] = rejected
    assert bad["error"]["message"].startswith("invalid JSON: Extra data (column ")
    assert bad["error"]["message"].endswith("; a ',' after the record: JSON Lines holds one value per line, "
                                            "no separators")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_pretty_printed_jsonl_file_says_so_and_every_line_is_still_rejected(fast_load: None, tmp_path: Path,
                                                                             jobs: str) -> None:
    path = tmp_path / "pretty.jsonl"
    text = "\n".join(json.dumps(c, ensure_ascii=False, indent=1) for c in CASES[:3]) + "\n"
    path.write_text(text, encoding="utf-8")
    _, report, _ = _eval("--jobs", jobs, str(path))
    evaluated, rejected = _split(report)
    assert evaluated == [] and len(rejected) == text.count("\n")  # nothing lost silently
    first = min(rejected, key=lambda r: r["record"])
    assert first["record"] == 1 and first["error"]["message"].endswith(
        "; this file looks like pretty-printed JSON, not JSON Lines (its first line is a lone '{' or '['): name it "
        ".json or use --input-format json")
    hinted = [r for r in rejected if "pretty-printed" in r["error"]["message"]]
    assert hinted == [first]


def test_an_array_in_a_jsonl_file_is_hinted_too(tmp_path: Path) -> None:
    path = tmp_path / "array.jsonl"
    path.write_text("\n\n[\n" + ",\n".join(_line(c) for c in CASES[:2]) + "\n]\n", encoding="utf-8")
    records = list(read_cases([str(path)]))
    assert [n for _, n, _ in records] == [3, 4, 5, 6]
    assert "looks like pretty-printed JSON" in records[0][2].message


def test_a_json_lines_file_starting_with_a_good_record_gets_no_hint(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text('{"case_id": "A"}\n{\n', encoding="utf-8")
    records = list(read_cases([str(path)]))
    assert records[0][2] == {"case_id": "A"} and "pretty-printed" not in records[1][2].message


def test_stdin_reads_a_pretty_printed_case_with_a_key_twice_as_a_file_does(fast_load: None,
                                                                            tmp_path: Path) -> None:
    text = json.dumps(CASES[0], ensure_ascii=False, indent=2)
    text = text.replace('"kind": "after_sale",', '"kind": "after_sale",\n  "case_id": "TWICE",', 1)
    path = tmp_path / "dup.json"
    path.write_text(text, encoding="utf-8")
    _, from_file, _ = _eval(str(path))
    _, from_stdin, _ = _eval("-", stdin=text.encode())
    [file_error] = _split(from_file)[1]
    [stdin_error] = _split(from_stdin)[1]
    assert stdin_error["error"]["message"].startswith('duplicate key "case_id" in this object')
    assert stdin_error["error"] == {**file_error["error"], "source": "<stdin>"}
    assert stdin_error["record"] == file_error["record"] == 1

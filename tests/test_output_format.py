"""``eval -o FILE`` without ``--format``: the report format follows FILE's extension (an operator's
``-o results.jsonl`` over a million records got the text report before: 410 MB of text where JSON Lines was
asked for by name); ``--format`` given always wins, and any other name still gets text."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from policy_eval import cli
from policy_eval.cli.options import format_of

ROOT = Path(__file__).resolve().parent.parent
CASES = [str(ROOT / "examples" / name) for name in ("after_sale_car_return_refund.json",
                                                    "after_sale_clothing_return_ok.json")]


@pytest.mark.parametrize(("output", "expected"), [
    (None, "text"), ("", "text"),
    ("out.json", "json"), ("out.jsonl", "jsonl"), ("out.ndjson", "jsonl"), ("out.sarif", "sarif"),
    ("out.xml", "junit"), ("OUT.JSONL", "jsonl"), ("reports/run.1/out.Sarif", "sarif"),
    ("out.txt", "text"), ("out", "text"), ("reports.jsonl/out", "text"),  # (the folder's extension is not the file's)
    (".jsonl", "text"),  # (a hidden file named .jsonl has no extension)
    ("out.jsonl.gz", "text"),  # (nothing compresses the report)
])
def test_the_format_a_file_name_implies(output: str | None, expected: str) -> None:
    assert format_of(output) == expected


def _eval(*argv: str) -> str:
    err = io.StringIO()
    assert cli.run(["eval", "-q", "--fail-on", "never", *argv, *CASES], io.StringIO(), err) == 0, err.getvalue()
    return err.getvalue()


def test_o_jsonl_writes_json_lines(tmp_path: Path) -> None:
    target = tmp_path / "results.jsonl"
    _eval("-o", str(target))
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["record"] for r in records] == [1, 1] and {r["format"] for r in records} == {"findings/1"}


def test_o_json_sarif_and_xml_write_their_formats(tmp_path: Path) -> None:
    _eval("-o", str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["summary"]["read"] == 2
    _eval("-o", str(tmp_path / "r.sarif"))
    assert json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    _eval("-o", str(tmp_path / "r.xml"))
    assert ET.parse(tmp_path / "r.xml").getroot().tag == "testsuites"


def test_an_explicit_format_wins_and_other_names_get_text(tmp_path: Path) -> None:
    _eval("-f", "text", "-o", str(tmp_path / "r.jsonl"))
    assert (tmp_path / "r.jsonl").read_text(encoding="utf-8").startswith("VIOLATED ")
    _eval("-f", "jsonl", "-o", str(tmp_path / "r.txt"))
    assert json.loads((tmp_path / "r.txt").read_text(encoding="utf-8").splitlines()[0])["record"] == 1
    _eval("-o", str(tmp_path / "r.log"))
    assert (tmp_path / "r.log").read_text(encoding="utf-8").startswith("VIOLATED ")


def test_stdout_stays_text() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.run(["eval", "-q", "--fail-on", "never", *CASES], out, err) == 0
    assert out.getvalue().startswith("VIOLATED ")

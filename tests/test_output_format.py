"""``eval -o FILE`` without ``--format``: the report format follows FILE's extension (an operator's
``-o results.jsonl`` over a million records got the text report before: 410 MB of text where JSON Lines was
asked for by name); ``--format`` given always wins, and any other name still gets text. ``-o FILE.gz``
writes the report gzip-compressed (before: uncompressed text under a name that says gzip)."""

from __future__ import annotations

import gzip
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
    ("out.jsonl.gz", "jsonl"), ("out.sarif.GZ", "sarif"), ("out.gz", "text"),  # (-o FILE.gz: compressed)
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


def test_o_gz_writes_the_report_compressed(tmp_path: Path) -> None:
    _eval("-o", str(tmp_path / "plain.jsonl"))
    _eval("-o", str(tmp_path / "r.jsonl.gz"))
    assert gzip.decompress((tmp_path / "r.jsonl.gz").read_bytes()) == (tmp_path / "plain.jsonl").read_bytes()
    _eval("-f", "text", "-o", str(tmp_path / "r.txt.gz"))
    assert gzip.decompress((tmp_path / "r.txt.gz").read_bytes()).decode("utf-8").startswith("VIOLATED ")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # (no temp file left)


def test_o_gz_bytes_are_the_same_for_any_jobs_and_any_run(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    records = [json.loads(Path(c).read_text(encoding="utf-8")) for c in CASES]
    cases.write_text("".join(json.dumps({**r, "case_id": f"C-{i}"}) + "\n" for i in range(300) for r in records),
                     encoding="utf-8")
    outs = []
    for n, jobs in enumerate(("1", "2", "1")):
        target = tmp_path / f"r{n}.jsonl.gz"
        err = io.StringIO()
        assert cli.run(["eval", "-q", "--fail-on", "never", "--jobs", jobs, "-o", str(target), str(cases)],
                       io.StringIO(), err) == 0, err.getvalue()
        outs.append(target.read_bytes())
    assert outs[0] == outs[1] == outs[2]  # (no flush points or time stamp in the gzip stream)
    assert len(gzip.decompress(outs[0]).splitlines()) == 600


def test_o_gz_inside_an_input_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a.json").write_bytes(Path(CASES[0]).read_bytes())
    err = io.StringIO()
    assert cli.run(["eval", "-o", str(folder / "report.jsonl.gz"), str(folder)], io.StringIO(), err) == 2
    assert "inside the input folder" in err.getvalue()  # (it would be read back as cases by the next run)


def test_an_interrupted_gz_report_is_whole_gzip(tmp_path: Path) -> None:
    from policy_eval.cli.output import AtomicOutput

    sink = AtomicOutput(str(tmp_path / "r.jsonl.gz"))
    sink.stream.write('{"record":1}\n')
    sink.stream.flush()  # (binary()'s contract: text first flushed; a flush that compresses nothing keeps the order)
    sink.binary().write(b'{"record":2}\n')
    assert sink.commit(complete=False) == tmp_path / "r.jsonl.gz"
    assert gzip.decompress((tmp_path / "r.jsonl.gz").read_bytes()) == b'{"record":1}\n{"record":2}\n'

"""Reading case records: JSON, JSON Lines, stdin sniffing, and the errors that name line and JSON path."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from policy_eval.errors import CaseError
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_case_schemas
from policy_eval.rulebook.cases import parse_record, read_cases, read_stream
from policy_eval.rulebook.validation import CaseValidator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _read(data: bytes, fmt: str | None = None, raw: bool = False) -> list[tuple[str, int, object]]:
    return list(read_stream(io.BufferedReader(io.BytesIO(data)), "<stdin>", fmt, raw))


def _summary(records: list[tuple[str, int, object]]) -> list[tuple[int, str]]:
    """(record number, case_id or the error message) per record."""
    return [(n, c.message if isinstance(c, CaseError) else c["case_id"]) for _, n, c in records]  # type: ignore[index]


def test_numbers_are_exact_and_nan_is_rejected() -> None:
    case = parse_record(b'{"a": 0.1, "b": 12345678901234567890}\n', "f", 1)
    assert case == {"a": Decimal("0.1"), "b": 12345678901234567890}
    for constant in ("NaN", "Infinity", "-Infinity"):
        err = parse_record(f'{{"a": {constant}}}'.encode(), "f", 3)
        assert isinstance(err, CaseError) and constant in err.message and err.record == 3


def test_errors_in_a_json_lines_record_point_into_that_line() -> None:
    err = parse_record(b'{"kind": "after_sale", \n', "f.jsonl", 7)
    assert isinstance(err, CaseError)
    # the trailing newline must not turn into "line 2"
    assert err.message == "invalid JSON: Expecting property name enclosed in double quotes (column 23)"
    assert (err.source, err.record, err.json_path) == ("f.jsonl", 7, "$")
    assert "an array" in parse_record(b"[1]", "f", 1).message
    assert "a string" in parse_record(b'"x"', "f", 1).message
    assert "null" in parse_record(b"null", "f", 1).message
    assert "not UTF-8" in parse_record(b'{"a": "\xff"}', "f", 1).message


def test_jsonl_keeps_line_numbers_across_blank_lines_and_a_bom() -> None:
    data = b'\xef\xbb\xbf{"case_id": "A"}\n\n   \n{"case_id": "B"}\n[1]\n{"case_id": "C"}'
    assert _summary(_read(data, "jsonl")) == [(1, "A"), (4, "B"), (5, "a case must be a JSON object, got an array"),
                                              (6, "C")]


def test_raw_jsonl_defers_parsing() -> None:
    records = _read(b'{"case_id": "A"}\n{broken\n', "jsonl", raw=True)
    assert [(n, c) for _, n, c in records] == [(1, b'{"case_id": "A"}\n'), (2, b"{broken\n")]


def test_stdin_sniffs_a_pretty_printed_case() -> None:
    """`policy-eval eval - < case.json`: a multi-line object is one case, not 30 broken lines."""
    data = (EXAMPLES / "after_sale_car_return_refund.json").read_bytes()
    assert data.count(b"\n") > 5
    records = _read(data)
    assert _summary(records) == [(1, "PDD-AS-2022-000077")]


def test_stdin_sniffs_concatenated_pretty_cases_and_json_lines() -> None:
    one = json.dumps({"case_id": "A", "x": [1, 2]}, indent=2).encode()
    two = json.dumps({"case_id": "B"}, indent=2).encode()
    # like `jq . a.json b.json`: values one after another, numbered by the line they start on
    assert _summary(_read(one + b"\n" + two + b"\n")) == [(1, "A"), (one.count(b"\n") + 2, "B")]
    assert _summary(_read(b'{"case_id": "A"}\n{"case_id": "B"}\n')) == [(1, "A"), (2, "B")]
    assert _summary(_read(b'\n\n[{"case_id": "A"}, 7]')) == [(1, "A"), (2, "a case must be a JSON object, "
                                                                        "got a number")]


def test_stdin_jsonl_with_a_broken_first_line_is_still_read_line_by_line() -> None:
    data = b'{"case_id": "BROKEN", \n{"case_id": "B"}\nNaN\n{"case_id": "D"}\n'
    got = _summary(_read(data))
    assert [n for n, _ in got] == [1, 2, 3, 4]
    assert got[1] == (2, "B") and got[3] == (4, "D")
    assert got[0][1].startswith("invalid JSON") and "NaN" in got[2][1]


def test_a_broken_pretty_document_reports_the_line_of_the_error() -> None:
    data = b'{\n  "case_id": "A"\n}\n{\n  "case_id": "B",\n  "x": ]\n}\n'
    got = _summary(_read(data))
    assert got[0] == (1, "A")
    assert got[1][0] == 4 and "(line 6, column 8)" in got[1][1] and "the rest of <stdin> is skipped" in got[1][1]


def test_files_by_suffix_and_folders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.json").write_text(json.dumps([{"case_id": "A1"}, {"case_id": "A2"}]))
    (tmp_path / "sub" / "b.jsonl").write_text('{"case_id": "B1"}\n{"case_id": "B2"}\n')
    (tmp_path / "sub" / "c.json").write_text('{"case_id": "C1"}\n{"case_id": "C2"}\n')  # JSON Lines in a .json
    (tmp_path / "notes.txt").write_text("ignored")
    records = list(read_cases([str(tmp_path)]))
    assert [(Path(s).name, n, c["case_id"]) for s, n, c in records] == [
        ("a.json", 1, "A1"), ("a.json", 2, "A2"), ("b.jsonl", 1, "B1"), ("b.jsonl", 2, "B2"),
        ("c.json", 1, "C1"), ("c.json", 2, "C2")]
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{}")
    [(_, _, err)] = list(read_cases([str(bad)]))
    assert isinstance(err, CaseError) and "not UTF-8" in err.message


def test_stdin_is_read_once_with_dash() -> None:
    records = list(read_cases(["-"], stdin=io.BytesIO(b'{"case_id": "S"}\n')))
    assert [(s, n, c["case_id"]) for s, n, c in records] == [("<stdin>", 1, "S")]


@pytest.fixture(scope="module")
def validator() -> CaseValidator:
    return CaseValidator(load_case_schemas(bundled_schemas()))


def test_schema_errors_name_the_json_path(validator: CaseValidator) -> None:
    case = json.loads((EXAMPLES / "after_sale_car_return_refund.json").read_text(encoding="utf-8"))
    assert validator.check(case, "f", 1) is None
    case["order"]["paid_amount"] = [1]
    err = validator.check(case, "f", 1)
    assert err is not None and err.json_path == "$.order.paid_amount" and "not of type" in err.message
    case["order"]["paid_amount"] = "59.90"
    case["request"]["submitted_at"] = "yesterday"
    err = validator.check(case, "f", 1)
    assert err is not None and err.json_path == "$.request.submitted_at" and "date-time" in err.message
    err = validator.check({"kind": "parcel"}, "f", 9)
    assert err is not None and err.json_path == "$.kind" and "after_sale" in err.message and err.record == 9


def test_a_nan_given_through_the_python_api_is_a_case_error(validator: CaseValidator) -> None:
    case = json.loads((EXAMPLES / "after_sale_car_return_refund.json").read_text(encoding="utf-8"))
    for nan in ("NaN", "sNaN", "-NaN"):
        case["order"]["promised_after_sale_days"] = Decimal(nan)  # JSON input cannot carry this; a dict can
        err = validator.check(case, "api", 1)
        assert err is not None and "NaN" in err.message and err.json_path == "$.order.promised_after_sale_days"
    assert "an array" in validator.check([case], "api", 2).message  # type: ignore[arg-type,union-attr]

"""A case record breaking several rules of its schema is rejected with all of them, in one run.

Before, a rejection named one error (jsonschema's best match): fixing a record with four took four runs.
Now ``CaseError.errors`` lists every error (at most ``MAX_LISTED``, then how many more), in the order of
the record's members, each with its JSON path; the first stays the error's own ``message`` and
``json_path``, so a record with one error reads as before. A misspelt member gets "did you mean", a number
written for money the string to write. The JSON formats carry the list in ``error.errors`` (schemas/result
and result-findings), the text report one line each under the REJECTED line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from policy_eval.cli import run
from policy_eval.errors import CaseError
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_case_schemas
from policy_eval.rulebook import validation as validation_module
from policy_eval.rulebook.jsonrecord import loads
from policy_eval.rulebook.validation import MAX_LISTED, CaseValidator

ROOT = Path(__file__).resolve().parent.parent
AFTER_SALE = json.loads((ROOT / "examples" / "after_sale_clothing_return_ok.json").read_text(encoding="utf-8"))
WARRANTY = json.loads((ROOT / "examples" / "warranty_fee_charged.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> CaseValidator:
    return CaseValidator(load_case_schemas(bundled_schemas()))


def _decoded(case: dict[str, Any]) -> Any:
    return loads(json.dumps(case, ensure_ascii=False))  # as the readers decode: exact numbers as Decimal


def _renamed(obj: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """``obj`` with member ``old`` renamed ``new``, in its place."""
    return {(new if k == old else k): v for k, v in obj.items()}


def _three_errors() -> dict[str, Any]:
    """received_at misspelt, paid_amount a number, request.submitted_at left out."""
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"] = _renamed(case["order"], "received_at", "recieved_at")
    case["order"]["paid_amount"] = 39.9
    del case["request"]["submitted_at"]
    return case


def _check(validator: CaseValidator, case: dict[str, Any]) -> CaseError:
    error = validator.check(_decoded(case), "x.json", 1)
    assert error is not None
    return error


# --- every error, in document order ----------------------------------------------------------------------

def test_every_error_is_listed_in_document_order(validator: CaseValidator) -> None:
    error = _check(validator, _three_errors())
    assert [e["json_path"] for e in error.errors] == ["$.order", "$.order.paid_amount", "$.request"]
    assert error.errors[0] == {"json_path": error.json_path, "message": error.message}
    assert error.errors[2]["message"] == "'submitted_at' is a required property"
    assert error.omitted == 0


def test_the_order_follows_the_record_not_the_schema(validator: CaseValidator) -> None:
    case = _three_errors()
    case = {"request": case.pop("request"), **case}  # request written before order
    error = _check(validator, case)
    assert [e["json_path"] for e in error.errors] == ["$.request", "$.order", "$.order.paid_amount"]
    assert (error.json_path, error.message) == ("$.request", "'submitted_at' is a required property")


def test_the_z_json_of_the_report_in_one_run(validator: CaseValidator) -> None:
    """The user's record: two required members missing, a misspelt one, and money as a number."""
    case = json.loads(json.dumps(WARRANTY))
    case["order"] = _renamed(case["order"], "paid_amount", "recieved_at")
    del case["claim"]["service_requested"]
    case["claim"]["extra_fee_charged"] = 39.9
    error = _check(validator, case)
    assert [(e["json_path"], e["message"].split(";")[0]) for e in error.errors] == [
        ("$.order", "'paid_amount' is a required property"),
        ("$.order", "Additional properties are not allowed ('recieved_at' was unexpected)"),
        ("$.claim", "'service_requested' is a required property"),
        ("$.claim.extra_fee_charged", "39.9 is not of type 'string'"),
    ]


def test_a_record_with_one_error_reads_as_before(validator: CaseValidator) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"]["id"] = True
    error = _check(validator, case)
    assert (error.json_path, error.message) == ("$.order.id", "true is not of type 'string'")
    assert error.errors == [{"json_path": "$.order.id", "message": "true is not of type 'string'"}]
    assert "errors" not in error.to_dict() and "errors_omitted" not in error.to_dict()


def test_past_the_cap_only_how_many_more(validator: CaseValidator) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    for i in range(MAX_LISTED + 3):
        case[f"extra_{i}"] = {"x": i}  # one additionalProperties error at $ for all of them
    for key in ("id", "store_id", "category", "goods_title"):
        case["order"][key] = 1
    for key in ("id", "type", "reason", "status", "submitted_at", "refund_amount"):
        case["request"][key] = True
    case["case_id"] = ""
    error = _check(validator, case)
    # 14 errors: $ (the extra members, one error), $.case_id, 4 in order, 8 in request (type and status: true
    # is neither a string nor one of the enum's values, two errors each)
    assert len(error.errors) == MAX_LISTED
    assert error.omitted == 14 - MAX_LISTED
    record = error.to_dict()
    assert record["errors"] == error.errors and record["errors_omitted"] == error.omitted
    paths = [e["json_path"] for e in error.errors]
    assert paths[:3] == ["$.case_id", "$.order.id", "$.order.store_id"]  # where they are in the record


def test_an_anyof_error_is_worded_as_when_alone(validator: CaseValidator) -> None:
    """Each listed error is best_match of itself, as the one error of a record was."""
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"]["id"] = [1]
    case["request"]["type"] = "refund_onlyx"
    error = _check(validator, case)
    alone = json.loads(json.dumps(AFTER_SALE))
    alone["request"]["type"] = "refund_onlyx"
    assert error.errors[1] == {"json_path": "$.request.type", "message": _check(validator, alone).message}


# --- hints -----------------------------------------------------------------------------------------------

def test_an_unknown_member_close_to_a_known_one(validator: CaseValidator) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"] = _renamed(case["order"], "received_at", "recieved_at")
    error = _check(validator, case)
    assert (error.json_path, error.message) == (
        "$.order", "Additional properties are not allowed ('recieved_at' was unexpected); did you mean 'received_at'?")


def test_no_hint_for_a_member_already_there_or_far_from_any(validator: CaseValidator) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"]["recieved_at"] = case["order"]["received_at"]  # received_at is there too
    case["order"]["zzz"] = 1
    error = _check(validator, case)
    assert "did you mean" not in error.message, error.message


def test_several_unknown_members_each_named(validator: CaseValidator) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"] = _renamed(_renamed(case["order"], "received_at", "recieved_at"), "shipped_at", "shiped_at")
    error = _check(validator, case)
    assert error.message.endswith("; did you mean 'shipped_at' for 'shiped_at', 'received_at' for 'recieved_at'?")


def test_a_required_member_missing_while_a_close_unknown_one_is_there(validator: CaseValidator) -> None:
    case = json.loads(json.dumps(WARRANTY))
    case["order"] = _renamed(case["order"], "paid_amount", "paid_amuont")
    error = _check(validator, case)
    assert error.errors == [
        {"json_path": "$.order", "message": "'paid_amount' is a required property; the record has 'paid_amuont': "
                                            "did you mean 'paid_amount'?"},
        {"json_path": "$.order", "message": "Additional properties are not allowed ('paid_amuont' was unexpected); "
                                            "did you mean 'paid_amount'?"},
    ]


@pytest.mark.parametrize(("value", "hint"), [
    (39.9, '; money is written as a string: "39.90"'),
    (40, '; money is written as a string: "40.00"'),
    (45.8, '; money is written as a string: "45.80"'),
    (39.999, '; money is written as a string with two decimals, e.g. "59.90"'),  # no rounding made up
    (-5, '; money is written as a string with two decimals, e.g. "59.90"'),  # the pattern takes no "-5.00"
])
def test_a_number_written_for_money(validator: CaseValidator, value: Any, hint: str) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"]["paid_amount"] = value
    error = _check(validator, case)
    assert error.json_path == "$.order.paid_amount"
    assert error.message == f"{json.dumps(value)} is not of type 'string'{hint}"


def test_no_money_hint_on_other_strings(validator: CaseValidator) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"]["id"] = 39.9
    assert _check(validator, case).message == "39.9 is not of type 'string'"


def test_a_float_from_an_embedder(validator: CaseValidator) -> None:
    """A loader plugin or the API may hand over Python floats, not Decimals."""
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"]["paid_amount"] = 39.9
    error = validator.check(case, "<api>", 0)
    assert error is not None and error.message.endswith('; money is written as a string: "39.90"')


# --- the valid path is untouched ----------------------------------------------------------------------

def test_a_valid_record_never_reaches_the_wording(validator: CaseValidator, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any) -> Any:
        raise AssertionError("the slow path ran for a valid record")

    monkeypatch.setattr(validation_module, "_case_error", boom)
    monkeypatch.setattr(CaseValidator, "_ref", boom)
    monkeypatch.setattr(CaseValidator, "fast", boom)
    assert validator.check(_decoded(AFTER_SALE), "x.json", 1) is None
    assert validator.check(_decoded(WARRANTY), "x.json", 1) is None


# --- through the CLI -----------------------------------------------------------------------------------

def test_the_text_report_shows_them_all(fast_load: None, tmp_path: Path) -> None:
    path = tmp_path / "three.json"
    path.write_text(json.dumps(_three_errors(), ensure_ascii=False, indent=2), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["eval", str(path)], out, err) == 1
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        f"REJECTED ERP-RT-2023-04417 {path}:1: $.order: Additional properties are not allowed ('recieved_at' was "
        "unexpected); did you mean 'received_at'?",
        "    $.order.paid_amount: 39.9 is not of type 'string'; money is written as a string: \"39.90\"",
        "    $.request: 'submitted_at' is a required property",
    ]
    assert lines[3].startswith("1 record read: 0 evaluated, 1 rejected")


def test_the_text_report_says_how_many_more(fast_load: None, tmp_path: Path) -> None:
    case = json.loads(json.dumps(AFTER_SALE))
    for key in ("id", "reason", "submitted_at", "refund_amount"):
        case["request"][key] = True
    for key in ("id", "store_id", "category", "goods_title", "confirmed_at", "promised_ship_by", "shipped_at",
                "received_at"):
        case["order"][key] = 1  # 12 errors in all, one each
    path = tmp_path / "many.jsonl"
    path.write_text(json.dumps(case, ensure_ascii=False) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert run(["eval", str(path)], out, io.StringIO()) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"REJECTED ERP-RT-2023-04417 {path}:1: $.order.id: 1 is not of type 'string'")
    assert len([line for line in lines if line.startswith("    $.")]) == MAX_LISTED - 1
    assert lines[MAX_LISTED] == "    ... and 2 more errors"


@pytest.mark.parametrize(("detail", "schema"), [([], "result-findings.schema.json"),
                                                (["--detail", "full"], "result.schema.json")])
def test_the_json_records_carry_them_and_match_the_result_schemas(fast_load: None, tmp_path: Path,
                                                                   detail: list[str], schema: str) -> None:
    good = json.loads(json.dumps(AFTER_SALE))
    good["order"]["id"] = True
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(_three_errors(), ensure_ascii=False) + "\n" + json.dumps(good) + "\n",
                    encoding="utf-8")
    out = io.StringIO()
    assert run(["eval", "-f", "jsonl", *detail, str(path)], out, io.StringIO()) == 1
    several, one = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["json_path"] for e in several["error"]["errors"]] == ["$.order", "$.order.paid_amount", "$.request"]
    assert several["error"]["json_path"] == "$.order" and "errors_omitted" not in several["error"]
    assert "errors" not in one["error"]  # one error: as ever
    result_schema = json.loads((ROOT / "schemas" / schema).read_text(encoding="utf-8"))
    described = result_schema["$defs"]["rejected"]["properties"]["error"]["properties"]
    assert {"errors", "errors_omitted"} <= set(described)
    for record in (several, one):
        jsonschema.validate(record, result_schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema does check the list's items
        jsonschema.validate({**several, "error": {**several["error"], "errors": [{"json_path": "order"}] * 2}},
                            result_schema)

"""Case errors quote the record's values as JSON, as the record was written, not as Python reprs
(issue 18, item 10): ``[false, null]``, ``{"a": true}``, ``"x" is not one of ["a", "b"]``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli import run
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_case_schemas
from policy_eval.rulebook.jsonrecord import loads
from policy_eval.rulebook.validation import CaseValidator

ROOT = Path(__file__).resolve().parent.parent
BASE = json.loads((ROOT / "examples" / "after_sale_clothing_return_ok.json").read_text(encoding="utf-8"))


def _case(section: str, field: str, value: Any) -> Any:
    case = json.loads(json.dumps(BASE))
    case[section][field] = value
    return loads(json.dumps(case, ensure_ascii=False))  # decoded as the readers do: exact numbers as Decimal


@pytest.fixture(scope="module")
def validator() -> CaseValidator:
    return CaseValidator(load_case_schemas(bundled_schemas()))


@pytest.mark.parametrize(("section", "field", "value", "message"), [
    ("order", "id", [False, None], "[false, null] is not of type 'string'"),
    ("order", "id", {"a": True, "b": [None]}, '{"a": true, "b": [null]} is not of type \'string\''),
    ("order", "id", {"名": "值"}, '{"名": "值"} is not of type \'string\''),  # ensure_ascii=False
    ("order", "id", True, "true is not of type 'string'"),
    ("order", "id", 1.5, "1.5 is not of type 'string'"),  # read as Decimal('1.5')
    ("order", "id", [1.50, "x'y"], '[1.5, "x\'y"] is not of type \'string\''),
    ("request", "type", "refund_onlyx", '"refund_onlyx" is not one of ["refund_only", "return_refund"]'),
])
def test_values_in_case_errors_are_json(validator: CaseValidator, section: str, field: str, value: Any,
                                        message: str) -> None:
    error = validator.check(_case(section, field, value), "x.json", 1)
    assert error is not None
    assert (error.json_path, error.message) == (f"$.{section}.{field}", message)


def test_the_cli_quotes_json_too(fast_load: None, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**BASE, "order": {**BASE["order"], "id": [False, None]}}) + "\n"
                    + json.dumps({**BASE, "request": {**BASE["request"], "type": "refund_onlyx"}}) + "\n",
                    encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["eval", str(path)], out, err) == 1
    text = out.getvalue()
    assert f"REJECTED ERP-RT-2023-04417 {path}:1: $.order.id: [false, null] is not of type 'string'" in text
    assert (f"REJECTED ERP-RT-2023-04417 {path}:2: $.request.type: \"refund_onlyx\" is not one of "
            '["refund_only", "return_refund"]') in text
    assert "False" not in text and "None" not in text and "'refund_onlyx'" not in text

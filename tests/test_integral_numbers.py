"""An integer field written 7.0, 7e0 or 0.7E1 (an operator's audit: exports from JavaScript or pandas write integer
columns so): JSON Schema 2020-12's "integer" counts any number whose fraction is zero, and the case schemas are
2020-12, so such a record is valid and read as 7; 7.5 is still refused. The caller's nested objects are left as
they were (the API copies only the top of a case)."""

from __future__ import annotations

import copy
import decimal
import io
import json
from pathlib import Path

import pytest

from policy_eval.api import Rulebook
from policy_eval.cli import run

CASE = Path(__file__).resolve().parent.parent / "examples" / "after_sale_clothing_return_ok.json"
TEXT = json.dumps(json.loads(CASE.read_text(encoding="utf-8")), ensure_ascii=False)


@pytest.mark.parametrize("written", ["7", "7.0", "7e0", "0.7E1", "70E-1"])
def test_an_integral_number_where_an_integer_is_wanted_is_valid(written: str, tmp_path: Path) -> None:
    assert '"promised_after_sale_days": 7' in TEXT
    path = tmp_path / "c.jsonl"
    path.write_text(TEXT.replace('"promised_after_sale_days": 7', f'"promised_after_sale_days": {written}') + "\n",
                    encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["eval", "-f", "jsonl", "--detail", "full", str(path)], out, err) == 0, err.getvalue()
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert record["status"] == "evaluated"
    inputs = {k: v for r in record["results"] for k, v in (r.get("inputs") or {}).items()}
    assert inputs.get("order.promised_after_sale_days", 7) == 7  # read as the integer 7


def test_a_number_with_a_fraction_is_still_refused_where_an_integer_is_wanted(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(TEXT.replace('"promised_after_sale_days": 7', '"promised_after_sale_days": 7.5') + "\n",
                    encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    run(["eval", "-f", "jsonl", str(path)], out, err)
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert record["status"] == "rejected"
    assert record["error"]["json_path"] == "$.order.promised_after_sale_days"
    assert "7.5 is not of type 'integer'" in record["error"]["message"]


def test_the_callers_nested_objects_are_not_changed() -> None:
    case = json.loads(TEXT, parse_float=decimal.Decimal)
    case["order"]["promised_after_sale_days"] = decimal.Decimal("7.0")
    before = copy.deepcopy(case)
    result = Rulebook.load().evaluate(case)
    assert result.error is None
    assert case == before and type(case["order"]["promised_after_sale_days"]) is decimal.Decimal

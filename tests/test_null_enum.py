"""An optional field with an enum also accepts null ("unknown"), as every optional field outside lists does.

docs/policies.md and the case schemas' descriptions: a key left out means nothing is recorded, an explicit null
means the source does not know. The loader adds null to each optional field's type, but a field with a type
*and* an enum (``request.status``, ``source``) kept refusing it: "null is not one of
[...]". Found by the compiled schema check's differential tests; expected values from the convention.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.validation import CaseValidator

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "after_sale_fruit_refund_no_reply.json"


@pytest.fixture(scope="module")
def book() -> Any:
    return load_rulebook(None)


def _case() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [("request", "status"), ("source",)])
def test_an_optional_enum_field_accepts_null(book: Any, path: tuple[str, ...]) -> None:
    case = _case()
    node = case
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = None
    assert CaseValidator(book.case_schemas).check(case, "c.json", 1) is None


def test_a_required_or_misspelt_enum_value_is_still_refused(book: Any) -> None:
    case = _case()
    case["request"]["merchant_response"] = {"at": case["request"]["submitted_at"], "action": None}  # required there
    err = CaseValidator(book.case_schemas).check(case, "c.json", 1)
    assert err is not None and err.json_path == "$.request.merchant_response.action"
    case = _case()
    case["request"]["type"] = None  # required: null is not allowed
    err = CaseValidator(book.case_schemas).check(case, "c.json", 1)
    assert err is not None and err.json_path == "$.request.type"
    case = _case()
    case["request"]["status"] = "pendingx"
    err = CaseValidator(book.case_schemas).check(case, "c.json", 1)
    assert err is not None and err.json_path == "$.request.status"


"""Case schemas beside policies (issue 13 item 13): checked when the rulebook loads, patterns on RE2.

An invalid schema or a pattern RE2 cannot run is reported by ``check`` with the file and JSON path (and
``eval`` does not start); a catastrophic-backtracking pattern is run by RE2 in both validators (asserted
on the validators in use, not by timing).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy_eval.errors import ErrorList
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.schemaregex import RE2Validator
from policy_eval.rulebook.validation import CaseValidator

ROOT = Path(__file__).resolve().parent.parent
AFTER_SALE = json.loads((ROOT / "examples" / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()[0])


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A policy folder (the after-sales policy) with its own copy of the case schemas beside it."""
    shutil.copytree(ROOT / "policies" / "after_sales", tmp_path / "policies")
    shutil.copytree(ROOT / "schemas" / "cases", tmp_path / "schemas" / "cases")
    return tmp_path


def _edit(book: Path, change: Any) -> Path:
    path = book / "schemas" / "cases" / "after_sale.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _order_id(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]["order"]["properties"]["id"]  # type: ignore[no-any-return]


def _check(book: Path) -> tuple[int, str]:
    from policy_eval import cli

    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["check", "--policies", str(book / "policies")], out, err)
    return code, out.getvalue() + err.getvalue()


def test_a_pattern_re2_cannot_run_is_reported_by_check_with_file_and_path(book: Path) -> None:
    path = _edit(book, lambda s: _order_id(s).update(pattern="^(?=x)[0-9]+$"))  # a look-ahead: not RE2
    code, text = _check(book)
    assert code != 0
    line = next(i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if '"pattern"' in row
                and "(?=x)" in row)
    assert f"after_sale.schema.json:{line}:" in text
    assert "$.properties.order.properties.id.pattern" in text and "invalid pattern" in text
    assert "Traceback" not in text


def test_an_invalid_schema_is_reported_by_check(book: Path) -> None:
    _edit(book, lambda s: _order_id(s).update(type="text", minLength=-1))
    code, text = _check(book)
    assert code != 0
    assert "after_sale.schema.json:" in text and "not a valid JSON Schema" in text
    assert "$.properties.order.properties.id.type" in text and "$.properties.order.properties.id.minLength" in text


def test_a_schema_that_is_not_json_is_located(book: Path) -> None:
    (book / "schemas" / "cases" / "chat.schema.json").write_text('{\n  "type": "object",\n  oops\n}\n')
    with pytest.raises(ErrorList) as info:
        load_rulebook(book / "policies")
    [error] = info.value.errors
    assert (Path(error.file or "").name, error.line, error.column) == ("chat.schema.json", 3, 3)
    assert "not valid JSON" in error.message


def test_eval_does_not_start_on_an_invalid_schema_pattern(book: Path) -> None:
    from policy_eval import cli

    _edit(book, lambda s: _order_id(s).update(pattern="(a)\\1"))  # a back-reference
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["eval", "--policies", str(book / "policies"), "-"], out, err,
                   io.BytesIO(json.dumps(AFTER_SALE).encode() + b"\n"))
    assert code not in (0, 1) or "invalid pattern" in err.getvalue()
    assert "invalid pattern" in err.getvalue() and "Traceback" not in err.getvalue()


def test_schema_patterns_run_on_re2_in_both_validators(book: Path) -> None:
    evil = "^(a+)+$"
    _edit(book, lambda s: _order_id(s).update(pattern=evil))
    rb = load_rulebook(book / "policies")
    validator = CaseValidator(rb.case_schemas)
    fast = validator.fast("after_sale")
    assert fast is not None
    compiled = (getattr(fast, "func", fast)).__globals__["REGEX_PATTERNS"][evil]
    assert type(compiled).__name__ == "_RE2Search"  # not a backtracking re.Pattern
    assert isinstance(validator._ref("after_sale"), RE2Validator)
    # behaviour: the pattern still decides, in both validators (the reference one words the error)
    case = json.loads(json.dumps(AFTER_SALE))
    case["order"]["id"] = "a" * 29 + "!"
    err = validator.check(case, "f", 1)
    assert err is not None and err.json_path == "$.order.id" and "does not match" in err.message
    case["order"]["id"] = "a" * 29
    assert validator.check(case, "f", 1) is None


def test_re2_validator_keeps_json_schema_pattern_semantics() -> None:
    schema = {"type": "object", "properties": {"s": {"pattern": "b"}, "e": {"pattern": "^x$"}},
              "patternProperties": {"^n_": {"type": "integer"}}, "additionalProperties": False}
    v = RE2Validator(schema)
    assert not list(v.iter_errors({"s": "abc", "e": "x", "n_1": 3}))  # search, not match; anchors honoured
    assert [e.json_path for e in v.iter_errors({"s": "ac"})] == ["$.s"]
    assert [e.json_path for e in v.iter_errors({"e": "x\n"})] == ["$.e"]  # $ is the end of the text
    assert [e.json_path for e in v.iter_errors({"n_1": "x"})] == ["$.n_1"]
    assert "does not match any of the regexes" in next(iter(v.iter_errors({"other": 1}))).message


def test_the_bundled_schemas_pass_their_check() -> None:
    from policy_eval.resources import bundled_schemas
    from policy_eval.rulebook.schemacheck import check_case_schemas

    files = sorted((bundled_schemas() / "cases").glob("*.schema.json"))
    assert files and check_case_schemas(files) == []


def test_a_lone_surrogate_in_a_patterned_field_is_rejected_not_an_internal_error(book: Path) -> None:
    rb = load_rulebook(book / "policies")
    validator = CaseValidator(rb.case_schemas)
    case = json.loads(json.dumps(AFTER_SALE))
    case["request"]["refund_amount"] = "\ud800"  # JSON allows it; the money pattern does not match it
    err = validator.check(case, "f", 1)
    assert err is not None and err.json_path == "$.request.refund_amount" and "does not match" in err.message


def test_the_wording_validators_are_made_on_first_need() -> None:
    """fastjsonschema's validators word what the compiled check refuses: none is made for valid cases, one is
    made for the first invalid case of its kind, and the error is the same as from a validator made eagerly."""
    schemas = load_rulebook().case_schemas
    validator = CaseValidator(schemas)
    assert validator._fast == {}
    assert validator.check(AFTER_SALE, "s", 1) is None
    assert validator._fast == {}
    bad = json.loads(json.dumps(AFTER_SALE))
    bad["order"]["confirmed_at"] = 5
    error = validator.check(bad, "s", 2)
    assert error is not None and error.json_path == "$.order.confirmed_at"
    assert list(validator._fast) == ["after_sale"]
    eager = CaseValidator(schemas)
    for kind in schemas:
        eager.fast(kind)
    again = eager.check(bad, "s", 2)
    assert again is not None and (again.message, again.json_path) == (error.message, error.json_path)

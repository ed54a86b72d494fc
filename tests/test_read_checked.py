"""One walk for the reader and the schema (issue 14, item 5): ``jsonrecord.read_checked`` with a kind's exact
check (``compile_case_schema(..., exact=True)``).

A record it returns must be what the general path gives (``parse_record`` then ``CaseValidator.check``): read
exactly (no binary float: a number must be an ``int``), no key written twice, valid. Whatever it declines goes
the general path, so declining is never wrong, only slower; but a valid record without a fraction, an exponent,
a big integer or a repeated key must be taken (else the fast path would be dead code). Compared on every bundled
case and on Hypothesis mutations of them (test_schemacompile's), written as JSON text.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from test_jsonrecord_fast_path import _flat
from test_schemacompile import CASES, SCHEMAS, _mutated

from policy_eval.errors import CaseError
from policy_eval.rulebook.jsonrecord import _scan, parse_record, read_checked
from policy_eval.rulebook.schemacompile import compile_case_schema
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.run import batch
from policy_eval.run.batch import BatchOptions, Processor

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = CaseValidator(SCHEMAS)
EXACT = VALIDATOR.exact_checks()
_DECIMAL = re.compile(r'"\\u0000D([^"]*)\\u0000"')


def _text(case: Any) -> str:
    """``case`` as JSON text, a Decimal written as the number it is (1.50 stays 1.50)."""
    def number(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\0D{value}\0"
        raise TypeError(type(value).__name__)
    return _DECIMAL.sub(r"\1", json.dumps(case, ensure_ascii=False, default=number))


def _general(text: str) -> Any:
    """What the general path makes of ``text``: ("valid", the record) or ("refused", anything)."""
    value = parse_record(text, "f", 1)
    if isinstance(value, CaseError):
        return ("refused", value.message)
    error = VALIDATOR.check(value, "f", 1)
    return ("refused", error.message) if error is not None else ("valid", value)


def _plain(value: Any) -> bool:
    """No Decimal, no integer beyond 64 bits and no lone surrogate anywhere (what orjson reads exactly)."""
    if type(value) is dict:
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    if type(value) is int:
        return -(2**63) <= value < 2**64
    if type(value) is str:
        return value.isascii() or not any("\ud800" <= ch <= "\udfff" for ch in value)
    return not isinstance(value, (Decimal, float))


def _has_fraction(text: str) -> bool:
    """A number written with a fraction or an exponent (1.0, 7e0): the one walk declines it by design, and the
    general path reads it exactly (an integer field takes 1.0 as 1: test_a_fraction_anywhere_is_declined...)."""
    seen: list[str] = []
    json.loads(text, parse_float=lambda s: seen.append(s) or 0)
    return bool(seen)


def _compare(text: str) -> str:
    taken = read_checked(text, EXACT)
    verdict, general = _general(text)
    if taken is not None:
        assert verdict == "valid", (text, general)
        assert _flat(taken) == _flat(general), text
        return "taken"
    if verdict == "valid" and _plain(general) and "\\" not in text and not _has_fraction(text):
        raise AssertionError(f"a valid exact record was declined: {text}")
    return f"declined ({verdict})"


def test_every_bundled_kind_has_an_exact_check() -> None:
    assert set(EXACT) == set(SCHEMAS)


def test_every_bundled_case_is_taken_as_the_general_path_reads_it() -> None:
    outcomes = [_compare(_text(case)) for case in CASES]
    assert outcomes.count("taken") >= 150  # the golden corpus is valid and has no fractions


@given(_mutated())
def test_mutated_cases_are_taken_only_as_the_general_path_reads_them(case: dict[str, Any]) -> None:
    event(_compare(_text(case)))


def test_the_count_is_the_strings_the_reader_walk_counts() -> None:
    plain = [case for case in CASES if _plain(case)]
    assert len(plain) >= 150
    for case in plain:
        assert EXACT[case["kind"]](case) == _scan(case)


@pytest.mark.parametrize("text", [
    '{"kind": "after_sale", "kind": "after_sale", "case_id": "A", "order": {"id": "1"}, '
    '"request": {"id": "R", "type": "refund_only", "submitted_at": "2023-06-02T16:00:00+08:00"}}',
    '{"kind": "after_sale", "case_id": "A", "order": {"id": "1", "id": "2"}, '
    '"request": {"id": "R", "type": "refund_only", "submitted_at": "2023-06-02T16:00:00+08:00"}}',
    '{"kind": "after_sale", "case_id": "A\\u0022", "order": {"id": "1", "id": "2"}, '
    '"request": {"id": "R", "type": "refund_only", "submitted_at": "2023-06-02T16:00:00+08:00"}}',
])
def test_a_key_written_twice_is_declined(text: str) -> None:
    assert read_checked(text, EXACT) is None
    assert _general(text)[0] == "refused"


def test_a_fraction_anywhere_is_declined_and_read_exactly_by_the_general_path() -> None:
    base = ('{"kind": "after_sale", "case_id": "A", "order": {"id": "1", "promised_after_sale_days": %s}, '
            '"request": {"id": "R", "type": "refund_only", "submitted_at": "2023-06-02T16:00:00+08:00"}}')
    assert read_checked(base % "7", EXACT) is not None
    for number in ("7.0", "7e0", "0.7E1"):
        assert read_checked(base % number, EXACT) is None
        verdict, record = _general(base % number)
        assert verdict == "valid" and type(record["order"]["promised_after_sale_days"]) is int


@pytest.mark.parametrize("schema, value, count", [
    ({"type": "object"}, {"a": "x", "b": [1, "y", {"c": "z"}]}, 6),  # open object: its values scanned
    ({"type": "object"}, {"a": [1, {"b": 0.5}]}, -1),  # a float deep inside an unchecked value
    ({"type": "object", "properties": {"a": True}}, {"a": {"b": "c"}}, 3),
    ({"type": "object", "additionalProperties": {"type": "string"}}, {"a": "x", "b": "y"}, 4),
    ({"type": "object", "additionalProperties": {"type": "number"}}, {"a": 1.5}, -1),
    ({"type": "array"}, ["a", 1, {"b": "c"}], 3),
    ({"type": "array", "items": {"type": ["string", "integer"]}}, ["a", 1, "b"], 2),
    ({"type": "array", "items": {"type": "integer"}}, [1, 2.0], -1),  # valid, but not read exactly
    ({"enum": ["a", 1, None]}, "a", 1),
    ({"enum": ["a", 1, None]}, 1.0, -1),
    ({"minLength": 2}, 0.5, -1),  # untyped: any JSON value, scanned
    ({"minLength": 2}, "ab", 1),
    ({"minLength": 2}, "a", -1),
    ({"type": ["string", "null"], "minLength": 1}, None, 0),
    ({"type": "object", "required": ["a"]}, {"b": "x"}, -1),
])
def test_exact_mode_one_by_one(schema: dict[str, Any], value: Any, count: int) -> None:
    check = compile_case_schema(schema, exact=True)
    assert check is not None
    assert check(value) == count
    plain = compile_case_schema(schema)
    assert plain is not None
    if count >= 0:  # taken: valid by the plain check too, and counted as the reader counts
        assert plain(value) is True and count == _scan(value)


def test_an_untyped_schema_with_properties_has_no_exact_check() -> None:
    # counted once by the object's lines and once by the scan an untyped value needs: not generated
    assert compile_case_schema({"properties": {"a": {"type": "string"}}}, exact=True) is None
    assert compile_case_schema({"properties": {"a": {"type": "string"}}}) is not None


def test_the_batch_worker_reads_a_plain_record_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = batch.parse_record

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(batch, "parse_record", counted)
    proc = Processor(BatchOptions())
    line = (ROOT / "examples").joinpath("after_sale_cases.jsonl")
    texts = [t for t in line.read_bytes().splitlines() if t.strip()] if line.exists() else []
    texts = texts or [_text(c).encode() for c in CASES if c["kind"] == "after_sale"][:5]
    fraction = texts[0].replace(b'"case_id":', b'"extra_days": 1.5, "case_id":', 1)
    results = [proc.process(("f", i, t)) for i, t in enumerate([*texts, fraction], 1)]
    assert len(calls) == 1 and calls[0][2] == len(texts) + 1  # only the record with a fraction
    assert all(r.error is None for r in results[:-1])
    assert results[-1].error is not None  # extra_days is not in the schema: refused, as before


@pytest.mark.parametrize("text, path", [
    ('{"a.b": {"x": 1, "x": 2}}', '$["a.b"]'),
    ('{"a": {"b c": [{"x": 1, "x": 2}]}}', '$.a["b c"][0]'),
    ('{"数据": {"x": 1, "x": 2}}', "$.数据"),
    ('{"": {"x": 1, "x": 2}}', '$[""]'),
])
def test_a_duplicate_key_is_located_by_a_path_that_names_one_place(text: str, path: str) -> None:
    # (a red-team finding: a duplicate inside the key "a.b" was reported at $.a.b, which names a nested key)
    error = parse_record(text, "f", 1)
    assert isinstance(error, CaseError) and error.json_path == path


def test_a_schema_error_path_quotes_an_odd_key() -> None:
    from policy_eval.rulebook.validation import _json_path

    assert _json_path(["data", "a.b", 0, "x"]) == '$["a.b"][0].x'
    assert _json_path(["data", "order", "id"]) == "$.order.id"

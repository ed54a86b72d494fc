"""The compiled case-schema check (rulebook.schemacompile) against the reference validator.

Every bundled case schema compiles; on every bundled example and golden case, and on Hypothesis mutations
of them, the compiled answer equals ``jsonschema``'s ``is_valid`` with the project's format checker (the
validator validation.py words its messages with), and a case the compiled check accepts is also accepted by
fastjsonschema (so no record that was rejected before is accepted now). CaseValidator's answers, messages
and JSON paths are the same with and without the compiled check.
"""

from __future__ import annotations

import ast
import copy
import datetime as _dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from goldencorpus import golden_tests
from hypothesis import event, given
from hypothesis import strategies as st

from policy_eval.rulebook.cases import parse_record
from policy_eval.rulebook.casevalues import plain
from policy_eval.rulebook.loader import accept_null, load_case_schemas, load_json
from policy_eval.rulebook.schemacompile import MAX_DEPTH, compile_case_schema, generate
from policy_eval.rulebook.schemaregex import RE2Validator
from policy_eval.rulebook.validation import _REFERENCE_FORMATS, CaseValidator, _compile_fast

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = load_case_schemas(ROOT / "schemas")
TEST_SCHEMAS = {
    f"{path.parent.parent.parent.name}/{path.name}": accept_null(load_json(str(path)))
    for path in [*ROOT.glob("tests/data/*/schemas/cases/*.schema.json"), *ROOT.glob("schemas/records/*.schema.json"),
                 ROOT / "tests/conformance/case.schema.json"]
}


def _examples() -> list[dict[str, Any]]:
    out = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        out.append(parse_record(path.read_bytes(), str(path), 1))
    for path in sorted((ROOT / "examples").glob("*.jsonl")):
        out += [parse_record(line, str(path), i) for i, line in enumerate(path.read_bytes().splitlines(), 1)
                if line.strip()]
    out += [t.case for t in golden_tests()]
    return [c for c in out if isinstance(c, dict) and c.get("kind") in SCHEMAS]


CASES = _examples()
COMPILED = {kind: compile_case_schema(schema) for kind, schema in SCHEMAS.items()}
FAST = {kind: _compile_fast(schema) for kind, schema in SCHEMAS.items()}
REFERENCE = {kind: RE2Validator(schema, format_checker=_REFERENCE_FORMATS) for kind, schema in SCHEMAS.items()}


def _reference_valid(validator: Any, case: Any) -> bool:
    try:
        return bool(validator.is_valid(case))
    except ArithmeticError:  # a NaN met by a bound: validation.py words it; never valid
        return False


def _fast_valid(fast: Any, case: Any) -> bool:
    try:
        fast(case)
    except (fastjsonschema.JsonSchemaValueException, ArithmeticError):
        return False
    return True


def _agree(kind: str, case: Any) -> bool:
    answer = COMPILED[kind](case)  # type: ignore[misc]
    assert answer is _reference_valid(REFERENCE[kind], case), json.dumps(case, default=str, ensure_ascii=False)
    if answer:
        assert _fast_valid(FAST[kind], case)
    return answer


def test_every_bundled_schema_compiles() -> None:
    assert set(COMPILED) >= {"after_sale", "appeal", "chat", "shipment", "store_metrics", "warranty_claim"}
    assert all(check is not None for check in COMPILED.values())
    assert all(compile_case_schema(schema) is not None for schema in TEST_SCHEMAS.values())


def test_every_bundled_case_agrees_with_the_reference() -> None:
    assert len(CASES) >= 150
    assert {c["kind"] for c in CASES} == set(SCHEMAS)
    verdicts = [_agree(c["kind"], c) for c in CASES]
    assert sum(verdicts) >= 150  # the golden corpus is valid: a check that says False to all would pass


# ---------------------------------------------------------------- mutations (Hypothesis)

_TIMESTAMPS = [
    "2023-06-02T16:00:00+08:00", "2023-06-02T16:00:00Z", "2023-06-02t16:00:00z", "2023-06-02T16:00:00.123456+08:00",
    "2023-06-02T16:00:00", "2016-12-31T23:59:60Z", "2017-01-01T07:59:60+08:00", "2016-12-31T23:59:60+08:00",
    "2023-06-02 16:00:00+08:00", "2023-06-02T16:00+08:00", "2023-06-02", "20230602T160000+0800",
    "2023-06-02T16:00:00+0800", "2023-02-30T16:00:00+08:00", "2023-06-02T16:00:00.1234567+08:00",
    "2023-06-02T16:00:00.1234560+08:00", "2023-06-02T16:00:00+24:00", "２０２３-06-02T16:00:00+08:00",
]
_VALUES = [
    None, True, False, 0, 1, -1, 7, 2**70, Decimal("1.0"), Decimal("1"), Decimal("-0.5"), Decimal("0.00"),
    Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), 1.0, 0.5, float("nan"), "", "x", "59.90",
    "59.90 CNY", "59.9", "059", "59.901", " 59.90", "59.90\n", "59.90\udc80", "\udc80", "2023-06-02", "2023-13-01",
    [], ["x"], [None], [{}], {}, {"x": 1}, *_TIMESTAMPS,
]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _paths(sub, (*at, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            out += _paths(sub, (*at, i))
    return out


def _enum_values(schema: Any) -> list[Any]:
    out: list[Any] = []
    if isinstance(schema, dict):
        for key, sub in schema.items():
            if key == "enum" and isinstance(sub, list):
                out += sub
            elif key == "const":
                out.append(sub)
            else:
                out += _enum_values(sub)
    elif isinstance(schema, list):
        for sub in schema:
            out += _enum_values(sub)
    return out


_ENUMS = sorted({v for s in SCHEMAS.values() for v in _enum_values(s) if isinstance(v, str)})


@st.composite
def _mutated(draw: Any) -> dict[str, Any]:
    case = copy.deepcopy(draw(st.sampled_from(CASES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(case)))
        parent: Any = case
        for part in path[:-1]:
            parent = parent[part]
        target = parent[path[-1]] if path else case
        action = draw(st.sampled_from(["drop", "replace", "replace", "enum", "extra", "extra_at_target"]))
        if action == "drop" and path and isinstance(parent, dict):
            del parent[path[-1]]
        elif action in ("replace", "enum") and path:
            values = _VALUES if action == "replace" else [*_ENUMS, "Refund_Only"]
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(values)))
        elif action == "extra" and isinstance(parent, dict):
            key = draw(st.sampled_from(["extra", "__proto__", "kind", "id"]))
            parent[key] = copy.deepcopy(draw(st.sampled_from(_VALUES)))
        elif action == "extra_at_target" and isinstance(target, dict):
            target[draw(st.sampled_from(["extra", "note", "at"]))] = copy.deepcopy(draw(st.sampled_from(_VALUES)))
    return case


@given(_mutated())
def test_mutated_cases_agree_with_the_reference(case: dict[str, Any]) -> None:
    kind = case.get("kind")
    if isinstance(kind, str) and kind in SCHEMAS:
        event(f"valid: {_agree(kind, case)}")
    else:  # the kind itself was mutated: the const on kind refuses it under every schema
        assert not any(check(case) for check in COMPILED.values())  # type: ignore[misc]


@given(_mutated())
def test_case_validator_answers_exactly_as_without_the_compiled_check(case: dict[str, Any]) -> None:
    assert _messages(_WITH, case) == _messages(_WITHOUT, case)


SCREENED = {kind: compile_case_schema(schema, screen=True) for kind, schema in SCHEMAS.items()}


def _screened_agrees(case: Any) -> bool:
    """The screened check (one call: the API's) says what the check then casevalues.plain say, for every kind."""
    answers = [SCREENED[kind](case) for kind in SCHEMAS]  # type: ignore[misc]
    assert answers == [bool(COMPILED[kind](case) and plain(case)) for kind in SCHEMAS], \
        json.dumps(case, default=repr, ensure_ascii=False)
    return any(answers)


@given(_mutated())
def test_the_screened_check_is_the_check_and_plain(case: dict[str, Any]) -> None:
    event(f"taken: {_screened_agrees(case)}")


_OPEN = {"type": "object", "required": ["kind"],
         "properties": {"kind": {"const": "x"}, "n": {"type": "integer"}, "s": {"type": "string"}}}


@pytest.mark.parametrize("value, plain_json", [
    (2**64, False), (-(2**63) - 1, False), ("\udc80", False), ({1: "x"}, False), ({"a", "b"}, False),
    (object(), False), (_dt.datetime(2024, 1, 1), False), (b"x", False), ([{"x": [2**70]}], False),
    ((1, 2), True), (Decimal("1.5"), True), (2**64 - 1, True), (-(2**63), True), (None, True), ("文本", True)])
def test_the_screened_check_refuses_what_json_cannot_hold(value: Any, plain_json: bool) -> None:
    """Under a key the schema leaves open, and (an integer, a text) under one it types: the screened check takes
    the case exactly where the plain check does and orjson can write it."""
    check, screened = compile_case_schema(_OPEN), compile_case_schema(_OPEN, screen=True)
    assert check is not None and screened is not None
    cases = [{"kind": "x", "extra": value}]
    if type(value) is int:
        cases.append({"kind": "x", "n": value})
    if type(value) is str:
        cases.append({"kind": "x", "s": value})
    for case in cases:
        assert check(case)
        assert screened(case) is plain_json is plain(case)


_WITH = CaseValidator(SCHEMAS)
_WITHOUT = CaseValidator(SCHEMAS)
_WITHOUT._compiled = dict.fromkeys(SCHEMAS)  # type: ignore[assignment]


def _messages(validator: CaseValidator, case: Any) -> Any:
    error = validator.check(case, "src", 3)
    return None if error is None else (str(error), error.json_path, error.record, error.source)


# ---------------------------------------------------------------- the subset's semantics, one by one

def _one(schema: dict[str, Any], value: Any) -> tuple[bool, bool]:
    check = compile_case_schema(schema)
    assert check is not None
    return check(value), _reference_valid(RE2Validator(schema, format_checker=_REFERENCE_FORMATS), value)


@pytest.mark.parametrize("value, valid", [
    (1, True), (0, True), (-3, True), (2**80, True), (True, False), (False, False), (None, False),
    (Decimal("1.0"), False), (Decimal("1"), False), (Decimal("1.5"), False), (1.0, True), (1.5, False),
    ("1", False), ([1], False),
])
def test_integer_is_an_int_never_a_bool_nor_a_decimal(value: Any, valid: bool) -> None:
    assert _one({"type": "integer", "minimum": 0} if valid and value != -3 else {"type": "integer"}, value) == (
        valid, valid)


@pytest.mark.parametrize("value", [1, Decimal("1.0"), Decimal("-0.5"), Decimal("0"), Decimal("-0"), 0, -1, 0.0,
                                   True, "0", None, Decimal("Infinity"), Decimal("-Infinity")])
@pytest.mark.parametrize("schema", [
    {"type": "number", "minimum": 0}, {"type": "number", "maximum": Decimal("0.5")},
    {"type": ["number", "null"], "exclusiveMinimum": 0}, {"exclusiveMaximum": 1}, {"minimum": 1},
    {"type": ["integer", "string"], "minimum": 0, "minLength": 2},
])
def test_number_bounds_as_the_reference(schema: dict[str, Any], value: Any) -> None:
    compiled, reference = _one(schema, value)
    assert compiled is reference


def test_a_nan_met_by_a_bound_is_not_valid_and_is_worded_by_the_existing_path() -> None:
    assert _one({"type": "number", "minimum": 0}, Decimal("NaN"))[0] is False
    assert _one({"type": "number"}, Decimal("NaN")) == (True, True)  # no bound: the reference accepts it too
    case = copy.deepcopy(next(c for c in CASES if c["kind"] == "after_sale" and "promised_after_sale_days"
                              in c.get("order", {})))
    case["order"]["promised_after_sale_days"] = Decimal("NaN")
    assert COMPILED["after_sale"](case) is False  # type: ignore[misc]
    error = _WITH.check(case, "s", 1)
    assert error is not None and "NaN" in str(error)


@pytest.mark.parametrize("value", ["", "a", "ab", "é", "😀", "😀😀", "\udc80", None, 3])
def test_min_length_counts_code_points(value: Any) -> None:
    compiled, reference = _one({"type": ["string", "null"], "minLength": 2, "maxLength": 3}, value)
    assert compiled is reference


@pytest.mark.parametrize("value", _TIMESTAMPS + ["2023-06-02", "2023-6-2", "", 5, None])
def test_formats_use_the_project_readers(value: Any) -> None:
    assert _one({"format": "date-time"}, value)[0] is _one({"format": "date-time"}, value)[1]
    assert _one({"type": ["string", "null"], "format": "date"}, value)[0] is _one(
        {"type": ["string", "null"], "format": "date"}, value)[1]


def test_leap_second_only_at_midnight_utc() -> None:
    schema = {"type": "string", "format": "date-time"}
    assert _one(schema, "2016-12-31T23:59:60Z") == (True, True)
    assert _one(schema, "2017-01-01T07:59:60+08:00") == (True, True)
    assert _one(schema, "2016-12-31T23:59:60+08:00") == (False, False)


@pytest.mark.parametrize("value", ["59.90", "59.90 CNY", "x59.90", "59.901", "59.90\n", "\udc80", "", 59])
def test_pattern_searches_on_re2(value: Any) -> None:
    schema = {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?( [A-Z]{3})?$"}
    assert _one(schema, value)[0] is _one(schema, value)[1]
    assert _one({"pattern": "b+"}, "aabba") == (True, True)  # search, not match


@pytest.mark.parametrize("value", ["a", "b", None, True, 1, Decimal("1"), 1.0, "A", ["a"], {"a": 1}, False, 0])
@pytest.mark.parametrize("schema", [
    {"enum": ["a", None]}, {"type": ["string", "null"], "enum": ["a", "b", None]}, {"const": "a"},
    {"enum": [1, True]}, {"enum": [0, "a"]}, {"const": None}, {"const": False},
])
def test_enum_and_const(schema: dict[str, Any], value: Any) -> None:
    compiled, reference = _one(schema, value)
    if compiled:
        assert reference
    # where jsonschema's equality says equal across types (Decimal("1") == 1, 1.0 == 1) the compiled check
    # says False (fastjsonschema refuses those too): the slow path answers
    elif not (isinstance(value, (Decimal, float)) and reference):
        assert not reference


@pytest.mark.parametrize("value", [
    {"a": "x"}, {"a": "x", "b": 1}, {}, {"b": 1}, {"a": None}, {"a": "x", "c": []}, {"a": "x", "c": [1]},
    {"a": "x", "c": ["y"]}, {"a": "x", "d": {"e": "f"}}, {"a": "x", "d": {"e": 1}}, [], None, "a",
])
def test_objects_and_arrays(value: Any) -> None:
    schema = {"type": "object", "required": ["a"], "additionalProperties": {"type": "object",
                                                                            "additionalProperties": False,
                                                                            "properties": {"e": {"type": "string"}}},
              "properties": {"a": {"type": ["string", "null"]}, "b": {"type": "integer"},
                             "c": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}}}}
    assert _one(schema, value)[0] is _one(schema, value)[1]


def test_boolean_subschemas() -> None:
    schema = {"properties": {"yes": True, "no": False}}
    assert _one(schema, {"yes": 1}) == (True, True)
    assert _one(schema, {"no": 1}) == (False, False)


def test_a_subclass_of_a_json_type_takes_the_slow_path() -> None:
    class Text(str):
        pass

    check = compile_case_schema({"type": "object", "properties": {"a": {"minLength": 5}}})
    assert check is not None and check({"a": "long enough"}) and not check({"a": Text("long enough")})


@pytest.mark.parametrize("schema", [
    {"$ref": "#/$defs/x"}, {"oneOf": [{"type": "string"}]}, {"anyOf": []}, {"allOf": []}, {"not": {}},
    {"if": {}, "then": {}}, {"$defs": {}}, {"patternProperties": {"a": {}}}, {"format": "email"},
    {"items": [{"type": "string"}]}, {"prefixItems": []}, {"enum": [1.5]}, {"enum": [{"a": 1}]}, {"const": [1]},
    {"type": "strnig"}, {"type": []}, {"minimum": True}, {"exclusiveMinimum": True}, {"minLength": -1},
    {"minLength": 1.0}, {"properties": {"a": {"uniqueItems": True}}}, {"required": "a"}, {"properties": []},
    {"additionalProperties": {"dependentRequired": {}}}, {"pattern": "(?=a)"}, {"minimum": Decimal("NaN")},
    {"unevaluatedProperties": False}, {"contains": {}}, 5, None,
])
def test_keywords_outside_the_subset_are_refused(schema: Any) -> None:
    assert compile_case_schema(schema) is None


def test_annotations_do_nothing() -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "title": "t",
              "description": "d", "examples": [1], "default": 2, "$comment": "c", "x-policy-type": "money",
              "properties": {"a": {"description": "only words", "x-anything": {"$ref": "#"}}}}
    check = compile_case_schema(schema)
    assert check is not None and check({"a": [1]}) and check(5)


HOSTILE = ["'", '"', "'''", '"""', "\\", "\n", "\r\n", "a'\n__import__('os').system('touch /tmp/pwned')\n#",
           "\"); __import__('os')._exit(3); (\"", "{0}", "{v}", "\x00", "\udc80", "x1", "case", "_k0", "return True"]


def test_hostile_property_names_and_values_cannot_inject_code(tmp_path: Path) -> None:
    props = {name: {"type": "string", "enum": [name], "minLength": 1} for name in HOSTILE}
    schema = {"type": "object", "required": HOSTILE, "additionalProperties": False, "properties": props}
    generated = generate(schema)
    assert generated is not None
    tree = ast.parse(generated[0])  # every name a template's, every call a template's, names only as literals
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    allowed = (r"case|[xk][0-9]+|_k[0-9]+|type|len|str|int|bool|float|dict|list|_timestamps|_parse_timestamp|_parse_date|Decimal|"
               r"KeyError|ValueError|ArithmeticError|RecursionError")
    assert all(re.fullmatch(allowed, n) for n in names), names
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert all(isinstance(f, ast.Name) or (isinstance(f, ast.Attribute) and f.attr in {"keys", "items", "is_integer"})
               for f in calls)
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert literals == set(HOSTILE)
    check = compile_case_schema(schema)
    assert check is not None
    good = {name: name for name in HOSTILE}
    assert check(good) is True
    assert check({**good, "x1": "other"}) is False  # each property checked against its own enum
    assert check({k: v for k, v in good.items() if k != "\n"}) is False
    assert check({**good, "extra": "x"}) is False
    assert not Path("/tmp/pwned").exists()


def test_source_size_and_depth_are_capped() -> None:
    wide = {"type": "object", "properties": {f"p{i}": {"type": "string", "minLength": 1} for i in range(20000)}}
    assert compile_case_schema(wide) is None
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_DEPTH + 2):
        deep = {"type": "object", "properties": {"a": deep}}
    assert compile_case_schema(deep) is None
    loops: dict[str, Any] = {"type": "string"}
    for _ in range(18):
        loops = {"type": "array", "items": loops}
    assert compile_case_schema(loops) is None  # Python allows 20 nested blocks: refused before that


def test_deeply_nested_data_does_not_crash() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {}}}}
    check = compile_case_schema(schema)
    assert check is not None
    assert check({"a": deep}) is False
    assert check({"b": deep, "c": {"d": deep}}) is True
    case = copy.deepcopy(next(c for c in CASES if c["kind"] == "after_sale"))
    case["order"]["goods_title"] = deep
    assert COMPILED["after_sale"](case) is False  # type: ignore[misc]


# ---------------------------------------------------------------- the generated code's shortcuts (issue 14)

def _without(case: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(case)
    parent: Any = out
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return out


def test_every_property_dropped_in_turn_agrees_and_is_worded_as_before() -> None:
    """A required property with checks of its own is not tested with ``in``: reading it raises KeyError,
    which the check answers False. Dropping each key of each bundled case, one at a time, everywhere."""
    seen = {True: 0, False: 0}
    for case in CASES:
        for path in _paths(case):
            if not path or not isinstance(path[-1], str):
                continue
            dropped = _without(case, path)
            seen[_agree(case["kind"], dropped)] += 1
            assert _messages(_WITH, dropped) == _messages(_WITHOUT, dropped), path
    assert seen[True] > 100 and seen[False] > 100  # optional and required properties both met


@pytest.mark.parametrize("schema, value, valid", [
    ({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}, {}, False),
    ({"type": "object", "required": ["a"], "properties": {"a": {}}}, {}, False),  # no checks: tested with in
    ({"type": "object", "required": ["a"], "properties": {"a": {}}}, {"a": None}, True),
    ({"type": "object", "required": ["a"]}, {}, False),  # not among the properties
    ({"type": "object", "required": ["a"]}, {"a": 1}, True),
    ({"type": "object", "required": ["a", "a"], "properties": {"a": {"type": "integer"}}}, {"a": 1}, True),
    ({"type": "array", "items": {"type": "object", "required": ["k"], "properties": {"k": {"const": 1}}}},
     [{"k": 1}, {}], False),
    ({"type": "object", "additionalProperties": {"type": "object", "required": ["k"],
                                                  "properties": {"k": {"type": "integer"}}}},
     {"x": {"k": 1}, "y": {"j": 1}}, False),
    ({"type": "string", "minLength": 1}, "", False),  # a minimum of 1 is written `not v`
    ({"type": "string", "minLength": 1}, "x", True),
    ({"type": ["string", "null"], "minLength": 1}, None, True),
    ({"minLength": 1}, "", False),
    ({"minLength": 1}, 0, True),  # not a string: the keyword does not apply
    ({"minLength": 1}, [], True),
    ({"type": "array", "minItems": 1}, [], False),
    ({"type": "array", "minItems": 1}, [0], True),
    ({"minItems": 1}, "", True),
    ({"minItems": 1, "maxItems": 1}, [1, 2], False),
    ({"minLength": 0}, "", True),
])
def test_required_and_minimum_one_shortcuts(schema: dict[str, Any], value: Any, valid: bool) -> None:
    assert _one(schema, value) == (valid, valid)

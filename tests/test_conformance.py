"""Conformance suite of the condition language (docs/language.md).

Every row of tests/conformance/*.yaml is one test of ``test_row``. Expected
values come from the specification, never from running the engine: when a row
fails, either the row misreads the spec (fix the row) or the engine disagrees
with the spec (fix the engine).

Row format (see tests/conformance/README.md)::

    - id: arith/decimal_exact          # unique, "<topic>/<name>"
      expr: 0.1 + 0.2 == 0.3           # the expression text
      case: {order: {}}                # optional case record (default {})
      params: {limit: "48h"}           # optional parameters, literal-expression text
      expect: "true"                   # canonical rendering (lang.render) ...
      type: bool                       # ... and optional static type name
      error: {kind: type, column: 1, message: "..."}   # ... or a load-time error
"""

from __future__ import annotations

import json
import pathlib
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
import yaml

from policy_eval import expression as lang
from policy_eval.errors import PolicyError, PolicyNameError, PolicySyntaxError, PolicyTypeError

CONFORMANCE_DIR = pathlib.Path(__file__).parent / "conformance"
SCHEMA_PATH = CONFORMANCE_DIR / "case.schema.json"

ERROR_CLASSES: dict[str, type[PolicyError]] = {
    "syntax": PolicySyntaxError,
    "type": PolicyTypeError,
    "name": PolicyNameError,
}
ROW_KEYS = {"id", "expr", "case", "params", "expect", "type", "error", "note"}
ERROR_KEYS = {"kind", "column", "message"}


class _RowLoader(yaml.SafeLoader):
    """YAML loader for rows: JSON numbers are exact (Decimal, as the spec reads
    case JSON) and nothing is implicitly turned into a date or datetime."""


_RowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = loader.construct_scalar(node)  # type: ignore[arg-type]
    return Decimal(str(text).replace("_", ""))


_RowLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _load_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(CONFORMANCE_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_RowLoader)  # noqa: S506 - safe loader subclass
        assert isinstance(data, list), f"{path.name}: expected a list of rows"
        for row in data:
            row = dict(row)
            row["_file"] = path.name
            rows.append(row)
    return rows


ROWS = _load_rows()
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _row_param(row: dict[str, Any]) -> Any:
    return pytest.param(row, id=row["id"])


def _compile(row: dict[str, Any]) -> Any:
    return lang.compile_expression(row["expr"], case_schema=SCHEMA, params=row.get("params"))


@pytest.mark.parametrize("row", [_row_param(r) for r in ROWS])
def test_row(row: dict[str, Any]) -> None:
    expr = row["expr"]
    if "error" in row:
        err = row["error"]
        with pytest.raises(PolicyError) as info:
            _compile(row)
        exc = info.value
        expected_cls = ERROR_CLASSES[err["kind"]]
        assert isinstance(exc, expected_cls), (
            f"{expr!r}: expected {expected_cls.__name__}, got {type(exc).__name__}: {exc.message}"
        )
        if "column" in err:
            assert exc.column == err["column"], (
                f"{expr!r}: expected column {err['column']}, got {exc.column} ({exc.message})"
            )
        if "message" in err:
            assert err["message"].lower() in str(exc.message).lower(), (
                f"{expr!r}: message {exc.message!r} lacks {err['message']!r}"
            )
        return

    prog = _compile(row)
    if "type" in row:
        assert str(prog.type) == row["type"], f"{expr!r}: static type"
    case = row.get("case") or {}
    value = prog.evaluate(case)
    ref = prog.interpret(case)
    assert lang.render(value) == row["expect"], f"{expr!r}: compiled evaluate()"
    assert lang.render(ref) == row["expect"], f"{expr!r}: reference interpret()"
    if row["expect"] == "unknown":
        assert value is lang.UNKNOWN
        assert ref is lang.UNKNOWN


# ---------------------------------------------------------------- the rows themselves


def _strip_nulls(value: Any) -> Any:
    """null in a case means "absent" (docs/language.md); validate without it."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def test_rows_are_well_formed() -> None:
    seen: set[str] = set()
    for row in ROWS:
        rid = row.get("id")
        where = f"{row['_file']}: {rid!r}"
        assert isinstance(rid, str) and rid, where
        assert rid not in seen, f"{where}: duplicate id"
        seen.add(rid)
        assert set(row) - {"_file"} <= ROW_KEYS, f"{where}: unknown keys {set(row) - ROW_KEYS - {'_file'}}"
        assert isinstance(row.get("expr"), str), f"{where}: expr must be a string"
        assert ("expect" in row) != ("error" in row), f"{where}: exactly one of expect / error"
        if "expect" in row:
            assert isinstance(row["expect"], str), f"{where}: expect must be a string"
        if "type" in row:
            assert isinstance(row["type"], str) and "error" not in row, where
        if "error" in row:
            err = row["error"]
            assert set(err) <= ERROR_KEYS and err.get("kind") in ERROR_CLASSES, where
            if "column" in err:
                assert isinstance(err["column"], int) and 1 <= err["column"] <= len(row["expr"]) + 1, where
        if "params" in row:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in row["params"].items()), (
                f"{where}: params are literal-expression text"
            )
            if "error" not in row:
                assert not set(row["params"]) & set(SCHEMA["properties"]), (
                    f"{where}: param hides a case field"
                )
    assert len(ROWS) >= 220


def test_cases_validate_against_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for row in ROWS:
        if "case" in row:
            errors = [e.message for e in validator.iter_errors(_strip_nulls(row["case"]))]
            assert not errors, f"{row['id']}: {errors}"

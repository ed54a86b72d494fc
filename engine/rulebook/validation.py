"""Validate case records against their kind's JSON Schema, fast.

A valid record is recognised by the schema's own compiled check
(:mod:`policy_eval.rulebook.schemacompile`: a few microseconds, only a yes or no).
Otherwise, or for a schema outside that check's keyword subset, the schemas are
compiled once to Python code by ``fastjsonschema`` (tens of microseconds a
record instead of about a millisecond with a tree-walking validator).
When a record fails, the reference ``jsonschema`` validator re-checks it to
report every error with its JSON path (``$.order.received_at``), in document order, the first as the
CaseError's own message and path, with hints for a misspelt key or a number written for money
(:func:`_case_error`); that slow path only runs for bad records: a valid record never reaches it.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import json
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import fastjsonschema
import jsonschema

from policy_eval.errors import CaseError
from policy_eval.lang.timestamps import read_timestamp
from policy_eval.lang.values import ValueParseError, parse_date
from policy_eval.rulebook.cases import _non_finite, _not_object, _plain
from policy_eval.rulebook.jsonrecord import member
from policy_eval.rulebook.schemacompile import compile_case_schema
from policy_eval.rulebook.schemaregex import RE2Validator, use_re2

__all__ = ["CaseValidator"]


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        read_timestamp(value)  # the reader rules use (RFC 3339, leap second included), memoised for them
    except ValueParseError:
        return False
    return True


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parse_date(value)
    except ValueParseError:
        return False
    return True


_FORMATS = {"date-time": _is_datetime, "date": _is_date}
_REFERENCE_FORMATS = jsonschema.FormatChecker(formats=())
_REFERENCE_FORMATS.checks("date-time")(_is_datetime)
_REFERENCE_FORMATS.checks("date")(_is_date)


def _compile_fast(schema: dict[str, Any]) -> Any:
    draft7 = copy.deepcopy(schema)
    draft7["$schema"] = "http://json-schema.org/draft-07/schema#"
    try:
        return use_re2(fastjsonschema.compile(draft7, formats=_FORMATS))  # patterns on RE2, not re
    except (fastjsonschema.JsonSchemaDefinitionException, ValueError, RecursionError, re.error):
        return None  # the reference validator alone will do


def _json_path(parts: list[Any]) -> str:
    out = "$"
    for p in parts[1:]:  # parts[0] is "data"
        out += f"[{p}]" if isinstance(p, int) else member(str(p))
    return out


class CaseValidator:
    """Checks ``kind`` and the kind's schema; returns a located CaseError or None."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        self._schemas = schemas
        # checks only whether a case is valid (schemacompile's subset); None: fastjsonschema decides alone
        self._compiled = {kind: compile_case_schema(schema, f"{kind} case schema") for kind, schema in schemas.items()}
        # fastjsonschema's validators, which word what the compiled check refuses: compiled on first need (most
        # runs meet no invalid case; compiling them all cost a tenth of a second at every start)
        self._fast: dict[str, Any] = {}
        self._reference: dict[str, jsonschema.protocols.Validator] = {}
        self._exact: dict[str, Any] | None = None
        self._screened: dict[str, Any] = {}

    def compiled(self, kind: str) -> Any:
        """The compiled yes/no check of ``kind``'s schema (schemacompile), or None: True means :meth:`check`
        returns None for the case; False is not yet an error (:meth:`check` finds and words it)."""
        return self._compiled.get(kind)

    def screened(self, kind: str) -> Any:
        """:meth:`compiled`'s check that also says False where orjson cannot write the case (casevalues.plain, in
        the same call): for a case handed over as Python values. Made on first use."""
        if kind not in self._screened:
            schema = self._schemas.get(kind)
            self._screened[kind] = None if schema is None else \
                compile_case_schema(schema, f"{kind} case schema", screen=True)
        return self._screened[kind]

    def exact_checks(self) -> dict[str, Any]:
        """Each kind's exact check (``compile_case_schema(..., exact=True)``), for
        :func:`~policy_eval.rulebook.jsonrecord.read_checked`: a record it takes is valid, so :meth:`check` would
        return None for it. Made on first use; a kind outside the compiled subset has none."""
        if self._exact is None:
            self._exact = {kind: check for kind, schema in self._schemas.items()
                           if (check := compile_case_schema(schema, f"{kind} case schema", exact=True)) is not None}
        return self._exact

    def fast(self, kind: str) -> Any:
        """fastjsonschema's validator of ``kind``'s schema (None: outside what it compiles), made on first use."""
        if kind not in self._fast:
            self._fast[kind] = _compile_fast(self._schemas[kind])
        return self._fast[kind]

    def _ref(self, kind: str) -> jsonschema.protocols.Validator:
        if kind not in self._reference:
            self._reference[kind] = RE2Validator(self._schemas[kind], format_checker=_REFERENCE_FORMATS)
        return self._reference[kind]

    def check(self, case: Any, source: str | None, record: int | None) -> CaseError | None:
        if not isinstance(case, dict):  # a loader plugin or an embedder may hand over anything
            return _not_object(case, source, record)
        kind = case.get("kind")
        if not isinstance(kind, str) or kind not in self._schemas:
            return CaseError(kind_problem(kind, self._schemas), source=source, record=record, json_path="$.kind")
        compiled = self._compiled[kind]
        if compiled is not None and compiled(case):
            return None
        fast = self.fast(kind)  # invalid, or outside the compiled subset: worded exactly as before
        fast_error: Any = None
        if fast is not None:
            try:
                fast(case)
                return None
            except fastjsonschema.JsonSchemaValueException as exc:
                fast_error = exc
            except RecursionError:
                return CaseError("case nested too deeply", source=source, record=record)
            except ArithmeticError:  # a Decimal NaN compared against a bound
                return _nan_error(case, source, record)
        try:
            errors = list(self._ref(kind).iter_errors(case))
            if errors and _integral(case, errors):  # 7.0 where an integer is wanted: read as 7, then again
                fast_error = None
                errors = list(self._ref(kind).iter_errors(case))
            if errors:
                return _case_error(case, errors, source, record)
        except RecursionError:
            return CaseError("case nested too deeply", source=source, record=record)
        except ArithmeticError:
            return _nan_error(case, source, record)
        if fast_error is not None:  # the two validators disagree: trust the stricter one, say where
            return CaseError(str(fast_error.message), source=source, record=record,
                             json_path=_json_path(list(fast_error.path or ["data"])))
        return None


MAX_LISTED = 10  # errors listed in a rejected record; past that, only how many more (CaseError.omitted)


def _case_error(case: dict[str, Any], errors: list[Any], source: str | None, record: int | None) -> CaseError:
    """Every schema error of ``case``, in document order (:func:`_document_order`), each worded as it would be
    alone (``best_match`` of it: an ``anyOf``'s most relevant branch), the first ``MAX_LISTED`` listed. The
    first is the CaseError's own message and path, so a record with one error reads exactly as before."""
    worded = sorted((jsonschema.exceptions.best_match([e]) for e in errors), key=_document_order(case))
    listed = [{"json_path": str(e.json_path), "message": _wording(e)} for e in worded[:MAX_LISTED]]
    return CaseError(listed[0]["message"], source=source, record=record, json_path=listed[0]["json_path"],
                     errors=listed, omitted=len(worded) - len(listed))


def _wording(error: Any) -> str:
    # every optional field also accepts null ("unknown", docs/policies.md): not worth repeating
    message = _json_terms(error).replace(", 'null'", "")
    message = message if len(message) < 300 else message[:300] + "…"
    return message + _hint(error)


def _document_order(case: dict[str, Any]) -> Any:
    """A sort key putting errors where the record has what they are about: by the position of each member on
    the error's path; an object's own errors (a required member missing, a wrong type) before its members',
    an unexpected member's error where that member is."""
    positions: dict[int, dict[Any, int]] = {}

    def position(node: dict[Any, Any], key: Any) -> int:
        if id(node) not in positions:
            positions[id(node)] = {k: i for i, k in enumerate(node)}
        return positions[id(node)].get(key, len(node))

    def key(error: Any) -> tuple[int, ...]:
        node: Any = case
        out: list[int] = []
        for part in error.absolute_path:
            if isinstance(node, dict):
                out.append(position(node, part))
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                out.append(part)
                node = node[part]
            else:
                out.append(0)
                node = None
        unexpected = _unexpected(error) if error.validator == "additionalProperties" else []
        out.append(min(position(node, k) for k in unexpected) if unexpected and isinstance(node, dict) else -1)
        return tuple(out)

    return key


def _unexpected(error: Any) -> list[str]:
    """The members of the object ``error`` is about that its schema does not name (as jsonschema finds them
    for additionalProperties; none with patternProperties, whose patterns are not tried here)."""
    schema, instance = error.schema, error.instance
    if not isinstance(schema, dict) or not isinstance(instance, dict) or schema.get("patternProperties"):
        return []
    named = schema.get("properties") or {}
    return [k for k in instance if isinstance(k, str) and k not in named]


def _hint(error: Any) -> str:
    """What the record most likely meant, appended to the error's message ("" when nothing is likely): the
    member a misspelt key stands for, or money written as a string."""
    if not isinstance(error.schema, dict):
        return ""
    if isinstance(error.instance, dict):
        return _member_hint(error)
    return _money_hint(error) or _timestamp_hint(error)


_LIKE_TIMESTAMP = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def _timestamp_hint(error: Any) -> str:
    """A date-time written another way (``2023-03-06 10:00``, ``2023/3/6``): the same instant written as the
    schema wants it, with the offset of Beijing time, which the author is asked to check."""
    if error.validator != "format" or error.validator_value != "date-time" or not isinstance(error.instance, str):
        return ""
    m = _LIKE_TIMESTAMP.fullmatch(error.instance.strip())
    if m is None:
        return "; a timestamp is written with its date, 'T', its time and its UTC offset: \"2024-03-01T10:00:00+08:00\""
    year, month, day, hour, minute, second = m.groups()
    written = f"{year}-{int(month):02d}-{int(day):02d}T{int(hour or 0):02d}:{minute or '00'}:{second or '00'}+08:00"
    try:
        datetime.datetime.fromisoformat(written)
    except ValueError:  # (month 13, 25:00: the same mistake written the other way would not help)
        return "; a timestamp is written with its date, 'T', its time and its UTC offset: \"2024-03-01T10:00:00+08:00\""
    return (f'; a timestamp is written with its date, \'T\', its time and its UTC offset: "{written}" (+08:00 is '
            "Beijing time; write the offset the time was recorded in"
            + ("; 00:00:00 stands for the time of day, which this value does not give" if hour is None else "") + ")")


def _member_hint(error: Any) -> str:
    """An unexpected member close to a member the schema names and the object lacks: "did you mean"; a
    required member missing while a close unexpected one is there: that one is probably it."""
    schema, instance = error.schema, error.instance
    if error.validator == "additionalProperties" and error.validator_value is False:
        free = [p for p in schema.get("properties") or {} if p not in instance]
        unexpected = _unexpected(error)
        meant = [(k, close[0]) for k in unexpected[:20] if (close := difflib.get_close_matches(k, free, n=1))]
        if len(meant) == 1 and len(unexpected) == 1:
            return f"; did you mean {meant[0][1]!r}?"
        return ("; did you mean " + ", ".join(f"{right!r} for {_short(wrong)!r}" for wrong, right in meant[:5])
                + "?") if meant else ""
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = next((p for p in error.validator_value if isinstance(p, str) and p not in instance
                        and error.message == f"{p!r} is a required property"), None)
        close = difflib.get_close_matches(missing, _unexpected(error), n=1) if missing is not None else []
        if close:
            return f"; the record has {_short(close[0])!r}: did you mean {missing!r}?"
    return ""


def _short(key: str) -> str:
    return key if len(key) <= 60 else key[:60] + "…"


_CENT = Decimal("0.01")


def _money_hint(error: Any) -> str:
    """A number where the schema wants money: a string (``x-policy-type: money``, or a pattern taking
    "1.00" and "1.00 CNY"); the number written that way when it has at most two decimals."""
    schema, value = error.schema, error.instance
    wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    if error.validator != "type" or "string" not in wanted or isinstance(value, bool) \
            or not isinstance(value, (int, float, Decimal)):
        return ""
    pattern = schema.get("pattern")
    if schema.get("x-policy-type") != "money" and not (_takes(pattern, "1.00") and _takes(pattern, "1.00 CNY")):
        return ""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        written: str | None = str(amount.quantize(_CENT)) if amount == amount.quantize(_CENT) else None
    except ArithmeticError:  # NaN, infinite, or too many digits to write with two decimals
        written = None
    if written is not None and (pattern is None or _takes(pattern, written)):
        return f'; money is written as a string: "{written}"'
    return '; money is written as a string with two decimals, e.g. "59.90"'


def _takes(pattern: Any, text: str) -> bool:
    try:
        return isinstance(pattern, str) and re.search(pattern, text) is not None
    except re.error:
        return False


def _integral(case: dict[str, Any], errors: list[Any]) -> bool:
    """Read as integers the numbers written with a fraction or an exponent (7.0, 7e0, 0.7E1: exact
    ``Decimal``s) that the schema wants as integers and whose value is one, as JSON Schema 2020-12's
    "integer" counts them, within 64 bits as orjson reads integers; whether there were any. The containers on the way are copied first (once each):
    the case's nested objects may be the caller's."""
    ours: set[int] = {id(case)}
    changed = False
    for error in errors:
        value = error.instance
        if error.validator != "type" or "integer" not in (error.validator_value if isinstance(
                error.validator_value, list) else [error.validator_value]) or type(value) is not Decimal \
                or not value.is_finite() or value.adjusted() > 18 or value != value.to_integral_value() \
                or not error.absolute_path:  # (past 64 bits, 1e400 say, it stays a number that is no integer)
            continue
        node: Any = case
        path = list(error.absolute_path)
        for key in path[:-1]:
            child = node[key]
            if id(child) not in ours:
                child = dict(child) if isinstance(child, dict) else list(child)
                ours.add(id(child))
                node[key] = child
            node = child
        node[path[-1]] = int(value)
        changed = True
    return changed


def _json_terms(error: Any) -> str:
    """jsonschema's message with the record's value (and an enum's or const's allowed values) written as JSON,
    as the record was (``[false, null]``, ``{"a": true}``, ``"x" is not one of ["a", "b"]``), not as Python
    reprs; type names stay as jsonschema quotes them (``'string'``)."""
    message = str(error.message)
    values = [error.instance]
    if error.validator in ("enum", "const"):
        values.append(error.validator_value)
    for value in values:
        try:
            python, written = repr(value), _json(value)
        except (RecursionError, ValueError):  # nested too deeply; an int too long to print
            continue
        if python != written:
            message = message.replace(python, written, 1)
    return _plain(message)  # what is left, e.g. a Decimal in a bound: Decimal('1.5') → 1.5


def _json(value: Any) -> str:
    """``value`` (decoded from JSON: exact numbers are Decimal) written back as JSON."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json(str(k))}: {_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # not JSON data (an embedder's object): as jsonschema said it
        return repr(value)


def _nan_error(case: Any, source: str | None, record: int | None) -> CaseError:
    return CaseError("not a number (NaN); case records hold finite numbers only", source=source,
                     record=record, json_path=_non_finite(case) or "$")


def kind_problem(kind: Any, known: Iterable[str]) -> str:
    """What is wrong with a case's ``kind`` that names no case schema: missing, not text, or unknown (with the
    known kind it is closest to)."""
    names = sorted(known)
    listed = f"(known: {', '.join(names)})"
    if kind is None:
        return f"a case record needs its 'kind' {listed}"
    if not isinstance(kind, str):
        return f"the case kind is text, not {json.dumps(kind, default=str)[:40]} {listed}"
    close = difflib.get_close_matches(kind, names, n=1)
    return f"unknown case kind {json.dumps(kind, ensure_ascii=False)[:80]}" + (
        f"; did you mean {close[0]!r}?" if close else f" {listed}")

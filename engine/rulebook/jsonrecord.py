"""One case record from JSON text, read exactly.

Input: the bytes or text of one JSON value. Output: the object as plain Python data (numbers as ``int`` or
``Decimal``, never binary floats) or a :class:`~policy_eval.errors.CaseError` saying what is wrong and where.
A key written twice in one object is an error naming the key and its JSON path: JSON readers differ on
which value wins (orjson and json keep the last, others the first), so a record must not depend on it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson

from policy_eval.errors import CaseError
from policy_eval.rulebook.jsonwalks import (
    _FLAGGED,
    _LONE_SURROGATE,
    _SURROGATE_ESCAPE,
    _SURROGATE_ESCAPE_BYTES,
    _duplicate_error,
    _pairs,
    _surrogate_error,
    member,
)

__all__ = ["MAX_RECORD_BYTES", "parse_record", "read_checked", "loads", "DECODER", "duplicate_error", "surrogate_error", "not_object",
           "plain", "where", "member", "document_error", "DOCUMENT_ERRORS", "value_end", "one_value", "non_finite"]

MAX_RECORD_BYTES = 16 * 1024 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in case records (not a JSON number)")


def _where(exc: json.JSONDecodeError) -> str:
    return f"line {exc.lineno}, column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"


def _not_object(value: Any, source: str | None, record: int | None, json_path: str = "$") -> CaseError:
    return CaseError(f"a case must be a JSON object, got {_json_type(value)}", source=source, record=record,
                     json_path=json_path)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


_ORJSON_LOADS = orjson.loads
_ORJSON_ERROR = orjson.JSONDecodeError


def _scan(value: Any) -> int:
    """The number of JSON strings (keys and string values) in a decoded record, or -1 if it holds a binary
    float (orjson's reading of a number with a fraction or an exponent, which must be read again exactly).

    Recursive (a third cheaper than a stack of every node: only containers are descended into, a string
    costs one addition); a record nested deeper than :data:`_RECURSE` levels is walked by :func:`_scan_deep`."""
    return _scan_object(value, 0) if type(value) is dict else _scan_deep(value)


_RECURSE = 48  # levels walked by recursion; orjson reads up to 1024, and Python's own limit is 1000 frames


def _scan_object(node: dict[str, Any], depth: int) -> int:
    found = _scan_values(node.values(), depth)
    return found if found < 0 else found + len(node)


def _scan_values(values: Iterable[Any], depth: int) -> int:
    """The strings of ``values`` (an object's values or an array) and of the containers among them, keys
    included, or -1 at a float."""
    strings = 0
    for value in values:
        kind = type(value)
        if kind is str:
            strings += 1
            continue
        if kind is dict:
            found = _scan_object(value, depth + 1) if depth < _RECURSE else _scan_deep(value)
        elif kind is list:
            found = _scan_values(value, depth + 1) if depth < _RECURSE else _scan_deep(value)
        elif kind is float:
            return -1
        else:
            continue
        if found < 0:
            return -1
        strings += found
    return strings


def _scan_deep(value: Any, strings: bool = True) -> int:
    """:func:`_scan` with a stack instead of recursion, for any depth; ``strings=False``: the keys only."""
    count = 0
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str:
            count += strings
        elif kind is dict:
            count += len(node)
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        elif kind is float:
            return -1
    return count


def _keys(value: Any) -> int:
    """The number of keys in a decoded record without floats (for :func:`_key_marks`), for any depth."""
    return _scan_deep(value, strings=False)


def _unique_keys(text: str | bytes, value: dict[str, Any], strings: int) -> bool:
    """Whether no key of the text is written twice in one object, given the record ``value`` orjson read
    from it and the number of JSON strings (keys and string values) ``value`` holds.

    Without a backslash in the text, every ``"`` delimits a string, two to a string: the text holds as many
    strings as the record exactly when no object lost a key (and its value) to a duplicate, and a count of
    ``"`` (one C pass) tells. A text with a backslash (an escaped quote, say) counts key marks instead."""
    if isinstance(text, bytes):
        if b"\\" not in text:
            return text.count(b'"') == 2 * strings
    elif "\\" not in text:
        return text.count('"') == 2 * strings
    return _key_marks(text) <= _keys(value)


# Every key in JSON text ends with an unescaped quote, optional whitespace and a colon, so there are at
# least as many of these marks as keys written: when a decoded record holds as many keys as the text
# has marks, no key was written twice. (A string holding `\":` adds a mark; it only costs a second look.)
_KEY_MARKS_STR = re.compile(r'"[ \t\r\n]*:')


def _key_marks(text: str | bytes) -> int:
    """How many ``"`` + whitespace + ``:`` the text holds (at least its number of keys).

    Bytes: the count of ``":`` once the four whitespace bytes are deleted (two C passes, about half the
    cost of a regular expression search for a spaced mark); every mark becomes one ``":``, and deleting
    whitespace inside a string can only add some (a string holding ``\\" :``), so the count is at least the
    number of keys. Text: a JSON Lines record is usually compact (``"key":``): one search shows there is
    no whitespace between a quote and a colon, and a count of ``":`` is then exact; only other records
    count with the regular expression. bench/throughput.py shows the cost (parse rows)."""
    if isinstance(text, bytes):
        return text.translate(None, b" \t\r\n").count(b'":')
    if _SPACED_STR.search(text) is None:
        return text.count('":')
    return len(_KEY_MARKS_STR.findall(text))


_SPACED_STR = re.compile(r'"[ \t\r\n]+:')


def parse_record(text: str | bytes, source: str, record: int) -> dict[str, Any] | CaseError:
    """Parse one JSON object exactly; return it or a CaseError.

    orjson reads the common record (about 6x faster than json). It reads numbers with a fraction or an
    exponent as binary floats, and refuses some valid JSON (integers beyond 64 bits, lone surrogate
    escapes, deep nesting); such a record, and every record it cannot read, is read again by json with
    exact Decimals, which also words the errors: the result is the same either way.
    """
    if len(text) > MAX_RECORD_BYTES:
        return CaseError(f"record larger than {MAX_RECORD_BYTES} bytes", source=source, record=record)
    try:
        fast = _ORJSON_LOADS(text)
    except _ORJSON_ERROR:
        pass
    else:
        if type(fast) is dict:
            strings = _scan(fast)
            if strings >= 0 and _unique_keys(text, fast, strings):
                return fast
    text = text.rstrip()  # a JSON Lines record's newline must not move an error to "line 2"
    flagged = _FLAGGED[0]
    try:
        value = loads(text)
    except json.JSONDecodeError as exc:
        return CaseError(f"invalid JSON: {exc.msg} ({_where(exc)}){_hint(exc)}", source=source, record=record)
    except UnicodeDecodeError as exc:
        return CaseError(f"not UTF-8: {exc.reason} at byte {exc.start}", source=source, record=record)
    except RecursionError:
        return CaseError("JSON nested too deeply", source=source, record=record)
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond what Decimal can hold
        return CaseError("number out of range (exponent too large)", source=source, record=record)
    except ValueError as exc:  # NaN/Infinity, integers longer than Python allows
        return CaseError(_plain(str(exc)), source=source, record=record)
    if not isinstance(value, dict):
        return _not_object(value, source, record)
    # (each looked for only where the reading could have made one: an object flagged; a surrogate's escape, a
    # surrogate in a text given as str, or bytes that may be UTF-16 or UTF-32, where an escape is not searched)
    if _FLAGGED[0] != flagged and (error := _duplicate_error(value, source, record)) is not None:
        return error
    if (_SURROGATE_ESCAPE.search(text) is not None or _LONE_SURROGATE.search(text) is not None) \
            if type(text) is str else (type(text) is not bytes or b"\0" in text
                                       or _SURROGATE_ESCAPE_BYTES.search(text) is not None):
        return _surrogate_error(value, source, record) or value
    return value


def _hint(exc: json.JSONDecodeError) -> str:
    """What a common JSON Lines mistake behind a parser's message is: a ',' after the record."""
    if exc.msg == "Extra data" and exc.doc[exc.pos:exc.pos + 1] == ",":
        return "; a ',' after the record: JSON Lines holds one value per line, no separators"
    return ""


def read_checked(text: str | bytes, checks: Mapping[str, Callable[[Any], int]]) -> dict[str, Any] | None:
    """The record in ``text`` when its kind's exact check in ``checks`` takes it (see
    :func:`policy_eval.rulebook.schemacompile.compile_case_schema`), else None.

    A record returned is read exactly and valid: what :func:`parse_record` and the case schema's check give
    for it. The check walks the record once for the schema, its floats (none: orjson's reading is then exact)
    and its strings, which tell whether a key was written twice (:func:`_unique_keys`); that walk is the
    one :func:`parse_record` makes before the schema check makes its own. None is not an error: the caller
    reads and checks the record the general way, which words what is wrong."""
    if len(text) > MAX_RECORD_BYTES:
        return None
    try:
        value = _ORJSON_LOADS(text)
    except _ORJSON_ERROR:
        return None
    if type(value) is not dict or type(kind := value.get("kind")) is not str or (check := checks.get(kind)) is None:
        return None
    strings = check(value)
    return value if strings >= 0 and _unique_keys(text, value, strings) else None


def _plain(message: str) -> str:
    """Say it in JSON terms: whoever wrote the record should not read Python internals."""
    if "int_max_str_digits" in message or "integer string conversion" in message:
        return "a number with more than 4300 digits is not allowed in case records"
    return _DECIMAL_REPR.sub(r"\1", message)


_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")


def loads(text: str | bytes) -> Any:
    """``json.loads`` with exact numbers, NaN refused and duplicate keys flagged (see :func:`duplicate_error`)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_pairs)


DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_pairs)
# the names other modules know these helpers by
not_object, plain, where, duplicate_error, surrogate_error = (_not_object, _plain, _where, _duplicate_error,
                                                              _surrogate_error)


# What decoding one value of a JSON document can raise (json.JSONDecodeError is a ValueError).
DOCUMENT_ERRORS = (json.JSONDecodeError, RecursionError, ArithmeticError, ValueError)


def document_error(exc: Exception, source: str, record: int | None, json_path: str = "$") -> CaseError:
    """A value of a JSON document that could not be decoded, as a CaseError (words as :func:`parse_record`'s)."""
    if isinstance(exc, json.JSONDecodeError):
        message = f"invalid JSON: {exc.msg} ({_where(exc)})"
    elif isinstance(exc, RecursionError):
        message = "JSON nested too deeply"
    elif isinstance(exc, ArithmeticError):  # decimal.InvalidOperation: an exponent beyond what Decimal can hold
        message = "number out of range (exponent too large)"
    else:  # ValueError: NaN/Infinity, integers longer than Python allows
        message = _plain(str(exc))
    return CaseError(message, source=source, record=record, json_path=json_path)


# Reads what DECODER refuses though it is not a syntax error (NaN, numbers out of range), to find its end.
_LENIENT = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)


def value_end(text: str, pos: int) -> int | None:
    """Where the value at ``pos`` ends when its text is well-formed (NaN and numbers of any size allowed),
    else None (a syntax error, or nesting too deep to tell)."""
    try:
        return _LENIENT.raw_decode(text, pos)[1]
    except (ValueError, RecursionError):
        return None


_TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"|"|[][{}]')


def one_value(line: str) -> bool:
    """Whether ``line`` (one line of text, possibly broken JSON) is bracketed as exactly one object or
    array: it starts with ``{`` or ``[``, and its brackets, outside strings, close only at its very end.
    An unterminated string, a bracket closed too early or left open: not one value (it may run on)."""
    if not line.startswith(("{", "[")):
        return False
    depth = 0
    for m in _TOKENS.finditer(line):
        token = m.group()
        if token == '"':
            return False
        if token in ("{", "["):
            depth += 1
        elif token in ("}", "]"):
            depth -= 1
            if depth == 0 and m.end() != len(line):
                return False
    return depth == 0


def non_finite(value: Any, path: str = "$") -> str | None:
    """The JSON path of the first NaN/infinite number in a decoded case."""
    if isinstance(value, Decimal):
        return None if value.is_finite() else path
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = ((f"{path}{member(k)}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub, v in items:
        found = non_finite(v, sub)
        if found:
            return found
    return None

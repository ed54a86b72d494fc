"""Read case records from JSON, JSON Lines, folders or stdin; validate them.

Input: paths or binary streams. Output: a lazy stream of
``(source, record_number, case_or_error)``: a record that is not valid JSON,
is not an object, or fails its kind's JSON Schema becomes a
:class:`~policy_eval.errors.CaseError` naming the source, the record number
(the line, for JSON Lines) and the JSON path; every other record flows on.
Numbers are read exactly (``Decimal``), never as binary floats.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import jsonschema

from .errors import CaseError
from .values import ValueParseError, parse_date, parse_datetime

__all__ = ["read_cases", "read_stream", "parse_record", "CaseValidator", "MAX_RECORD_BYTES", "Record"]

MAX_RECORD_BYTES = 16 * 1024 * 1024
Record = tuple[str, int, "dict[str, Any] | CaseError"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in case records (not a JSON number)")


def parse_record(text: str | bytes, source: str, record: int) -> dict[str, Any] | CaseError:
    """Parse one JSON object exactly; return it or a CaseError."""
    if len(text) > MAX_RECORD_BYTES:
        return CaseError(f"record larger than {MAX_RECORD_BYTES} bytes", source=source, record=record)
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return CaseError(f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, record=record)
    except UnicodeDecodeError as exc:
        return CaseError(f"not UTF-8: {exc.reason} at byte {exc.start}", source=source, record=record)
    except RecursionError:
        return CaseError("JSON nested too deeply", source=source, record=record)
    except ValueError as exc:  # NaN/Infinity, integers longer than Python allows
        return CaseError(str(exc), source=source, record=record)
    if not isinstance(value, dict):
        return CaseError(f"a case must be a JSON object, got {type(value).__name__}", source=source, record=record)
    return value


def read_stream(stream: IO[bytes], source: str, fmt: str | None = None, raw: bool = False) -> Iterator[Any]:
    """Yield records of a JSON or JSON Lines stream; JSON Lines is streamed line by line.

    With ``raw=True`` JSON Lines records are yielded as undecoded bytes, so parsing can happen in
    worker processes (see :func:`parse_record`).
    """
    if fmt is None:
        head = stream.peek(64) if hasattr(stream, "peek") else b""
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        fmt = "json" if stripped.startswith(b"[") else "jsonl"
        if fmt == "jsonl" and not hasattr(stream, "peek"):
            fmt = "jsonl"
    if fmt == "json":
        data = stream.read()
        text = data.decode("utf-8-sig", errors="strict") if isinstance(data, bytes) else data
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                items = json.loads(stripped, parse_float=Decimal, parse_constant=_reject_constant)
            except (ValueError, RecursionError) as exc:
                yield source, 1, CaseError(f"invalid JSON: {exc}", source=source, record=1)
                return
            for i, item in enumerate(items, 1):
                if isinstance(item, dict):
                    yield source, i, item
                else:
                    yield source, i, CaseError(f"a case must be a JSON object, got {type(item).__name__}",
                                               source=source, record=i, json_path=f"$[{i - 1}]")
            return
        yield source, 1, parse_record(stripped, source, 1)
        return
    for number, line in enumerate(stream, 1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if not line.strip():
            continue
        yield source, number, (line if raw else parse_record(line, source, number))


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl", ".ndjson") and p.is_file())
    else:
        yield path


def read_cases(inputs: Iterable[str], stdin: IO[bytes] | None = None, raw: bool = False,
               fmt: str | None = None) -> Iterator[Any]:
    """Records from every input in order: files, folders (recursively) and ``-`` for stdin."""
    for item in inputs:
        if item == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
            yield from read_stream(buffered, "<stdin>", fmt, raw)
            continue
        path = Path(item)
        if not path.exists():
            yield item, 0, CaseError("no such file or folder", source=item, record=None)
            continue
        for file in _files(path):
            file_fmt = fmt or ("jsonl" if file.suffix in (".jsonl", ".ndjson") else "json")
            with open(file, "rb") as fh:
                yield from read_stream(fh, str(file), file_fmt, raw)


def _check_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parse_datetime(value)
    except ValueParseError:
        return False
    return True


def _check_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parse_date(value)
    except ValueParseError:
        return False
    return True


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("date-time")(_check_datetime)
_FORMATS.checks("date")(_check_date)


class CaseValidator:
    """Validates cases against their kind's JSON Schema (validators built once per kind)."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        self._validators = {
            kind: jsonschema.Draft202012Validator(schema, format_checker=_FORMATS) for kind, schema in schemas.items()
        }

    def check(self, case: dict[str, Any], source: str, record: int) -> CaseError | None:
        kind = case.get("kind")
        validator = self._validators.get(kind) if isinstance(kind, str) else None
        if validator is None:
            known = ", ".join(sorted(self._validators))
            return CaseError(f"unknown or missing case kind {kind!r} (known: {known})", source=source,
                             record=record, json_path="$.kind")
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(case))
        except RecursionError:
            return CaseError("case nested too deeply", source=source, record=record)
        if error is None:
            return None
        return CaseError(error.message if len(error.message) < 300 else error.message[:300] + "…",
                         source=source, record=record, json_path=error.json_path)

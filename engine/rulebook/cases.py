"""Read case records from JSON, JSON Lines, folders or stdin; validate them.

Input: paths or binary streams. Output: a lazy stream of
``(source, record_number, case_or_error)``: a record that is not valid JSON,
is not an object, or fails its kind's JSON Schema becomes a
:class:`~policy_eval.errors.CaseError` naming the source, the record number
(the line, for JSON Lines) and the JSON path; every other record flows on.
Numbers are read exactly (``Decimal``), never as binary floats.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson

from policy_eval.errors import CaseError
from policy_eval.rulebook.casefiles import READ_ERRORS, cannot_open, case_files, case_format, open_stream, read_error

__all__ = ["read_cases", "read_stream", "parse_record", "MAX_RECORD_BYTES", "MAX_DOCUMENT_BYTES", "Record"]

MAX_RECORD_BYTES = 16 * 1024 * 1024
# A JSON document (not JSON Lines) is read whole into memory: this bounds that memory.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
Record = tuple[str, "int | None", "dict[str, Any] | CaseError"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in case records (not a JSON number)")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)
_WS = " \t\r\n"
_NON_WS = re.compile(r"[^ \t\r\n]")


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


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        elif kind is float:
            return True
    return False


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
        if type(fast) is dict and not _has_float(fast):
            return fast
    text = text.rstrip()  # a JSON Lines record's newline must not move an error to "line 2"
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return CaseError(f"invalid JSON: {exc.msg} ({_where(exc)})", source=source, record=record)
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
    return value


def _plain(message: str) -> str:
    """Say it in JSON terms: whoever wrote the record should not read Python internals."""
    if "int_max_str_digits" in message or "integer string conversion" in message:
        return "a number with more than 4300 digits is not allowed in case records"
    return _DECIMAL_REPR.sub(r"\1", message)


_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")


def _decode(data: bytes, source: str) -> str | CaseError:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return CaseError(f"not UTF-8: {exc.reason} at byte {exc.start}", source=source, record=1)


def _documents(text: str, source: str) -> Iterator[Record]:
    """A JSON document: an array of cases, one case, or several concatenated cases (``jq`` output).

    Array items are numbered 1, 2, ...; other values by the line they start on (as in JSON Lines).
    A syntax error ends the document: nothing after it can be located reliably.
    """
    m = _NON_WS.search(text)
    pos = m.start() if m else len(text)
    if text.startswith("[", pos):
        try:
            items = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            yield source, 1, CaseError(f"invalid JSON: {exc.msg} ({_where(exc)})", source=source, record=1)
            return
        except RecursionError:
            yield source, 1, CaseError("JSON nested too deeply", source=source, record=1)
            return
        except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond what Decimal can hold
            yield source, 1, CaseError("number out of range (exponent too large)", source=source, record=1)
            return
        except ValueError as exc:
            yield source, 1, CaseError(_plain(str(exc)), source=source, record=1)
            return
        if not isinstance(items, list):  # "[...] trailing" cannot get here; keep mypy and readers sure
            yield source, 1, _not_object(items, source, 1)
            return
        for i, item in enumerate(items, 1):
            if isinstance(item, dict):
                yield source, i, item
            else:
                yield source, i, _not_object(item, source, i, json_path=f"$[{i - 1}]")
        return
    line, counted = 1, 0
    while pos < len(text):
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield source, line, CaseError(f"invalid JSON: {exc.msg} ({_where(exc)}); the rest of {source} "
                                          "is skipped", source=source, record=line)
            return
        except RecursionError:
            yield source, line, CaseError(f"JSON nested too deeply; the rest of {source} is skipped",
                                          source=source, record=line)
            return
        except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond what Decimal can hold
            yield source, line, CaseError(f"number out of range (exponent too large); the rest of {source} "
                                          "is skipped", source=source, record=line)
            return
        except ValueError as exc:  # NaN/Infinity, integers longer than Python allows
            yield source, line, CaseError(f"{_plain(str(exc))}; the rest of {source} is skipped", source=source,
                                          record=line)
            return
        yield source, line, value if isinstance(value, dict) else _not_object(value, source, line)
        m = _NON_WS.search(text, end)
        pos = m.start() if m else len(text)


def _lines(first: Iterable[bytes], rest: Iterable[bytes], source: str, raw: bool) -> Iterator[Any]:
    number = 0
    for chunk in (first, rest):
        for line in chunk:
            number += 1
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            yield source, number, (line if raw else parse_record(line, source, number))


def _bounded_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of ``stream``, none held longer than the record cap: a longer line is cut there (and so
    rejected as too large by :func:`parse_record`) and the rest of it is read past, not kept in memory."""
    limit = MAX_RECORD_BYTES + 1
    while True:
        line = stream.readline(limit)
        if not line:
            return
        if len(line) >= limit and not line.endswith(b"\n"):
            while True:
                more = stream.readline(limit)
                if not more or more.endswith(b"\n"):
                    break
        yield line


def _whole(stream: IO[bytes], head: bytes, source: str) -> str | CaseError:
    """A JSON document read whole, up to MAX_DOCUMENT_BYTES (larger input belongs in JSON Lines)."""
    data = head + stream.read(MAX_DOCUMENT_BYTES + 1 - len(head))
    if len(data) > MAX_DOCUMENT_BYTES:
        return CaseError(f"a JSON document larger than {MAX_DOCUMENT_BYTES} bytes: nothing of it is evaluated "
                         "(write large inputs as JSON Lines, one case per line)", source=source, record=1)
    return _decode(data, source)


def read_stream(stream: IO[bytes], source: str, fmt: str | None = None, raw: bool = False) -> Iterator[Any]:
    """Yield ``(source, record, case_or_error)`` for a JSON or JSON Lines stream.

    ``fmt``: ``"jsonl"`` streams line by line (constant memory); ``"json"`` reads one document (an array
    of cases, one case, or concatenated cases); ``None`` sniffs: JSON Lines when the first non-blank
    line is a complete JSON value, otherwise a document — so both ``policy-eval eval - < case.json``
    (pretty-printed) and a JSON Lines pipe work on stdin. A JSON Lines stream whose first line is broken
    is still read line by line, so every bad line is reported with its own number.

    gzip data is decompressed as it is read; UTF-16/32 input is one error (see
    :func:`~policy_eval.rulebook.casefiles.open_stream`). A read that fails part-way (an I/O error,
    truncated gzip data) ends the input with an error after the records read so far.

    With ``raw=True`` JSON Lines records are yielded as undecoded bytes, so parsing can happen in
    worker processes (see :func:`parse_record`).
    """
    try:
        stream, refused = open_stream(stream, source)
    except READ_ERRORS as exc:
        yield source, None, read_error(source, exc, 0)
        return
    if refused is not None:
        yield source, None, refused
        return
    count = 0
    try:
        for item in _read_stream(stream, source, fmt, raw):
            count += 1
            yield item
    except READ_ERRORS as exc:
        yield source, None, read_error(source, exc, count)


def _read_stream(stream: IO[bytes], source: str, fmt: str | None, raw: bool) -> Iterator[Any]:
    if fmt == "jsonl":
        yield from _lines((), _bounded_lines(stream), source, raw)
        return
    if fmt == "json":
        text = _whole(stream, b"", source)
        if isinstance(text, CaseError):
            yield source, 1, text
        else:
            yield from _documents(text, source)
        return
    # Sniff. Blank lines before the first value keep their numbers.
    head: list[bytes] = []
    first = b""
    lines = _bounded_lines(stream)
    for line in lines:
        head.append(line)
        if line.strip(b"\xef\xbb\xbf" + _WS.encode()):
            first = line
            break
    stripped = first.lstrip(b"\xef\xbb\xbf" + _WS.encode())
    if not stripped:
        return
    if not stripped.startswith(b"["):
        single = parse_record(first, source, len(head))
        broken = isinstance(single, CaseError) and single.message.startswith("invalid JSON")
        if not (broken and stripped.startswith(b"{")):
            yield from _lines(head, lines, source, raw)
            return
        # The first line is not a whole value: a pretty-printed case (or several), or a JSON Lines
        # stream whose first line is broken. Read a bounded prefix to tell them apart.
        buffered = list(head)
        size = sum(len(b) for b in buffered)
        for line in lines:
            buffered.append(line)
            size += len(line)
            if size > MAX_RECORD_BYTES:
                yield from _lines(buffered, lines, source, raw)
                return
        text = _decode(b"".join(buffered), source)
        records = [] if isinstance(text, CaseError) else list(_documents(text, source))
        if records and not isinstance(records[0][2], CaseError):
            yield from records
        else:
            yield from _lines(buffered, (), source, raw)
        return
    text = _whole(stream, b"".join(head), source)
    if isinstance(text, CaseError):
        yield source, 1, text
    else:
        yield from _documents(text, source)


def read_cases(inputs: Iterable[str], stdin: IO[bytes] | None = None, raw: bool = False,
               fmt: str | None = None) -> Iterator[Any]:
    """Records from every input in order: files, folders (recursively) and ``-`` for stdin.

    What cannot be read (a missing path, an unreadable file or folder, a linked sub-folder, a dangling
    link) is yielded as an input error in its place; see :mod:`policy_eval.rulebook.casefiles`."""
    for item in inputs:
        if item == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            yield from read_stream(stream, "<stdin>", fmt, raw)
            continue
        path = Path(item)
        if not path.exists():
            why = f"a symbolic link to nothing ({path.readlink()})" if path.is_symlink() else "no such file or folder"
            yield item, None, CaseError(why, source=item, record=None)
            continue
        for file in (case_files(path) if path.is_dir() else (path,)):
            if isinstance(file, CaseError):
                yield file.source, None, file
                continue
            try:
                fh = open(file, "rb")
            except OSError as exc:
                yield str(file), None, cannot_open(file, exc)
                continue
            with fh:
                yield from read_stream(fh, str(file), fmt or case_format(file.name), raw)


def _non_finite(value: Any, path: str = "$") -> str | None:
    """The JSON path of the first NaN/infinite number in a decoded case."""
    if isinstance(value, Decimal):
        return None if value.is_finite() else path
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub, v in items:
        found = _non_finite(v, sub)
        if found:
            return found
    return None

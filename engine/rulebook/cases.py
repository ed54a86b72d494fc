"""Read case records from JSON, JSON Lines, folders or stdin; validate them.

Input: paths or binary streams. Output: a lazy stream of
``(source, record_number, case_or_error)``: a record that is not valid JSON,
is not an object, or fails its kind's JSON Schema becomes a
:class:`~policy_eval.errors.CaseError` naming the source, the record number
(the line, for JSON Lines) and the JSON path; every other record flows on.
Numbers are read exactly (``Decimal``), never as binary floats.

The record number of an item of a JSON array is its item number, an :class:`ArrayItem`: an ``int``
(so ``record`` reads, compares and serialises as before) that also carries the line the item starts on,
for reports that must give a real line (SARIF regions, the text report's ``file:line``).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import CaseError
from policy_eval.rulebook.casefiles import (
    READ_ERRORS,
    cannot_open,
    case_files,
    case_format,
    open_stream,
    read_error,
)
from policy_eval.rulebook.jsonrecord import (
    DECODER,
    MAX_RECORD_BYTES,
    duplicate_error,
    loads,
    not_object,
    parse_record,
    plain,
    where,
)
from policy_eval.rulebook.shards import plan_shards

__all__ = ["read_cases", "read_stream", "parse_record", "MAX_RECORD_BYTES", "MAX_DOCUMENT_BYTES", "Record",
           "ArrayItem"]

# A JSON document (not JSON Lines) is read whole into memory: this bounds that memory.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
Record = tuple[str, "int | None", "dict[str, Any] | CaseError"]


class ArrayItem(int):
    """The record number of an item of a JSON array: its item number (1, 2, ...), which is what ``record``
    says in every result, and beside it ``line``, the line of the file the item starts on (1-based, lines
    ended by LF as in JSON Lines). Equal to, hashed, formatted and written to JSON as the plain ``int``; it
    travels to worker processes pickled with its line. (No ``__slots__``: an ``int`` subclass cannot have
    any, so each item carries a small ``__dict__``; an array is read whole in memory anyway.)"""

    line: int

    def __new__(cls, number: int, line: int) -> ArrayItem:
        made = super().__new__(cls, number)
        made.line = line
        return made

    def __reduce__(self) -> tuple[Any, tuple[int, int]]:
        return ArrayItem, (int(self), self.line)


_DECODER = DECODER
_WS = " \t\r\n"
_NON_WS = re.compile(r"[^ \t\r\n]")
_not_object, _plain, _where = not_object, plain, where


def _decode(data: bytes, source: str) -> str | CaseError:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return CaseError(f"not UTF-8: {exc.reason} at byte {exc.start}", source=source, record=1)


def _document_error(exc: Exception, source: str, record: int) -> CaseError:
    if isinstance(exc, json.JSONDecodeError):
        message = f"invalid JSON: {exc.msg} ({_where(exc)})"
    elif isinstance(exc, RecursionError):
        message = "JSON nested too deeply"
    elif isinstance(exc, ArithmeticError):  # decimal.InvalidOperation: an exponent beyond what Decimal can hold
        message = "number out of range (exponent too large)"
    else:  # ValueError: NaN/Infinity, integers longer than Python allows
        message = _plain(str(exc))
    return CaseError(message, source=source, record=record)


_DOCUMENT_ERRORS = (json.JSONDecodeError, RecursionError, ArithmeticError, ValueError)


def _too_large(text: str, start: int, end: int) -> bool:
    # a character is at most 4 bytes of UTF-8: encode (copy) only a value that might be over the cap
    return (end - start) * 4 > MAX_RECORD_BYTES and len(text[start:end].encode()) > MAX_RECORD_BYTES


def _checked(value: Any, text: str, start: int, end: int, source: str, record: int, path: str) -> Any:
    """One value of a document as a case, or why it is not one (not an object, too large, a key twice)."""
    if not isinstance(value, dict):
        return _not_object(value, source, record, json_path=path)
    if _too_large(text, start, end):
        return CaseError(f"record larger than {MAX_RECORD_BYTES} bytes", source=source, record=record, json_path=path)
    return duplicate_error(value, source, record, path) or value


def _array(text: str, pos: int) -> list[tuple[Any, int, int]]:
    """The items of the array at ``pos`` with where each starts and ends; text that is not exactly one
    array raises the error ``json.loads`` words for it."""
    items: list[tuple[Any, int, int]] = []
    m = _NON_WS.search(text, pos + 1)
    at = m.start() if m else len(text)
    if text.startswith("]", at):
        end = at + 1
    else:
        while True:
            value, end = _DECODER.raw_decode(text, at)
            items.append((value, at, end))
            m = _NON_WS.search(text, end)
            at = m.start() if m else len(text)
            if text.startswith(",", at):
                m = _NON_WS.search(text, at + 1)
                at = m.start() if m else len(text)
                continue
            if not text.startswith("]", at):
                loads(text)  # raises the error at the right place
                raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
            end = at + 1
            break
    if _NON_WS.search(text, end):
        loads(text)
        raise json.JSONDecodeError("Extra data", text, end)
    return items


def _documents(text: str, source: str) -> Iterator[Record]:
    """A JSON document: an array of cases, one case, or several concatenated cases (``jq`` output).

    Array items are numbered 1, 2, ... (:class:`ArrayItem`, which also knows the item's line); other
    values by the line they start on (as in JSON Lines).
    A syntax error in an array is the array's one error (nothing of it is evaluated); elsewhere it ends
    the document: nothing after it can be located reliably. Each value is held to the record cap.
    """
    m = _NON_WS.search(text)
    pos = m.start() if m else len(text)
    if text.startswith("[", pos):
        try:
            items = _array(text, pos)
        except _DOCUMENT_ERRORS as exc:
            yield source, 1, _document_error(exc, source, 1)
            return
        # Each item's line, exactly: the decoder found where each item starts (strings and escapes already
        # skipped), so counting the newlines before it, once over the text, is all it takes (C speed, well
        # under the cost of decoding the same text).
        line, counted = 1, 0
        for i, (item, start, end) in enumerate(items, 1):
            line += text.count("\n", counted, start)
            counted = start
            number = ArrayItem(i, line)
            yield source, number, _checked(item, text, start, end, source, number, f"$[{i - 1}]")
        return
    line, counted = 1, 0
    while pos < len(text):
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except _DOCUMENT_ERRORS as exc:
            error = _document_error(exc, source, line)
            error.message += f"; the rest of {source} is skipped"
            yield source, line, error
            return
        yield source, line, _checked(value, text, pos, end, source, line, "$")
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
               fmt: str | None = None, shards: int | None = None) -> Iterator[Any]:
    """Records from every input in order: files, folders (recursively) and ``-`` for stdin.

    What cannot be read (a missing path, an unreadable file or folder, a linked sub-folder, a dangling
    link) is yielded as an input error in its place; see :mod:`policy_eval.rulebook.casefiles`.

    With ``shards`` (a size in bytes), each plain JSON Lines file (a regular file, not gzip, not UTF-16/32)
    is yielded as :class:`~policy_eval.rulebook.shards.Shard` ranges of about that size instead of its
    records, for workers to read (:func:`~policy_eval.rulebook.shards.shard_records`); every other input
    is read here as usual."""
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
        if fmt is None and not path.is_dir() and path.suffix.lower() in (".yaml", ".yml"):
            yield item, None, CaseError(
                "a YAML file, not case records (JSON or JSON Lines); a policy-test file runs with "
                f"`policy-eval test {item}`, one of its cases with `policy-eval explain {item} --case NAME`",
                source=item, record=None)
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
                form = fmt or case_format(file.name)
                if shards and raw and form == "jsonl" and _plain_file(fh, str(file)):
                    yield from _shards(fh, str(file), shards)
                else:
                    yield from read_stream(fh, str(file), form, raw)


def _plain_file(fh: IO[bytes], source: str) -> bool:
    """A regular file that reads as it is stored: not gzip, not refused (UTF-16/32), not a FIFO or device."""
    try:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return False
        stream, refused = open_stream(fh, source)
        fh.seek(0)  # the sniffing may have read a short file's first bytes: read_stream starts again
    except READ_ERRORS:
        return False  # read_stream reports it
    return stream is fh and refused is None


def _shards(fh: IO[bytes], source: str, size: int) -> Iterator[Any]:
    lines = 0
    try:
        for shard in plan_shards(fh, source, size):
            lines = shard.last
            yield shard
    except READ_ERRORS as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
        yield source, None, CaseError(f"read failed: {reason}, after line {lines}; the rest of this input is "
                                      "not evaluated", source=source, record=None)


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

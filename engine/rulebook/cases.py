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

import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import CaseError
from policy_eval.rulebook.casefiles import (
    READ_ERRORS,
    bounded_lines,
    cannot_open,
    case_files,
    case_format,
    decode_text,
    json_lines,
    open_stream,
    plain_file,
    read_error,
    starts_pretty,
)
from policy_eval.rulebook.jsonrecord import (
    DECODER,
    DOCUMENT_ERRORS,
    MAX_RECORD_BYTES,
    document_error,
    duplicate_error,
    non_finite,
    not_object,
    one_value,
    parse_record,
    plain,
    surrogate_error,
    value_end,
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
    ended by LF as in JSON Lines; for an item with a syntax error, the line of the error). Equal to, hashed, formatted and written to JSON as the plain ``int``; it
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
_TAIL = re.compile(r"[ \t\r]*([,\]]?)[ \t\r]*(?:\n|\Z)")  # what may follow a value that ends its line
_not_object, _plain, _where, _non_finite = not_object, plain, where, non_finite


def _too_large(text: str, start: int, end: int) -> bool:
    # a character is at most 4 bytes of UTF-8: encode (copy) only a value that might be over the cap
    return (end - start) * 4 > MAX_RECORD_BYTES and len(text[start:end].encode()) > MAX_RECORD_BYTES


def _checked(value: Any, text: str, start: int, end: int, source: str, record: int, path: str) -> Any:
    """One value of a document as a case, or why it is not one (not an object, too large, a key twice)."""
    if not isinstance(value, dict):
        return _not_object(value, source, record, json_path=path)
    if _too_large(text, start, end):
        return CaseError(f"record larger than {MAX_RECORD_BYTES} bytes", source=source, record=record, json_path=path)
    return duplicate_error(value, source, record, path) or surrogate_error(value, source, record, path) or value


def _skip(text: str, pos: int) -> int:
    m = _NON_WS.search(text, pos)
    return m.start() if m else len(text)


class _Broken(Exception):
    """A syntax error at ``pos`` of the whole text."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg, self.pos = msg, pos


class _Lines:
    """Lines and columns of positions in a text, counted on from the last position asked for (json's
    own error position counts every line before it: once per document is fine, once per bad line is not)."""

    def __init__(self, text: str) -> None:
        self.text, self.line, self.counted = text, 1, 0

    def at(self, pos: int) -> int:
        if pos < self.counted:
            self.line, self.counted = 1, 0
        self.line += self.text.count("\n", self.counted, pos)
        self.counted = pos
        return self.line

    def where(self, pos: int) -> str:
        line, column = self.at(pos), pos - self.text.rfind("\n", 0, pos)
        return f"line {line}, column {column}" if line > 1 else f"column {column}"

    def first(self, pos: int, array: bool) -> bool:
        """Whether ``pos`` is the first thing on its line (after the array's ``[``, for its first item)."""
        return self.text[self.text.rfind("\n", 0, pos) + 1:pos].strip(_WS) in (("", "[") if array else ("",))


def _decode(text: str, at: int, line: bool) -> tuple[Any, int]:
    """The value at ``at`` and its end. ``line``: decode the text of its line alone first (a syntax error
    inside it is the same either way, and costs no count of the lines before); a syntax error raises
    :class:`_Broken`."""
    if line:
        stop = text.find("\n", at) % (len(text) + 1)
        try:
            value, end = _DECODER.raw_decode(text[at:stop])
            return value, at + end
        except json.JSONDecodeError as exc:
            if at + exc.pos < stop:
                raise _Broken(exc.msg, at + exc.pos) from None
    try:
        return _DECODER.raw_decode(text, at)
    except json.JSONDecodeError as exc:
        raise _Broken(exc.msg, exc.pos) from None


def _documents(text: str, source: str) -> Iterator[Record]:
    """A JSON document: an array of cases, one case, or several concatenated cases (``jq`` output), each
    as a case or a CaseError (held to the record cap); and an error for a syntax error between them.

    Array items are numbered 1, 2, ... (:class:`ArrayItem`, which also knows the item's line); other
    values by the line they start on (as in JSON Lines).

    Past a syntax error nothing shows where the next value starts, so the rest of the input is skipped
    (and the error says so), except where it is certain: when every value so far began and ended a line
    and the bad one's line holds its error and is, by its brackets, one whole value (:func:`one_value`),
    reading goes on at the next line; a value well-formed but refused (NaN, a number out of range) ends
    where it ends; a missing ',' after an item that ends its line, before one that begins a line, is reported.
    """
    pos = _skip(text, 0)
    array = text.startswith("[", pos)
    lines, noun, number, lined, sliced = _Lines(text), "item" if array else "value", 0, True, False
    at = _skip(text, pos + 1 if array else pos)

    def skipped(read: int) -> str:
        return (f"; the rest of {source} is skipped, not evaluated: past a syntax error nothing shows reliably where "
                f"the next {noun} starts ({read} {noun}(s) before it read)")

    def error(message: str, where: int) -> Record:
        """An error between values, placed at its line."""
        line = lines.at(where)
        return source, line, CaseError(f"invalid JSON: {message}", source=source, record=line)

    while True:
        if array and text.startswith("]", at):
            rest = _skip(text, at + 1)
            if rest < len(text):
                yield error(f"Extra data ({lines.where(rest)}) after the array's closing ']'; the rest of {source} is "
                            f"not evaluated ({number} item(s) read)", rest)
            return
        if at >= len(text):
            if array:
                yield error(f"the array is not closed: ']' missing at the end ({lines.where(at)}); the input may "
                            f"be cut short ({number} item(s) read)", at)
            return
        number += 1
        lined = lined and lines.first(at, array)
        record = ArrayItem(number, lines.at(at)) if array else lines.at(at)
        path = f"$[{number - 1}]" if array else "$"
        try:
            value, end = _decode(text, at, sliced and lined)
        except _Broken as exc:
            stop = text.find("\n", at) % (len(text) + 1)
            whole = text[at:stop].rstrip(_WS)
            resync = lined and exc.pos < stop and one_value(whole[:-1].rstrip(_WS) if array and whole.endswith(",")
                                                           else whole)
            message = f"invalid JSON: {exc.msg} ({lines.where(exc.pos)})"
            if array:
                record = ArrayItem(number, lines.at(exc.pos))  # the line of the error, the item it is in
                message += f" in item {number}"
            if resync:
                message += f"; the {noun} is the whole of its line: reading goes on at line {lines.at(stop) + 1}"
            else:
                message += skipped(number - 1)
            yield source, record, CaseError(message, source=source, record=record, json_path=path)
            if not resync:
                return
            sliced = True
            at = _skip(text, stop + 1)
            continue
        except DOCUMENT_ERRORS as exc:  # well-formed but refused: NaN, a number out of range, nested too deep
            refused = document_error(exc, source, record, path)
            found = value_end(text, at)
            if found is None:
                refused.message += skipped(number - 1)
            yield source, record, refused
            if found is None:
                return
            end = found
        else:
            yield source, record, _checked(value, text, at, end, source, record, path)
        tail = _TAIL.match(text, end)
        lined = lined and tail is not None and (array or not tail.group(1))
        after = _skip(text, end)
        if not array or text.startswith("]", after) or after >= len(text):
            at = after
        elif text.startswith(",", after):
            at = _skip(text, after + 1)
            if text.startswith("]", at):
                yield error(f"a ',' after the last item, before ']' ({lines.where(after)}); every item is read",
                            after)
        elif lined and lines.first(after, False):
            yield error(f"Expecting ',' delimiter ({lines.where(after)}): none after item {number}; item "
                        f"{number + 1} is on a line of its own and is read", after)
            at = after
        else:
            yield error(f"Expecting ',' delimiter ({lines.where(after)}) after item {number}{skipped(number)}", after)
            return


def _whole(stream: IO[bytes], head: bytes, source: str) -> str | CaseError:
    """A JSON document read whole, up to MAX_DOCUMENT_BYTES (larger input belongs in JSON Lines)."""
    data = head + stream.read(MAX_DOCUMENT_BYTES + 1 - len(head))
    if len(data) > MAX_DOCUMENT_BYTES:
        return CaseError(f"a JSON document larger than {MAX_DOCUMENT_BYTES} bytes: nothing of it is evaluated "
                         "(write large inputs as JSON Lines, one case per line)", source=source, record=1)
    return decode_text(data, source)


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
        yield from json_lines((), bounded_lines(stream), source, raw, hint=True)
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
    lines = bounded_lines(stream)
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
            yield from json_lines(head, lines, source, raw)
            return
        # The first line is not a whole value: a pretty-printed case (or several), or a JSON Lines
        # stream whose first line is broken. Read a bounded prefix to tell them apart.
        buffered = list(head)
        size = sum(len(b) for b in buffered)
        for line in lines:
            buffered.append(line)
            size += len(line)
            if size > MAX_RECORD_BYTES:
                yield from json_lines(buffered, lines, source, raw)
                return
        text = decode_text(b"".join(buffered), source)
        # A first value that is well-formed across lines (whatever else is wrong with it: a key twice, NaN)
        # makes it a document, read as a file of it is; else JSON Lines.
        if not isinstance(text, CaseError) and value_end(text, _skip(text, 0)) is not None:
            yield from _documents(text, source)
        else:
            yield from json_lines(buffered, (), source, raw)
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
                if shards and raw and form == "jsonl" and plain_file(fh, str(file)) and not starts_pretty(fh):
                    yield from _shards(fh, str(file), shards)
                else:
                    yield from read_stream(fh, str(file), form, raw)


def _shards(fh: io.BufferedReader, source: str, size: int) -> Iterator[Any]:
    lines = 0
    try:
        for shard in plan_shards(fh, source, size):
            lines = shard.last
            yield shard
    except READ_ERRORS as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
        yield source, None, CaseError(f"read failed: {reason}, after line {lines}; the rest of this input is "
                                      "not evaluated", source=source, record=None)

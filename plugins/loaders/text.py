"""Reading streams lazily: decoding bytes into lines, CSV rows and JSON values, each with its line number."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

from policy_eval.errors import CaseError

__all__ = ["text_lines", "Loaded", "MAX_CELL"]

Loaded = Iterator[tuple[int, "dict[str, Any] | CaseError"]]

_CHUNK = 1 << 16
MAX_CELL = 1 << 20

# --- text: decoding streams lazily -----------------------------------------------------------------------

def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def text_lines(stream: IO[bytes], encoding: str = "auto") -> Iterator[str]:
    """Decode a binary stream lazily into lines (line ends kept), chunk by chunk.

    ``encoding="auto"`` picks UTF-8 (BOM or not) when the first 64 KiB are
    valid UTF-8, else GB18030. A decoding error raises ``UnicodeDecodeError``.
    """
    head = stream.read(_CHUNK)
    if isinstance(head, str):  # a text stream was passed after all
        raise TypeError("loaders read binary streams (open the file with 'rb')")
    enc = _detect_encoding(head) if encoding in ("auto", "", None) else encoding
    decoder = codecs.getincrementaldecoder(enc)()
    pending = ""
    chunk = head
    while True:
        final = not chunk
        pending += decoder.decode(chunk, final=final)
        if pending:
            lines = pending.splitlines(keepends=True)
            # keep an unterminated last line (and a trailing '\r' that may precede '\n') for the next chunk
            if not final and lines and (not lines[-1].endswith(("\n", "\r")) or lines[-1].endswith("\r")):
                pending = lines.pop()
            else:
                pending = ""
            yield from lines
        if final:
            if pending:
                yield pending
            return
        chunk = stream.read(_CHUNK)


def _csv_rows(lines: Iterable[str], delimiter: str, source: str) -> Iterator[tuple[int, list[str] | CaseError]]:
    """Rows with the line each starts on; a malformed row is a CaseError and reading goes on."""
    reader = csv.reader(lines, delimiter=delimiter)
    last = 0
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = reader.line_num
            yield start, CaseError(f"malformed CSV: {exc}", source=source, record=start)
            continue
        last = reader.line_num
        yield start, row


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


class _JsonStream:
    """Consecutive JSON values read from whole lines, one at a time, with the line each starts on.

    The buffer only ever holds whole lines, so a value whose decoding fails
    before the end of the buffer is invalid, not merely cut off (JSON strings
    cannot hold raw line breaks).
    """

    _WS = " \t\r\n\ufeff"

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line_base = 1
        self.counted = 0
        self.decoder = json.JSONDecoder(parse_float=Decimal)

    def fill(self) -> None:
        self.line()
        self.buf, self.pos, self.counted = self.buf[self.pos:], 0, 0
        added = 0
        for line in self.lines:
            self.buf += line
            added += len(line)
            if added >= _CHUNK:
                return
        self.eof = True

    def line(self) -> int:
        self.line_base += self.buf.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line_base

    def peek(self) -> str:
        """The next non-blank character ('' at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in self._WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return ""
            self.fill()

    def value(self) -> Any:
        while True:
            try:
                item, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or self.buf[exc.pos:].strip():
                    raise
                self.fill()
                continue
            if end >= len(self.buf) and not self.eof:  # a number may go on in the next line
                self.fill()
                continue
            self.pos = end
            return item

    def skip_line(self) -> None:
        while True:
            nl = self.buf.find("\n", self.pos)
            if nl >= 0:
                self.pos = nl + 1
                return
            if self.eof:
                self.pos = len(self.buf)
                return
            self.fill()


def _json_records(lines: Iterator[str], source: str) -> Iterator[tuple[int, Any]]:
    """Items of a JSON array (numbered by index), or a sequence of JSON values such as JSON Lines
    (numbered by the line each starts on); streamed value by value."""
    js = _JsonStream(lines)
    if js.peek() == "[":
        js.pos += 1
        index = 0
        while True:
            c = js.peek()
            if c == "]":
                return
            if index:
                if c != ",":
                    yield index + 1, CaseError(f"expected ',' or ']' after item {index} of the JSON array, found "
                                               f"{c or 'the end of the file'!r}", source=source, record=index + 1)
                    return
                js.pos += 1
                js.peek()
            index += 1
            try:
                yield index, js.value()
            except json.JSONDecodeError as exc:
                yield index, CaseError(f"invalid JSON in item {index}: {exc.msg} (line {js.line() + exc.lineno - 1})",
                                       source=source, record=index)
                return
    while js.peek():
        number = js.line()
        try:
            yield number, js.value()
        except json.JSONDecodeError as exc:
            yield number, CaseError(f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, record=number)
            js.skip_line()

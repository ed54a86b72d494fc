"""Case inputs as files and byte streams: what to read, and whether it can be read at all.

Input: the paths and streams given to ``eval`` (files, folders, stdin). Output: the case files of a
folder in a stable order, each unreadable thing as a :class:`~policy_eval.errors.CaseError` naming its path
and the reason, and streams ready for the JSON readers of :mod:`policy_eval.rulebook.cases`.

Nothing given is skipped silently: a folder that cannot be listed, a sub-folder that is a symbolic link
(not followed: a link can lead out of the tree or round in a loop; give it as an input of its own to read
it), a link to nothing, a file that cannot be opened or fails while being read each become an input
error; every other file is still read. gzip input (``.gz``, or gzip's magic bytes on any input,
stdin included) is decompressed as it is read. UTF-16 and UTF-32 input is refused as a whole, before any
record of it is evaluated: case files are UTF-8 (RFC 8259). JSON Lines are read here too, line by line
(:func:`json_lines`); a JSON Lines file that is pretty-printed JSON says so on its first rejection.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import CaseError
from policy_eval.rulebook.jsonrecord import MAX_RECORD_BYTES, parse_record

__all__ = ["CASE_SUFFIXES", "READ_ERRORS", "case_files", "case_format", "is_case_file", "open_stream",
           "read_error", "cannot_open", "json_lines", "decode_text", "bounded_lines", "plain_file", "pretty_head",
           "starts_pretty", "PRETTY_HINT"]

CASE_SUFFIXES = (".json", ".jsonl", ".ndjson")
GZIP_MAGIC = b"\x1f\x8b"
# What reading a file or a gzip stream can raise part-way (gzip.BadGzipFile is an OSError).
READ_ERRORS = (OSError, EOFError, zlib.error)

_BOMS = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"), (b"\xfe\xff", "UTF-16"),
         (b"\xff\xfe", "UTF-16"))


def _base_name(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


def is_case_file(name: str) -> bool:
    """A file a folder is read for: ``.json``, ``.jsonl``, ``.ndjson``, each also gzipped (``.json.gz``)."""
    return _base_name(name).endswith(CASE_SUFFIXES)


def case_format(name: str) -> str | None:
    """The reader a file's name asks for: ``jsonl``, ``json``, or None (sniff the content)."""
    base = _base_name(name)
    if base.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if base.endswith(".json"):
        return "json"
    return None


def _error(path: str | os.PathLike[str], message: str) -> CaseError:
    return CaseError(message, source=str(path), record=None)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def cannot_open(path: str | os.PathLike[str], exc: OSError) -> CaseError:
    return _error(path, f"cannot read this file: {_reason(exc)}; none of its records is evaluated")


def read_error(source: str, exc: BaseException, records: int) -> CaseError:
    """Reading failed part-way: the records before stand, the rest of the input is lost (and said so)."""
    what = "not valid gzip data" if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)) else "read failed"
    return _error(source, f"{what}: {_reason(exc)}, after {records} record(s); the rest of this input is "
                          "not evaluated")


def case_files(folder: Path) -> Iterator[Path | CaseError]:
    """The case files under ``folder`` (recursively, sorted by path) and, in their places, an error for
    each sub-folder that cannot be listed, each sub-folder that is a symbolic link, and each link to
    nothing that is named like a case file."""
    found: list[tuple[str, Path | CaseError]] = []

    def unreadable(exc: OSError) -> None:
        where = exc.filename if exc.filename is not None else folder
        found.append((str(where), _error(where, f"cannot read this folder: {_reason(exc)}; its files are not "
                                                "evaluated")))

    for top, dirs, files in os.walk(folder, onerror=unreadable, followlinks=False):
        for name in dirs:
            path = os.path.join(top, name)
            if os.path.islink(path):
                found.append((path, _error(path, "a symbolic link to a folder: not followed, its files are not "
                                                 "evaluated (give it as an input of its own to read it)")))
        for name in files:
            path = os.path.join(top, name)
            if not is_case_file(name):
                continue
            if os.path.islink(path) and not os.path.exists(path):
                found.append((path, _error(path, f"a symbolic link to nothing ({os.readlink(path)})")))
            elif os.path.isfile(path):
                found.append((path, Path(path)))
            else:  # a FIFO, socket or device named like a case file: reading it could block forever
                found.append((path, _error(path, "not a regular file; not read")))
    found.sort(key=lambda item: Path(item[0]).parts)
    for _, item in found:
        yield item


class _Prefixed(io.RawIOBase):
    """A stream's first bytes, already read to sniff it, put back in front of the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n


def _peek(stream: IO[bytes], size: int) -> tuple[bytes, IO[bytes]]:
    """Up to ``size`` first bytes of ``stream`` without consuming them, and the stream to read instead."""
    peek = getattr(stream, "peek", None)
    if peek is not None:
        head = peek(size)[:size]
        if len(head) >= size or not head:
            return head, stream
    head = stream.read(size)
    return head, io.BufferedReader(_Prefixed(head, stream))


def open_stream(stream: IO[bytes], source: str) -> tuple[IO[bytes], CaseError | None]:
    """``stream`` ready for the JSON readers: gzip data decompressed as it is read; UTF-16/32 text refused
    (the error, once, for the whole input) rather than read as broken UTF-8 record by record."""
    head, stream = _peek(stream, 4)
    if head.startswith(GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        head, stream = _peek(stream, 4)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return stream, _error(source, f"{name} text (byte order mark {bom.hex(' ').upper()}), not UTF-8: case "
                                          f"input must be UTF-8; nothing of it is evaluated (convert it first: iconv -f "
                                          f"{name} -t UTF-8)")
    if len(head) >= 2 and (head[0] == 0 or head[1] == 0):
        return stream, _error(source, "UTF-16 or UTF-32 text (NUL bytes among the first characters), not UTF-8: "
                                      "case input must be UTF-8; nothing of it is evaluated")
    return stream, None


def decode_text(data: bytes, source: str) -> str | CaseError:
    """A JSON document's bytes as text (a UTF-8 byte order mark dropped), or why they are not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return CaseError(f"not UTF-8: {exc.reason} at byte {exc.start}", source=source, record=1)


def bounded_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of ``stream``, none held longer than the record cap: a longer line is cut there (and so
    rejected as too large by ``parse_record``) and the rest of it is read past, not kept in memory."""
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


def plain_file(fh: IO[bytes], source: str) -> bool:
    """A regular file that reads as it is stored: not gzip, not refused (UTF-16/32), not a FIFO or device."""
    try:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return False
        stream, refused = open_stream(fh, source)
        fh.seek(0)  # the sniffing may have read a short file's first bytes: the reader starts again
    except READ_ERRORS:
        return False  # the reader reports it
    return stream is fh and refused is None


PRETTY_HINT = ("; this file looks like pretty-printed JSON, not JSON Lines (its first line is a lone '{' or '['): "
               "name it .json or use --input-format json")
_BLANK = b"\xef\xbb\xbf \t\r\n"


def pretty_head(line: bytes) -> bool:
    """Whether the first non-blank line of a JSON Lines input is a lone ``{`` or ``[``: never a whole
    record, always the start of pretty-printed JSON."""
    return line.strip(_BLANK) in (b"{", b"[")


def starts_pretty(fh: IO[bytes]) -> bool:
    """:func:`pretty_head` for the first non-blank line of a seekable file (read from its start, then
    rewound; only a few short lines are read)."""
    try:
        for _ in range(64):
            line = fh.readline(4096)
            if not line or line.strip(_BLANK):
                return pretty_head(line)
        return False
    except READ_ERRORS:
        return True  # not cut into ranges: the reader reports it
    finally:
        fh.seek(0)


def json_lines(first: Iterable[bytes], rest: Iterable[bytes], source: str, raw: bool, hint: bool = False
               ) -> Iterator[Any]:
    """JSON Lines records by line number. ``hint``: a first line that is a lone ``{`` or ``[`` (pretty-printed
    JSON given as JSON Lines) is rejected saying so; every line is still rejected or read as it is."""
    number = 0
    for chunk in (first, rest):
        for line in chunk:
            number += 1
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            if hint and pretty_head(line):
                error = parse_record(line, source, number)
                assert isinstance(error, CaseError)  # a lone '{' or '[' is never a record
                error.message += PRETTY_HINT
                yield source, number, error
            else:
                yield source, number, (line if raw else parse_record(line, source, number))
            hint = False

"""Case inputs as files and byte streams: what to read, and whether it can be read at all.

Input: the paths and streams given to ``eval`` (files, folders, stdin). Output: the case files of a
folder in a stable order, each unreadable thing as a :class:`~policy_eval.errors.CaseError` naming its path
and the reason, and streams ready for the JSON readers of :mod:`policy_eval.rulebook.cases`.

Nothing given is skipped silently: a folder that cannot be listed, a sub-folder that is a symbolic link
(not followed: a link can lead out of the tree or round in a loop; give it as an input of its own to read
it), a link to nothing, a file that cannot be opened or fails while being read each become an input
error; every other file is still read. gzip input (``.gz``, or gzip's magic bytes on any input,
stdin included) is decompressed as it is read. UTF-16 and UTF-32 input is refused as a whole, before any
record of it is evaluated: case files are UTF-8 (RFC 8259).
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import CaseError

__all__ = ["CASE_SUFFIXES", "READ_ERRORS", "case_files", "case_format", "is_case_file", "open_stream",
           "read_error", "cannot_open"]

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

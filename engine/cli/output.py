"""Output plumbing: atomic report files, terminal detection, blocks of records for the JSON reporters, and text
laid out for a terminal."""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import os
import re
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TextIO, cast

from policy_eval.cli.common import UsageError
from policy_eval.cli.streams import Guarded, OutputFailed
from policy_eval.errors import printable

__all__ = ["AtomicOutput", "BlockWriter", "block_frame", "stdout_binary", "clean_stale", "isatty", "cells", "pad",
           "one_line", "rewrite"]


# -o FILE.gz: gzip's fastest level. A million after-sale findings records (750 MB) take about 1.8 s of this
# process's CPU at it and come out 13 times smaller; level 6 takes 3.5 s (21 times), level 9 6.1 s (22 times).
# This process writes every worker's output, so its CPU is the run's wall time.
GZIP_LEVEL = 1

_STALE = r"\.{name}\.(\d+)\.[A-Za-z0-9_]+\.tmp"  # .NAME.PID.RANDOM.tmp: the temp files of __init__
# Before the pid was part of the name (up to commit 9808f6e), -o and fmt wrote .NAME.RANDOM.tmp, RANDOM
# being tempfile.mkstemp's 8 characters. Whether the run that wrote one is alive cannot be told from it, so
# such a file is removed only once it has not been written to for OLD_STALE_SECONDS.
_OLD_STALE = r"\.{name}\.[a-z0-9_]{{8}}\.tmp"
OLD_STALE_SECONDS = 24 * 3600


class AtomicOutput:
    """The ``-o FILE`` report: over a regular file (or a new path), written to a temp file beside it and
    renamed into place when done; to a device node or a FIFO, written straight through.

    Readers of FILE never see a half-written report; on failure the temp file is removed and FILE is left
    as it was. A symbolic link is followed: its target is replaced, the link stays a link. The result gets
    the permissions a plain ``open(FILE, "w")`` would give it. Temp files are named ``.FILE.PID.xxxx.tmp``;
    those of a process that no longer runs (kill -9) are removed by the next run writing FILE.
    """

    @staticmethod
    def check(path: str, inputs: Sequence[str] = (), folders: Sequence[tuple[str, tuple[str, ...]]] = ()) -> None:
        """Usage errors, found before any work: FILE is a folder, in no folder, or not something a report
        can be written to; FILE is one of the ``inputs`` (the cases would be destroyed); FILE is inside one
        of the ``folders`` (folder, name endings read there) with an ending read there (it would be read back)."""
        target = Path(path)
        if target.is_dir():
            raise UsageError(f"--output {path}: is a folder")
        real = _real(target)
        if not real.parent.is_dir():
            raise UsageError(f"--output {path}: no such folder {real.parent}")
        if _kind(real) == "other":
            raise UsageError(f"--output {path}: not a regular file, device or FIFO (a socket?)")
        for item in inputs:
            if item and item != "-" and Path(item).is_file() and real.exists() and os.path.samefile(real, item):
                raise UsageError(f"--output {path} is the input {item}: the report would overwrite it "
                                 "(write it elsewhere)")
        for folder, suffixes in folders:
            if Path(folder).is_dir() and real.name.endswith(suffixes) and real.is_relative_to(_real(Path(folder))):
                raise UsageError(f"--output {path} is inside the input folder {folder}: the report would be "
                                 "read as input by the next run (write it elsewhere)")

    def __init__(self, path: str) -> None:
        self.check(path)
        self.path = Path(path)
        self.target = _real(self.path)  # a link's target (the link itself stays)
        self.existed = self.target.exists()
        self.tmp: str | None = None
        self._file: IO[str] | None = None  # with gzip: the file under the gzip stream (closed after it)
        try:
            if _kind(self.target) in ("device", "fifo"):  # no rename over /dev/null or a FIFO: write to it
                raw: IO[str] = open(self.target, "w", encoding="utf-8", errors="backslashreplace", newline="\n")
            else:
                clean_stale(self.target)
                fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.{os.getpid()}.", suffix=".tmp",
                                                dir=self.target.parent)
                # backslashreplace: a lone surrogate read from JSON ("\\ud800") is written back as that same
                # escape, which JSON readers take as the same value, instead of failing the whole report
                raw = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n")
        except OSError as exc:
            raise UsageError(f"--output {path}: cannot write there ({exc.strerror or exc})") from None
        if self.path.name.lower().endswith(".gz"):  # compressed as it is written; mtime 0: the same run, the same bytes
            self._file = raw
            zipped = _Gzip(filename="", mode="wb", fileobj=cast(TextIO, raw).buffer, compresslevel=GZIP_LEVEL, mtime=0)
            raw = io.TextIOWrapper(cast(IO[bytes], zipped), encoding="utf-8", errors="backslashreplace", newline="\n")
        self.stream = Guarded(raw, path)

    def binary(self) -> IO[bytes]:
        """The bytes under :attr:`stream`: it writes UTF-8 and translates no newline, so UTF-8 text written
        here (after flushing :attr:`stream`) is what writing the text there would give."""
        return cast(TextIO, self.stream.stream).buffer

    def commit(self, complete: bool = True) -> Path:
        """Put the report in place and say where it went. An incomplete report (``complete=False``: the run
        was interrupted) never replaces an existing FILE: it goes to ``FILE.interrupted`` instead."""
        self.stream.flush()
        raw = self.stream.stream
        if self._file is not None:  # gzip's trailer first, then the file under it
            try:
                raw.close()
                self._file.flush()
            except OSError as exc:
                raise OutputFailed(str(self.path), exc) from None
            raw = self._file
        if self.tmp is None:
            raw.close()
            return self.path
        try:
            os.fsync(raw.fileno())  # a full disk may only say so here
        except OSError as exc:
            raise OutputFailed(str(self.path), exc) from None
        raw.close()
        try:
            mode = self.target.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(self.tmp, mode)
        if not complete and self.existed:
            aside = self.target.with_name(self.target.name + ".interrupted")
            os.replace(self.tmp, aside)
            # named as the user named FILE, unless FILE is a link (then where its target is)
            return aside if self.path.is_symlink() else self.path.with_name(aside.name)
        os.replace(self.tmp, self.target)
        return self.path

    def abort(self) -> None:
        for stream in (self.stream.stream, self._file):  # (with gzip: its stream, then the file under it)
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)


class _Gzip(gzip.GzipFile):
    """gzip for ``-o FILE.gz`` that compresses through a flush: gzip's own flush ends a deflate block there, so
    the bytes would depend on where the writer flushed (per block of records, or per record as ``--jobs 1``
    reading stdin does), and each flush costs size. What is written is compressed in order all the same (the
    text layer above hands its bytes down before it flushes); it all reaches the file at close."""

    def flush(self, zlib_mode: int = 0) -> None:
        pass


def clean_stale(target: Path) -> list[Path]:
    """Remove the temp files a killed run (kill -9, power loss) left beside ``target``: only names of our
    own making (``.NAME.PID.xxxx.tmp``), only regular files of this user, only those whose process is gone;
    and those of the older naming (``.NAME.xxxxxxxx.tmp``, no pid) untouched for OLD_STALE_SECONDS."""
    import time

    pattern = re.compile(_STALE.format(name=re.escape(target.name)))
    old = re.compile(_OLD_STALE.format(name=re.escape(target.name)))
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if not (found or old.fullmatch(entry.name)) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if info.st_uid != os.getuid():
                continue
            if found and _alive(int(found.group(1))):
                continue
            if not found and time.time() - info.st_mtime < OLD_STALE_SECONDS:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return True  # 0 and negative numbers name process groups: never ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or not a pid at all: leave the file alone
    return True


def _real(path: Path) -> Path:
    """``path`` with symbolic links followed as far as they lead (a dangling link: where it points)."""
    return Path(os.path.realpath(path))


def _kind(path: Path) -> str:
    """new, file, device, fifo or other (a socket)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "new"
    except OSError:
        return "other"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "fifo"
    return "other"


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def block_frame(factory: Any) -> tuple[str, str, str] | None:
    """How the reporter made by ``factory`` frames each record, if it is one whose records can be written in
    blocks (:class:`policy_eval.run.blocks.Block`): what comes before a record, after it, and before the
    first record of the report; else None (the reporter is given every result).

    The built-in jsonl and json reporters write each record as ``result.to_json()`` framed so; a block of
    records framed so by a worker is what they would write given its records one by one. Any other
    reporter (a plugin's too, even under the name json or jsonl) is given the records one by one."""
    from policy_eval.plugins.reporters import JsonlReporter, JsonReporter

    if factory is JsonlReporter:
        return "", "\n", ""
    if factory is JsonReporter:  # "cases": [\n{...},\n{...}
        return ",\n", "", "\n"
    return None


class BlockWriter:
    """Writes blocks of records (:class:`policy_eval.run.blocks.Block`) to the report, one write each, in the
    place of the reporter's ``case`` for each of their records.

    ``tally`` is the report's counting stream (:class:`policy_eval.cli.signals.Tally`): a block is written in
    one critical section, so a signal never cuts one. Its UTF-8 bytes go straight to ``binary``, the byte
    stream under the report's text stream, when there is one that writes text as UTF-8 with no newline
    translation (see :meth:`AtomicOutput.binary`, :func:`stdout_binary`): the parent then neither decodes
    nor encodes the report. Else, and for a block that came as text, the text goes through the tally.
    """

    def __init__(self, tally: Any, frame: tuple[str, str, str], binary: IO[bytes] | None, target: str) -> None:
        before, _, first = frame
        if not before.endswith(first):
            raise ValueError(f"the first record's frame {first!r} must end the others' {before!r}")
        self.tally = tally
        self.binary = binary
        self.target = target
        self.skip = len(before) - len(first)  # cut from the first block written (ASCII: as many bytes)
        self.first = True

    def write(self, block: Any) -> None:
        data = block.data
        if self.first and self.skip:
            data = data[self.skip:]
        self.first = False
        if self.binary is None or isinstance(data, str):
            self.tally.write(data if isinstance(data, str) else str(data, "utf-8"))  # (bytes, or a view of a slot)
            return
        self.tally.signals.enter()
        try:
            try:
                self.tally.stream.flush()  # the text written before (a header) goes first
                self.binary.write(data)
            except OSError as exc:
                raise OutputFailed(self.target, exc) from None
            self.tally.written += len(data)
        finally:
            self.tally.signals.leave()


def stdout_binary(stream: Any) -> IO[bytes] | None:
    """The bytes under ``stream`` if it is (a :class:`Guarded` wrapper of) Python's own stdout writing UTF-8
    with no newline translation (POSIX: its newline is ``\\n``), else None: text it must write itself."""
    raw = stream.stream if isinstance(stream, Guarded) else stream
    if raw is not sys.__stdout__ or os.linesep != "\n" or not isinstance(raw, io.TextIOWrapper):
        return None
    return raw.buffer if _utf8(raw.encoding) else None


def _utf8(encoding: str | None) -> bool:
    try:
        return codecs.lookup(encoding or "").name == "utf-8"
    except LookupError:
        return False


def cells(text: str) -> int:
    """Terminal width of ``text``: CJK characters take two cells."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int) -> str:
    """Left-justify to a terminal width, counting CJK characters as two cells."""
    return text + " " * max(0, width - cells(text))


def one_line(text: str) -> str:
    """``text`` on one line of a terminal report: whitespace runs as one space, and no control or format
    character from case data (:func:`policy_eval.errors.printable`)."""
    return printable(" ".join(text.split()))


def write_steps(out: IO[str], steps: Iterable[Mapping[str, Any]], reads: Mapping[str, str], indent: str) -> None:
    """A verdict's explanation, one step a line (``expr  =  value   ← witness``), as ``explain`` and a failed
    ``test`` show it: a step whose value is unknown and that reads a case path says which unknown, from
    ``reads`` (:func:`policy_eval.run.explaining.unknown_reads`: ``absent`` or ``unknown (null)``)."""
    for step in steps:
        witness = f"   ← {step['witness']}" if "witness" in step else ""
        value = step["value"]
        if value == "unknown":
            value = reads.get(step["expr"], value)
        out.write(f"{indent}{one_line(step['expr'])}  =  {printable(value)}{printable(witness)}\n")


def rewrite(path: Path, text: str) -> None:
    """Replace ``path`` atomically, through a temp file named as ``-o`` names its own (``.NAME.PID.xxxx.tmp``)
    so that one a killed run left is removed by the next (:func:`policy_eval.cli.output.clean_stale`). The
    file keeps its permissions (mkstemp's are 0600: a shared policy folder would become unreadable to the
    others), and a symbolic link stays a link: the file it points to is replaced. (``fmt`` and ``check --fix``
    rewrite policy files so.)"""
    target = path.resolve() if path.is_symlink() else path
    clean_stale(target)
    mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

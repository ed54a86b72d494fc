"""Output plumbing: atomic report files, terminal detection, and text laid out for a terminal."""

from __future__ import annotations

import contextlib
import os
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from policy_eval.cli.common import UsageError

__all__ = ["AtomicOutput", "isatty", "cells", "pad", "one_line"]


class AtomicOutput:
    """Write to a temp file beside the target and rename it into place when done.

    Readers of FILE never see a half-written report; on failure the temp file is removed and FILE is left
    as it was. The result gets the permissions a plain ``open(FILE, "w")`` would give it.
    """

    @staticmethod
    def check(path: str) -> None:
        target = Path(path)
        if target.is_dir():
            raise UsageError(f"--output {path}: is a folder")
        if not target.parent.is_dir():
            raise UsageError(f"--output {path}: no such folder {target.parent}")

    def __init__(self, path: str) -> None:
        self.check(path)
        self.path = Path(path)
        parent = self.path.parent
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=parent)
        except OSError as exc:
            raise UsageError(f"--output {path}: cannot write there ({exc.strerror})") from None
        # backslashreplace: a lone surrogate read from JSON ("\\ud800") is written back as that same escape,
        # which JSON readers take as the same value, instead of failing the whole report
        self.stream = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n")

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        try:
            mode = self.path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(self.tmp, mode)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def cells(text: str) -> int:
    """Terminal width of ``text``: CJK characters take two cells."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int) -> str:
    """Left-justify to a terminal width, counting CJK characters as two cells."""
    return text + " " * max(0, width - cells(text))


def one_line(text: str) -> str:
    return " ".join(text.split())

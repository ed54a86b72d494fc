"""Report streams whose failures are told apart from the run's own: a reader that went away (broken pipe)
and a full disk are :class:`OutputFailed`, with their own exit codes (common.EXIT_PIPE, common.EXIT_OUTPUT),
never a traceback and never exit 0.

A write or flush to a :class:`Guarded` stream that fails with :class:`OSError` raises :class:`OutputFailed`
naming the target ("stdout" or the ``-o`` file); an ``OSError`` from anywhere else (reading an input, say)
is not mistaken for it.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import IO, Any

__all__ = ["OutputFailed", "Guarded"]


class OutputFailed(Exception):
    """Writing the report to ``target`` failed with ``error``."""

    def __init__(self, target: str, error: OSError) -> None:
        super().__init__(f"{target}: {error}")
        self.target = target
        self.error = error
        self.note = ""  # what became of the target, e.g. "report.jsonl was left as it was"

    @property
    def broken_pipe(self) -> bool:
        """The reader closed its end (``policy-eval ... | head -1``): nothing is wrong with the run, but it did
        not finish; shells report a process killed by SIGPIPE as 141, and so do we."""
        return isinstance(self.error, BrokenPipeError) or self.error.errno in (errno.EPIPE, errno.ECONNRESET)

    def reason(self) -> str:
        """``No space left on device`` (strerror, or the error's text when it has none)."""
        return self.error.strerror or str(self.error) or type(self.error).__name__


class Guarded:
    """A text stream whose write and flush failures are :class:`OutputFailed`; everything else (isatty,
    fileno, encoding, ...) is the wrapped stream's."""

    def __init__(self, stream: IO[str], target: str) -> None:
        self.stream = stream
        self.target = target

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            raise OutputFailed(self.target, exc) from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            raise OutputFailed(self.target, exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

"""SIGINT/SIGTERM during ``eval``: the batch ends with :class:`Interrupted`, but never in the middle of
writing a piece of the report, so that the report and the counts printed afterwards agree."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["Interrupted", "Signals", "Tally", "held"]


@contextlib.contextmanager
def held(*signums: int) -> Iterator[None]:
    """Hold the given signals while the block runs, then deliver them to the handlers that were in place.

    For code that cannot take an exception between any two of its steps: orjson's module initialisation
    imports modules of its own and crashes the process (SIGSEGV) or loses the exception when one of those
    imports raises (ijl/orjson#310), which a Ctrl-C at that instant made KeyboardInterrupt do.
    """
    caught: list[int] = []
    old: dict[int, Any] = {}
    for signum in signums:
        try:
            old[signum] = signal.signal(signum, lambda number, frame: caught.append(number))
        except ValueError:  # not the main thread: nothing to hold
            pass
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
        for signum in caught:
            signal.raise_signal(signum)


class Interrupted(BaseException):
    """SIGINT/SIGTERM in ``eval``. A BaseException, like KeyboardInterrupt, so that no ``except Exception``
    safety net on the way (the per-record one in batch.Processor) can swallow it."""


class Signals:
    """SIGINT/SIGTERM handling for ``eval``: the first signal ends the batch with :class:`Interrupted`, except
    inside a *critical* section (nested :meth:`enter`/:meth:`leave`), where it waits until the section ends.
    Writing a piece of the report and tallying it is such a section, so the report and the counts agree. Only
    the first signal raises: later ones are noted (``pending``), so that nothing breaks the wind-down."""

    def __init__(self) -> None:
        self.main_pid = os.getpid()
        self.depth = 0
        self.pending = False
        self.fired = False  # a signal came; see check()
        self.old: dict[int, Any] = {}
        self.old_hook: Any = None

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.old[sig] = signal.signal(sig, self.handler)
            except ValueError:  # not the main thread (embedded use): leave the host's handlers alone
                pass
        if self.old:
            self.old_hook, sys.unraisablehook = sys.unraisablehook, self.unraisable

    def restore(self) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        self.old.clear()
        if self.old_hook is not None:
            sys.unraisablehook, self.old_hook = self.old_hook, None

    def unraisable(self, unraisable: Any) -> None:
        """sys.unraisablehook while installed: the Interrupted this handler raised inside a ``__del__`` or a weakref
        callback (lost there: :meth:`check` and :meth:`leave` raise it again) is no "Exception ignored" traceback on
        stderr after the run's own message; anything else goes to the hook in place before."""
        if isinstance(unraisable.exc_value, Interrupted) and self.fired:
            return
        (self.old_hook or sys.__unraisablehook__)(unraisable)

    def handler(self, signum: int, frame: Any) -> None:
        if os.getpid() != self.main_pid:
            # A --jobs worker forked with this handler: it must die as by default (Pool.terminate sends it
            # SIGTERM), not raise into multiprocessing's loop, which can leave it waiting on a lock forever.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self.depth or self.fired:
            # Held (a critical section), or the run is already ending: a signal after the one that raised must
            # not raise again. Winding down (the except and finally around the batch, the workers' stop) has
            # steps that no critical section covers, and an Interrupted raised in one of them escaped eval's
            # handling: the report was dropped and "interrupted before any record was reported" said, after
            # records had been written (a second SIGTERM 5 ms after the first, --jobs 2, once in a CI run).
            self.fired = self.pending = True
            return
        self.fired = True
        raise Interrupted()

    def check(self) -> None:
        """Raise :class:`Interrupted` if a signal came and its exception was lost on the way: raised inside a
        ``__del__``, a weakref callback or an extension's callback, Python reports it as "Exception
        ignored" and goes on, which would let a signalled run evaluate every record."""
        if self.fired and not self.depth:
            raise Interrupted()

    def enter(self) -> None:
        self.depth += 1

    def leave(self) -> None:
        self.depth -= 1
        if not self.depth and (self.pending or self.fired):
            self.pending = False
            raise Interrupted()


class Tally:
    """The report stream, counting what has been written; each write is a critical section."""

    def __init__(self, stream: IO[str], signals: Signals) -> None:
        self.stream = stream
        self.signals = signals
        self.written = 0

    def write(self, text: str) -> int:
        self.signals.enter()
        try:
            n = self.stream.write(text)
            self.written += len(text)
        finally:
            self.signals.leave()
        return n

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, ... of the real stream
        return getattr(self.stream, name)

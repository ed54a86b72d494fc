"""A runaway record costs that record, never the run: a CPU-time limit per record.

The evaluation budget (docs/language.md, Cost) bounds what a policy can make a record cost; it cannot bound
Python code a plugin adds (a function that loops forever on one record's data), which would stall a batch
for good. :class:`Watchdog` is the limit for that: a CPU-time interval timer (``ITIMER_PROF``, so a loaded
machine does not stop records early) ticks every ``seconds / 4``; a tick that finds the same record still
being evaluated for the fourth time (between 3/4 and all of ``seconds`` of CPU spent on it) raises
:class:`RecordTimeout` into the evaluation, which the batch reports as that record rejected.

Per record the watched code pays one counter increment and two attribute writes; the ticks cost nothing
measurable. Limits: Python runs signal handlers in the main thread between bytecodes, so the watchdog
watches only where records are evaluated on the main thread (the CLI's process, ``--jobs`` workers; not
Dask's worker threads), and a single C call that never returns (none in the bundled functions) is not
interrupted. A process whose SIGPROF or profiling timer is already in use (a profiler, a test's CPU
limit) keeps it: the watchdog then stays off.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["RecordTimeout", "Watchdog", "DEFAULT_RECORD_LIMIT"]

DEFAULT_RECORD_LIMIT = 60.0  # CPU seconds (the largest bundled-rulebook record measured, a 10,000-message chat: 3.4)
TICKS = 4  # ticks per limit: a record is stopped after between (TICKS - 1) / TICKS and all of the limit


class RecordTimeout(BaseException):
    """Raised into a record's evaluation that has run past the limit. A BaseException, so that no
    ``except Exception`` on the way (a plugin's, the per-record safety net) takes it for the record's error."""


class Watchdog:
    """The per-record CPU limit of one process: :meth:`arm` once, then :meth:`begin` / :meth:`end` around
    each record (see the module docstring)."""

    def __init__(self, seconds: float) -> None:
        if not seconds > 0 or math.isinf(seconds):
            raise ValueError(f"a record time limit must be a positive number of seconds, not {seconds!r}")
        self.seconds = seconds
        self.serial = 0  # the record being evaluated (its count), while ``active``
        self.active = False
        self._seen = -1  # the serial the last tick found, and how many ticks in a row found it
        self._ticks = 0
        self._fired = -1
        self._previous: Any = None
        self._pid = 0
        self.armed = False

    def arm(self) -> bool:
        """Start ticking; False (and nothing changed) off the main thread or where SIGPROF or the profiling
        timer is someone else's. A forked copy of an armed watchdog (whose timer the child did not inherit)
        arms again."""
        if self.armed and self._pid == os.getpid():
            return True
        self.armed = False
        if threading.current_thread() is not threading.main_thread():
            return False
        handler = signal.getsignal(signal.SIGPROF)
        inherited = handler == self._tick  # (a forked child has the handler, not the timer)
        if not (inherited or handler in (signal.SIG_DFL, None)) or signal.getitimer(signal.ITIMER_PROF) != (0.0, 0.0):
            return False
        if not inherited:
            self._previous = signal.signal(signal.SIGPROF, self._tick)
        tick = self.seconds / TICKS
        signal.setitimer(signal.ITIMER_PROF, tick, tick)
        self.armed, self._pid = True, os.getpid()
        return True

    def disarm(self) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, self._previous if self._previous is not None else signal.SIG_DFL)
            self.armed = False

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Armed for the block, unless it already was (then left as it was)."""
        mine = not self.armed and self.arm()
        try:
            yield
        finally:
            if mine:
                self.disarm()

    def begin(self) -> None:
        self.serial += 1
        self.active = True

    def end(self) -> None:
        self.active = False

    def message(self) -> str:
        return (f"evaluation stopped: this record used more than {self.seconds:g} s of CPU (--record-limit); "
                "the other records are evaluated")

    def _tick(self, signum: int, frame: Any) -> None:
        if not self.active:
            self._seen, self._ticks = -1, 0
            return
        if self._seen != self.serial:
            self._seen, self._ticks = self.serial, 0
        self._ticks += 1
        if self._ticks >= TICKS and self._fired != self.serial:
            self._fired = self.serial
            raise RecordTimeout(self.message())

"""A CPU-time bound for tests of bounded cost: a regression fails fast instead of hanging the suite.

Not a timed test: the bound is generous (the pre-fix code took minutes or forever on these inputs)
and measures this process's CPU time (ITIMER_PROF), not wall time on a shared machine.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

__all__ = ["CpuLimit", "cpu_limit"]


class CpuLimit(BaseException):
    """Raised in the test process when a block uses more CPU time than allowed (a BaseException: the code
    under test may catch Exception broadly, and must not swallow the limit)."""


@contextlib.contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Abort the block with CpuLimit once this process has used ``seconds`` more CPU time."""
    def expired(signum: int, frame: object) -> None:
        raise CpuLimit(f"more than {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)

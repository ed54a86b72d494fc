"""Sending a signal to the test process itself, with its handler run before anything else can run Python code.

A test that interrupts itself (``os.kill(os.getpid(), signal.SIGINT)``) expects the handler to run in the test's own
code: Python runs it at the next bytecode of the main thread. If a collection of the cyclic garbage collector starts
in that window, the collector's callbacks run first (Hypothesis installs one, which times collections), and the
handler runs inside the callback instead: an exception it raises (KeyboardInterrupt, or the CLI's Interrupted) is
then reported as unraisable and dropped. That is the stray ``PytestUnraisableExceptionWarning`` ("Exception ignored
in: gc_callback ... KeyboardInterrupt") a full run showed now and then. Here the collector is off from the signal to
the end of the wait, so the handler runs where the test put it.
"""

from __future__ import annotations

import gc
import os
import signal
import time

__all__ = ["signal_self"]


def signal_self(sig: int = signal.SIGINT, wait: float = 0.01) -> None:
    """Send ``sig`` to this process and wait ``wait`` seconds (the handler runs in the wait, and may raise)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        os.kill(os.getpid(), sig)
        time.sleep(wait)
    finally:
        if enabled:
            gc.enable()

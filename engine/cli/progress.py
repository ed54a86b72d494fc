"""A progress line on stderr for long batches (only on a terminal).

The caller decides whether it is shown (``enabled``): ``policy-eval eval`` enables it only when stderr
is a terminal, ``--quiet`` is not given, and the report does not go to that same terminal.
"""

from __future__ import annotations

import time
from typing import IO

__all__ = ["Progress"]


class Progress:
    """Records/s, and an ETA when the input size is known; redraws at most 5 times a second."""

    def __init__(self, stream: IO[str], total_bytes: int | None, enabled: bool) -> None:
        self.stream = stream
        self.total = total_bytes
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.records = 0
        self.width = 0  # of the line on screen, so close() can blank exactly that

    def update(self, records: int, done_bytes: int | None = None) -> None:
        self.records = records
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        rate = records / elapsed
        text = f"{records:,} record{'s' if records != 1 else ''}  {rate:,.0f}/s"
        if self.total and done_bytes:
            frac = min(done_bytes / self.total, 1.0)
            eta = elapsed * (1 - frac) / frac if frac > 0 else 0
            text += f"  {frac:6.1%}  ETA {eta:,.0f}s"
        pad = " " * max(0, self.width - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0

"""A progress line on stderr for long batches (only on a terminal)."""

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
        text = f"\r{records:,} records  {rate:,.0f}/s"
        if self.total and done_bytes:
            frac = min(done_bytes / self.total, 1.0)
            eta = elapsed * (1 - frac) / frac if frac > 0 else 0
            text += f"  {frac:6.1%}  ETA {eta:,.0f}s"
        self.stream.write(text + "   ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()

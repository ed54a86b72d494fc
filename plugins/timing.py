"""Message timing for customer-service chat, as typed functions of the conduct plugin: one sort of the
messages, then linear scans (the rules used nested quantifiers over the messages: cubic and quadratic).
Registered by :mod:`policy_eval.plugins.conduct`."""

from __future__ import annotations

import bisect
import datetime as _dt
from typing import Any

from policy_eval.lang.readers import ReadError, reader_for
from policy_eval.lang.types import DATETIME

__all__ = ["longest_burst", "unanswered"]


def _times(messages: list[Any], senders: tuple[str, ...]) -> dict[str, list[_dt.datetime]]:
    """The sorted send times of each sender's messages."""
    read = reader_for(DATETIME)
    assert read is not None
    out: dict[str, list[_dt.datetime]] = {s: [] for s in senders}
    for i, m in enumerate(messages):
        if type(m) is not dict:
            raise ValueError(f"message {i + 1} is not an object")
        who = m.get("sender")
        if who in out:
            at = m.get("sent_at")
            if at is None:
                raise ValueError(f"message {i + 1} has no sent_at")
            try:
                out[who].append(read(at))
            except ReadError as exc:
                raise ValueError(f"message {i + 1}: sent_at: {exc}") from None
    for times in out.values():
        times.sort()
    return out


def longest_burst(messages: list[Any], sender: str, quiet: str, window: _dt.timedelta) -> int:
    """The most messages from ``sender`` sent within ``window`` of the first of them (inclusive) with no
    message from ``quiet`` between them.

    For a first message at t, a later one at x counts when t <= x <= t + window and no ``quiet`` message
    is sent in (t, x], i.e. x is before the earliest ``quiet`` message after t (one sent at the same instant
    as the first counts as before it). A ``quiet`` message before the burst does not excuse it: thirty
    messages in a minute after a buyer's "在吗" are a burst as much as without it. Both bounds only move
    forward with t, so after sorting (n log n) two pointers find every burst.
    """
    times = _times(messages, (sender, quiet))
    mine, others = times[sender], times[quiet]
    best = q = end = 0
    for i, t in enumerate(mine):
        if i and mine[i - 1] == t:
            continue  # messages sent at the same instant start the same burst
        while q < len(others) and others[q] <= t:
            q += 1
        stop = others[q] if q < len(others) else None
        end = max(end, i)
        while end < len(mine) and mine[end] <= t + window and (stop is None or mine[end] < stop):
            end += 1
        best = max(best, end - i)
    return best


def unanswered(messages: list[Any], asker: str, answerer: str, limit: _dt.timedelta) -> list[_dt.datetime]:
    """The send times of ``asker`` messages that no ``answerer`` message follows within ``limit``
    (inclusive; one sent at the same instant counts). Sorted; n log n (a sort and a bisection each)."""
    times = _times(messages, (asker, answerer))
    replies = times[answerer]
    out = []
    for t in times[asker]:
        i = bisect.bisect_left(replies, t)
        if i == len(replies) or replies[i] > t + limit:
            out.append(t)
    return out

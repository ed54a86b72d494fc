"""Since when a time zone keeps one offset at every instant, read from the zone's own data.

Input: a zone's key (``Asia/Shanghai``) and an offset in seconds. Output: the first calendar year from which
the zone's offset is that one at every instant, as the zone's TZif data says (its last transition, and the
rule it gives every later instant), or None where it does not say so or cannot be read.

Why: ``date_of`` (lang.functions) asks the zone for the day of a time; for a time written at the zone's own
offset (a case's timestamps are mostly written at +08:00), the day is the date as written wherever the zone
keeps that offset, which saves the zone's look-up (270 → 90 ns a call). ``zoneinfo`` keeps the transitions
private, and sampling the offset on a few dates would miss a short change, so the file is read here the way
``zoneinfo.ZoneInfo`` reads it: the same search (``zoneinfo._tzpath.find_tzfile``, then the ``tzdata``
package) and the same parser (``zoneinfo._common.load_data``). Those are the standard library's own helpers
but not its public interface: if they move or answer in another shape, the answer is None and every time
takes the zone, as before. The caller also checks the zone object's own offset at that year.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

__all__ = ["fixed_since", "read_as_written_since"]

# A POSIX TZ rule with no daylight-saving part: a standard name (letters, or <...> quoted) and its offset.
_FIXED_RULE = re.compile(rb"(?:[A-Za-z]{3,}|<[A-Za-z0-9+\-]+>)([+-]?)(\d{1,2})(?::(\d{2}))?")


def fixed_since(key: str, seconds: int) -> int | None:
    """The first year from which zone ``key`` is ``seconds`` east of UTC at every instant (see the module)."""
    try:
        from zoneinfo import _common, _tzpath

        path = _tzpath.find_tzfile(key)
        with open(path, "rb") if path is not None else _common.load_tzdata(key) as fobj:
            trans_idx, trans_list_utc, utcoff, _isdst, _abbr, rule = _common.load_data(fobj)
    except Exception:  # (no such zone, no data, or helpers that moved: nothing is known)
        return None
    return _since(trans_idx, trans_list_utc, utcoff, rule, seconds)


def read_as_written_since(zone: Any, seconds: int) -> int:
    """The first year from which a time written at ``seconds`` east of UTC is ``zone``'s (a ``ZoneInfo``) own local
    time: :func:`fixed_since` of its key, where the zone object agrees with the data read at that year; else a year
    no time reaches (``datetime.MAXYEAR + 1``), so that no time is read as written."""
    since = fixed_since(zone.key, seconds)
    offset = _dt.timedelta(seconds=seconds)
    if since is None or any(zone.utcoffset(_dt.datetime(max(since, 1), month, 1)) != offset for month in (1, 7)):
        return _dt.MAXYEAR + 1
    return since


def _since(trans_idx: Any, trans_list_utc: Any, utcoff: Any, rule: Any, seconds: int) -> int | None:
    """The year from the parsed data (see :func:`fixed_since`)."""
    if not isinstance(rule, bytes) or (fixed := _FIXED_RULE.fullmatch(rule)) is None:
        return None  # (no rule for later instants, or one with daylight saving)
    sign, hours, minutes = fixed.groups()
    east = (-1 if sign != b"-" else 1) * (int(hours) * 3600 + int(minutes or 0) * 60)  # (POSIX counts west)
    if east != seconds:
        return None
    if not len(trans_list_utc):
        return _dt.MINYEAR  # (no transition: the rule holds for every instant)
    if len(trans_idx) != len(trans_list_utc) or utcoff[trans_idx[-1]] != seconds:
        return None
    last = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=int(trans_list_utc[-1]))
    return last.astimezone(_dt.timezone(_dt.timedelta(seconds=seconds))).year + 1  # (the first whole year after it)

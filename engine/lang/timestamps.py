"""Timestamps in case records: RFC 3339, one grammar for the schema check and for the rules.

Input: a case field's text. Output: a timezone-aware ``datetime``, or ``ValueParseError``.

The case schemas say timestamps are RFC 3339 (``format: date-time``), and both readers of a timestamp
use this one parser: schema validation (:mod:`policy_eval.rulebook.validation`) and the value a rule
reads (:mod:`policy_eval.lang.readers`). So a form is accepted by both or refused by both:

* accepted: ``2023-06-02T16:00:00+08:00``, ``...Z``, lower-case ``t`` / ``z``, a fraction of a second,
  and the leap second ``23:59:60`` in UTC (``07:59:60+08:00``), read as the last representable instant
  before the next second, 23:59:59.999999 UTC: later than every earlier second, earlier than the next
  minute (Python's ``datetime`` has no second 60);
* the project's one extension: no offset means Asia/Shanghai (as in the language's literals);
* refused: a space for ``T``, no seconds, a bare date, ISO week or ordinal dates, the basic format
  (``20230602T160000+0800``), an offset without its colon, second 60 at any other minute, and a
  fraction finer than a microsecond unless its extra digits are zeros (time is exact here).

Python 3.11's ``fromisoformat`` accepts most of the refused forms, and no leap second at all.
"""

from __future__ import annotations

import datetime as _dt
import re

import msgspec

from policy_eval.errors import shown_repr
from policy_eval.lang.values import SHANGHAI, ValueParseError

__all__ = ["parse_timestamp", "read_timestamp", "clear_read_timestamps", "MEMO", "MEMO_MAX", "OFFSET_SHAPES"]

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,30}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?")


# The shapes of the commonest timestamps, by the characters at offsets 4, 7, 10, ... (every third from the
# year's dash, ``text[4:23:3]``) and the length they imply: ``2023-06-02T16:00:00+08:00``, ``...Z``, no offset
# (with a fraction of a second: :func:`_with_fraction`).
_SHAPES = {"--T::+:": 25, "--T::-:": 25, "--T::Z": 20, "--T::": 19}
# The commonest form's shapes (``2023-06-02T16:00:00+08:00``, 25 characters): parse_timestamp's first branch, and
# the form whose value rulebook.msgdecode takes from msgspec.
OFFSET_SHAPES = frozenset({"--T::+:", "--T::-:"})
_FROMISOFORMAT = _dt.datetime.fromisoformat
_DECODE_DATETIME = msgspec.json.Decoder(_dt.datetime).decode

# What parse_timestamp gave for each text, which read_timestamp looks in first: the schema check reads a
# case's timestamps first, so the rules that read them next find them parsed (one parse per timestamp per
# case, not one per check and one per rule). A plain dict, emptied when full, filled by parse_timestamp
# itself, rather than functools.lru_cache around it: generated code looks a text up in it inline (for a
# ``str`` only) and the schema check calls the parser for a text it does not hold, so a new timestamp costs
# one Python call, not a cache's miss and then the call (bench/README: 8,670 instructions a new timestamp
# before, of which 7,060 the parse). rulebook.msgdecode fills it too, with what msgspec parsed of a text in the
# form of the fast path below, emptying it when full before a record (it may then hold that record's more).
MEMO: dict[str, _dt.datetime] = {}
MEMO_MAX = 4096


def read_timestamp(text: str) -> _dt.datetime:
    """:func:`parse_timestamp`, looked up in :data:`MEMO` first."""
    value = MEMO.get(text) if type(text) is str else None
    return value if value is not None else parse_timestamp(text)


def clear_read_timestamps() -> None:
    """Forget the memoised timestamps (tests, and benchmarks that time a first read)."""
    MEMO.clear()


def _kept(text: str, value: _dt.datetime) -> _dt.datetime:
    if len(MEMO) >= MEMO_MAX:
        MEMO.clear()
    MEMO[text] = value
    return value


def parse_timestamp(text: str) -> _dt.datetime:
    """An RFC 3339 date-time (offset optional: Asia/Shanghai), leap second included; see the module. The
    value is also kept in :data:`MEMO` under its text."""
    if type(text) is not str:
        return _parse_rfc3339(text)
    shape = text[4:23:3]
    if len(text) == 25 and (shape == "--T::+:" or shape == "--T::-:"):  # (OFFSET_SHAPES: two compares, 40 ns
        # less than hashing the slice for a set)
        # The commonest form, ``2023-06-02T16:00:00+08:00``, on its own (what the branch below does, for one
        # shape). Its text is not remembered as what the value shows (lang.isotext._DATETIME_TEXT): ten a case
        # cost an API call more than formatting the few it shows (bench/README, thirty-ninth session).
        if text[23] < "6":  # (the C parser takes an offset's minute 60-99 too: +08:60)
            try:
                # msgspec's parser, not fromisoformat: the same value for this shape (the tests compare every
                # mutation with the full grammar), with one offset object for each offset, the one the batch
                # reader's timestamps (rulebook.msgdecode) and start_of_day's hold; fromisoformat makes one a text,
                # and two aware datetimes with different offset objects compare by asking each for its offset: 330
                # ns against 28 (seven such compares in an after-sale API call). Read as a JSON string by a decoder
                # made once: 119 ns, fromisoformat's 98, msgspec.convert's 197 (it makes its type's node on each
                # call). No escape fits in the shape's digit runs (the longest, the year, has 4 characters).
                value = _DECODE_DATETIME('"' + text + '"')
            except ValueError:  # (msgspec.DecodeError and UnicodeEncodeError are ones)
                pass
            else:
                if len(MEMO) >= MEMO_MAX:  # (_kept, inline)
                    MEMO.clear()
                MEMO[text] = value
                return value
    elif (_SHAPES.get(shape) == len(text) or _with_fraction(text)) and text.find("\x00") < 0:
        # (no NUL: fromisoformat reads ``16:Z\x00:00`` as 16:00 UTC, a NUL ending its reading of the zone)
        # Every separator and the length are those of RFC 3339 with upper-case T and Z; the other characters
        # are the digit fields, which the C parser reads as ASCII digits only (a test mutates every
        # position). Anything it refuses (second 60, month 13, a letter for a digit) is decided and worded
        # by the full grammar below, as before.
        try:
            value = _FROMISOFORMAT(text)
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                return _kept(text, value.replace(tzinfo=SHANGHAI))
            if text[-1] == "Z" or text[-2] < "6":  # (the offset's minute, as above)
                return _kept(text, value)
    return _kept(text, _parse_rfc3339(text))


def _with_fraction(text: str) -> bool:
    """``YYYY-MM-DDTHH:MM:SS.f`` with 1 to 6 ASCII digits of fraction, then ``Z``, ``+hh:mm``, ``-hh:mm`` or
    nothing (separators only: the C parser reads the digit fields)."""
    if len(text) > 32 or text[4:17:3] != "--T::" or text[19:20] != ".":  # 32: .ffffff+hh:mm
        return False
    end = len(text)
    if text[-1] == "Z":
        end -= 1
    elif text[-6:-5] in ("+", "-") and text[-3] == ":":
        end -= 6
    digits = text[20:end]
    return 0 < len(digits) <= 6 and digits.isdigit() and digits.isascii()


def _parse_rfc3339(text: str) -> _dt.datetime:
    """The full grammar (every form the module names), used by :func:`parse_timestamp` off its fast path."""
    m = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueParseError(f"not an RFC 3339 date-time (e.g. 2023-06-02T16:00:00+08:00): {shown_repr(text, 80)}")
    if m.group(6) != "60" and len(m.group(7) or "") <= 6 and "t" not in text and "z" not in text \
            and (m.group(11) or "0") < "6":
        # the common form, now known to be RFC 3339: the C parser reads it (15x faster than below)
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueParseError(f"not a valid date-time ({exc}): {shown_repr(text, 80)}") from None
        return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction = m.group(7) or ""
    if len(fraction) > 6 and fraction[6:].strip("0"):
        raise ValueParseError(f"a fraction of a second finer than a microsecond: {shown_repr(text, 80)}")
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    if m.group(8):
        tz: _dt.tzinfo = _dt.UTC
    elif m.group(9):
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            raise ValueParseError(f"UTC offset out of range: {shown_repr(text, 80)}")
        sign = 1 if m.group(9) == "+" else -1
        tz = _dt.timezone(sign * _dt.timedelta(hours=hours, minutes=minutes))
    else:
        tz = SHANGHAI
    leap = second == 60
    try:
        value = _dt.datetime(year, month, day, hour, minute, 59 if leap else second, micro, tzinfo=tz)
    except ValueError as exc:
        raise ValueParseError(f"not a valid date-time ({exc}): {shown_repr(text, 80)}") from None
    if leap:
        try:
            utc = value.astimezone(_dt.UTC)
        except OverflowError:
            raise ValueParseError(f"date-time out of range: {shown_repr(text, 80)}") from None
        if (utc.hour, utc.minute) != (23, 59):
            raise ValueParseError(f"a leap second (:60) is only 23:59:60 UTC: {shown_repr(text, 80)}")
        value = value.replace(microsecond=999_999)
    return value

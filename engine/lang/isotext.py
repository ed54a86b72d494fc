"""A datetime's ISO 8601 text, ``isoformat``'s own, written by msgspec's JSON encoder where that writes the same.

Input: a ``datetime``. Output: ``value.isoformat()``. Why: ``isoformat`` asks the zone for its offset through the
tzinfo protocol and costs about 755 ns; msgspec's encoder writes the same text in about 137 for a datetime in a
fixed offset (``datetime.timezone``) of whole minutes other than UTC (``msgspec.to_builtins`` gives that text as
a ``str`` at once: about 80 ns, against 170 for the JSON bytes sliced and decoded). It writes UTC as ``Z`` and
rounds an offset's seconds, so those zones, named zones, naive datetimes and subclasses go to ``isoformat``.
Which zones are of whole minutes is learnt per zone object (an offset's hash and equality ignore its name, as
``isoformat`` does). msgspec is imported on first use: a CLI start that shows no timestamp never loads it, and ``cli.main``
loads it with orjson where a signal cannot cut its initialisation. tests/test_render_datetime.py holds the two
equal over random instants, offsets and zones.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

__all__ = ["iso_text", "render_datetime", "MINUTE_ZONES", "ENCODE"]

# the fixed offsets learnt, whole minutes or not, and the encoder once loaded (render_datetime, which writes the
# commonest case itself, reads both)
MINUTE_ZONES: dict[_dt.tzinfo, bool] = {}
ENCODE: list[Callable[[Any], str]] = []


def _minute_zone(zone: _dt.timezone) -> bool:
    offset = zone.utcoffset(None)
    known = bool(offset) and offset.microseconds == 0 and offset.seconds % 60 == 0
    if len(MINUTE_ZONES) < 1024:
        MINUTE_ZONES[zone] = known
    return known


def _encoder() -> Callable[[Any], str]:
    import msgspec

    ENCODE.append(msgspec.to_builtins)
    return ENCODE[0]


def iso_text(value: _dt.datetime) -> str:
    """``value.isoformat()`` (see the module)."""
    zone = value.tzinfo
    if type(value) is _dt.datetime and type(zone) is _dt.timezone \
            and (MINUTE_ZONES.get(zone) or (zone not in MINUTE_ZONES and _minute_zone(zone))):
        return (ENCODE[0] if ENCODE else _encoder())(value)
    return value.isoformat()


# The text of timestamps read lately, by the parsed object (its id, the object kept so that the id is not reused
# while the entry stands), filled where the text read is ``isoformat``'s own by rulebook.msgdecode's walk in full
# detail (which shows every timestamp a rule reads): the readers hand back one parsed datetime per text, so showing
# a value read from the case costs a look-up. By identity, not equality: an equal instant in another offset is
# another text, and comparing aware datetimes of two zones costs more than formatting one. Bounded, cleared whole
# when full. Nothing else adds to it: remembering a text (an id, a tuple, a store in a table of thousands) cost
# more than formatting it again (iso_text, ~170 ns) where a value is shown once or not at all: a findings
# record took 1.6 µs less once formatted texts were no longer added, an API call ~2 µs less once the parser's
# were not (bench/README, thirty-ninth session).
_DATETIME_TEXT: dict[int, tuple[_dt.datetime, str]] = {}
_DATETIME_TEXT_MAX = 4096
_datetime = _dt.datetime
_timezone = _dt.timezone


def render_datetime(value: _dt.datetime) -> str:
    if _DATETIME_TEXT:  # (empty but in full detail)
        hit = _DATETIME_TEXT.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
    # isoformat's text (iso_text), its commonest case inline: a fixed offset learnt to be of whole minutes,
    # the encoder loaded (one Python call less a timestamp shown: a loud record shows two or three)
    if ENCODE and value.__class__ is _datetime and (zone := value.tzinfo).__class__ is _timezone \
            and MINUTE_ZONES.get(zone):
        return ENCODE[0](value)
    return iso_text(value)

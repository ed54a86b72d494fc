"""PolicyHistory.at: the version in force at an instant, screened by the boundaries' UTC years before any datetime
comparison (rulebook.policy.versions), is the first version whose period holds the instant, whatever the offsets,
near every boundary and across year ends."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policy_eval.lang.values import SHANGHAI
from policy_eval.rulebook.policy.versions import PolicyHistory


@dataclass
class _Version:
    """What ``at`` reads of a version: its period."""

    version: str
    effective_from: _dt.datetime
    effective_until: _dt.datetime | None

    def in_force(self, at: _dt.datetime) -> bool:
        return self.effective_from <= at and (self.effective_until is None or at < self.effective_until)


def _first(versions: list[_Version], when: _dt.datetime) -> _Version | None:
    return next((v for v in versions if v.in_force(when)), None)


ZONES = st.sampled_from([_dt.UTC, SHANGHAI, _dt.timezone(_dt.timedelta(hours=8)),
                         _dt.timezone(_dt.timedelta(hours=-11, minutes=-30)),
                         _dt.timezone(_dt.timedelta(hours=14)), _dt.timezone(_dt.timedelta(hours=23, minutes=59))])
# instants from year 3 to 9997 (offsets of up to a day either way stay inside datetime's range), many at year ends
NAIVE = st.one_of(
    st.datetimes(min_value=_dt.datetime(3, 1, 1), max_value=_dt.datetime(9997, 12, 31)),
    st.builds(lambda y, end, m: _dt.datetime(y, 12, 31, 23, 59) + _dt.timedelta(minutes=m) if end
              else _dt.datetime(y, 1, 1) + _dt.timedelta(minutes=m),
              st.integers(3, 9996), st.booleans(), st.integers(-2 * 1440, 2 * 1440)))
INSTANTS = st.builds(lambda n, z: n.replace(tzinfo=z), NAIVE, ZONES)


def _history(starts: list[_dt.datetime], open_end: bool) -> PolicyHistory:
    """Versions back to back from each start to the next (the last open or ending a day after its start)."""
    ordered = sorted(set(starts))
    versions = []
    for i, start in enumerate(ordered):
        until = ordered[i + 1] if i + 1 < len(ordered) else (None if open_end else start + _dt.timedelta(days=1))
        versions.append(_Version(str(i + 1), start, until))
    history = PolicyHistory("p", "k")
    history.versions = versions  # type: ignore[assignment]
    return history


@settings(max_examples=300)
@given(st.lists(INSTANTS, min_size=1, max_size=4), st.booleans(), st.lists(INSTANTS, min_size=1, max_size=12),
       st.lists(st.integers(-3 * 1440, 3 * 1440), max_size=6), ZONES)
def test_at_is_the_first_version_in_force(starts: list[_dt.datetime], open_end: bool, queries: list[_dt.datetime],
                                          shifts: list[int], zone: Any) -> None:
    history = _history(starts, open_end)
    # also every boundary itself, a microsecond either side, and minutes to days away, in another offset
    bounds = [b for v in history.versions for b in (v.effective_from, v.effective_until) if b is not None]
    near = [b + _dt.timedelta(minutes=m) for b in bounds for m in shifts]
    edges = [b + d for b in bounds for d in
             (_dt.timedelta(0), _dt.timedelta(microseconds=1), -_dt.timedelta(microseconds=1))]
    for when in [*queries, *near, *edges]:
        for asked in (when, when.astimezone(zone)):
            # (asked twice: the answer kept for a year no boundary is near is the one worked out)
            assert history.at(asked) is history.at(asked) is _first(history.versions, asked), (asked, [
                (v.effective_from, v.effective_until) for v in history.versions])


def test_an_unstated_start_and_a_change_of_version_at_the_new_year() -> None:
    """The bundled shape: a version from an unstated date (every earlier instant) to 2021-01-01 in Asia/Shanghai,
    the next from then on; the instants either side of it, in UTC and in Shanghai."""
    first = _Version("1", _dt.datetime(1, 1, 2, tzinfo=_dt.UTC), _dt.datetime(2021, 1, 1, tzinfo=SHANGHAI))
    second = _Version("2", _dt.datetime(2021, 1, 1, tzinfo=SHANGHAI), None)
    history = PolicyHistory("p", "k")
    history.versions = [first, second]  # type: ignore[list-item]
    change = _dt.datetime(2021, 1, 1, tzinfo=SHANGHAI)
    assert history.at(change) is second
    assert history.at(change - _dt.timedelta(microseconds=1)) is first
    assert history.at(_dt.datetime(2020, 12, 31, 16, 0, tzinfo=_dt.UTC)) is second  # the same instant as change
    assert history.at(_dt.datetime(2020, 12, 31, 15, 59, 59, 999999, tzinfo=_dt.UTC)) is first
    assert history.at(_dt.datetime(2024, 6, 2, 16, tzinfo=_dt.timezone(_dt.timedelta(hours=8)))) is second
    assert history.at(_dt.datetime(1999, 6, 2, 16, tzinfo=SHANGHAI)) is first
    assert history.at(_dt.datetime(1, 1, 1, 12, tzinfo=_dt.UTC)) is None  # before the unstated start's instant


def test_the_answer_kept_for_a_year_is_dropped_with_the_versions() -> None:
    """A year's answer is kept with the boundaries it was worked out from: a version added (the list grows) or the
    list replaced, the year is worked out again."""
    first = _Version("1", _dt.datetime(2020, 1, 1, tzinfo=SHANGHAI), None)
    history = PolicyHistory("p", "k")
    history.versions = [first]  # type: ignore[list-item]
    mid = _dt.datetime(2030, 6, 1, tzinfo=SHANGHAI)
    assert history.at(mid) is history.at(mid) is first
    second = _Version("2", _dt.datetime(2030, 1, 1, tzinfo=SHANGHAI), None)
    first.effective_until = second.effective_from
    history.versions.append(second)  # type: ignore[arg-type]
    assert history.at(mid) is second
    third = _Version("3", _dt.datetime(2000, 1, 1, tzinfo=SHANGHAI), None)
    history.versions = [third]  # type: ignore[list-item]
    assert history.at(mid) is third


@settings(max_examples=200)
@given(st.lists(INSTANTS, min_size=1, max_size=4), st.booleans(), st.lists(INSTANTS, min_size=1, max_size=8), ZONES)
def test_a_settled_year_has_one_answer_for_every_instant_written_in_it(
        starts: list[_dt.datetime], open_end: bool, queries: list[_dt.datetime], zone: Any) -> None:
    """``settled(year)`` (what run.straight keeps an answer by) holds only after ``at`` answered for the year, and only
    where every instant written in that year, in any offset, has that answer: its first and last microsecond
    in the offsets furthest east and west, and the boundaries' own instants written in the year."""
    history = _history(starts, open_end)
    bounds = [b for v in history.versions for b in (v.effective_from, v.effective_until) if b is not None]
    for when in (q.astimezone(zone) for q in queries):
        year = when.year
        answer = history.at(when)
        if not history.settled(year):
            continue
        east, west = _dt.timezone(_dt.timedelta(hours=23, minutes=59)), _dt.timezone(-_dt.timedelta(hours=23, minutes=59))
        edges = [_dt.datetime(year, 1, 1, tzinfo=east), _dt.datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=west),
                 *(b.astimezone(z) for b in bounds for z in (east, west, _dt.UTC) if b.astimezone(z).year == year)]
        for other in edges:
            assert _first(history.versions, other) is answer, (year, other)


def test_a_year_is_not_settled_before_at_answers_for_it_nor_after_the_versions_change() -> None:
    first = _Version("1", _dt.datetime(2020, 1, 1, tzinfo=SHANGHAI), None)
    history = PolicyHistory("p", "k")
    history.versions = [first]  # type: ignore[list-item]
    assert not history.settled(2030)
    assert history.at(_dt.datetime(2030, 6, 1, tzinfo=SHANGHAI)) is first
    assert history.settled(2030) and not history.settled(2031) and not history.settled(2020)  # (2020: a boundary)
    history.versions.append(_Version("2", _dt.datetime(2035, 1, 1, tzinfo=SHANGHAI), None))  # type: ignore[arg-type]
    assert not history.settled(2030)

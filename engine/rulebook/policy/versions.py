"""The versions of one policy, checked together: names, reference time, periods in force.

:meth:`PolicyHistory.at`, the version in force at an instant, is asked by every case of each of its policies
(by its reference time), and by the API, the metrics and the due-date forecasts. Walking the versions costs two
or three ``in_force`` calls of two aware datetime comparisons each; instead the instants where some version
starts or ends are sorted once per history. Between two neighbours no comparison ``in_force`` makes can change,
so the version in force there is the one the walk names for the left neighbour, found once; per question one
``bisect`` (comparisons in C).

Comparing two aware datetimes whose ``tzinfo`` objects differ costs each side a ``utcoffset`` call: 400-800 ns
(a case's ``+08:00`` against a boundary in Asia/Shanghai or UTC), where comparing two ints costs 20. A question is
first put to the boundaries' UTC years: an instant written in year *y* (in any offset under a day) lies in UTC
year *y* - 1, *y* or *y* + 1, so a boundary whose UTC year is *y* - 2 or earlier is before it, and one of year
*y* + 2 or later after it. Only boundaries within a year of it are compared as datetimes, by the bisect
restricted to them; most questions have none (the bundled after-sales versions change on 2021-01-01).
"""

from __future__ import annotations

import datetime as _dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import PolicyError
from policy_eval.lang.values import render
from policy_eval.rulebook.policy.model import PolicyVersion

__all__ = ["PolicyHistory", "check_versions"]

_datetime = _dt.datetime
_UTC = _dt.UTC

# (a history's versions list, its length, the sorted boundaries of their periods, the version in force from each
# boundary to the next, the boundaries' UTC years, and by year the answer of a year no boundary is near: see ``at``)
_Periods = tuple[list[PolicyVersion], int, list[Any], list[PolicyVersion | None], list[int],
                 dict[int, tuple[PolicyVersion | None]]]


@dataclass
class PolicyHistory:
    """All versions of one policy id, oldest first."""

    id: str
    applies_to: str
    versions: list[PolicyVersion] = field(default_factory=list)
    # made by the first ``at``, again when the list is replaced or grows; check_versions, which sorts the list in
    # place, drops them
    _periods: _Periods | None = field(default=None, init=False, repr=False, compare=False)

    def at(self, when: Any) -> PolicyVersion | None:
        """The version in force at an instant (an aware datetime), if any: the first of the versions whose
        period holds it, found by one bisect over the boundaries of the periods (see the module docstring)."""
        periods = self._periods
        versions = self.versions
        if periods is None or periods[0] is not versions or periods[1] != len(versions):
            periods = self._periods = _periods(versions)
        if type(when) is _datetime:
            year = when.year
            if (known := periods[5].get(year)) is not None:  # (a year no boundary is near: its answer, kept)
                return known[0]
            years = periods[4]
            before = bisect_right(years, year - 2)  # boundaries certainly at or before ``when``
            after = bisect_left(years, year + 2, before)  # from here on, certainly after it
            if before == after:  # (the answer of every instant written in this year: kept, at most 9,999 years)
                periods[5][year] = known = (periods[3][before],)
                return known[0]
            return periods[3][bisect_right(periods[2], when, before, after)]
        return periods[3][bisect_right(periods[2], when)]

    def settled(self, year: int) -> bool:
        """Whether ``at`` has found one version (or none) in force at every instant written in ``year`` (no boundary
        of a period is within a year of it), for the versions the history holds now: a caller may then keep that
        answer for the year while they stay the same (run.straight)."""
        periods, versions = self._periods, self.versions
        return periods is not None and periods[0] is versions and periods[1] == len(versions) and year in periods[5]

    def latest(self) -> PolicyVersion:
        return self.versions[-1]


def _first_in_force(versions: list[PolicyVersion], when: Any) -> PolicyVersion | None:
    for v in versions:
        if v.in_force(when):
            return v
    return None


def _periods(versions: list[PolicyVersion]) -> _Periods:
    """What PolicyHistory.at bisects: the boundaries of the versions' periods, sorted, and the version in
    force from each to the next (before the first: none)."""
    instants = {v.effective_from for v in versions}
    instants.update(v.effective_until for v in versions if v.effective_until is not None)
    # equal instants in two offsets are one boundary (aware datetimes hash and compare by the instant)
    bounds: list[Any] = sorted(instants)
    return (versions, len(versions), bounds, [None, *(_first_in_force(versions, b) for b in bounds)],
            [_utc_year(b) for b in bounds], {})


def _utc_year(instant: Any) -> int:
    """The UTC year of an aware boundary (sorted boundaries give sorted years)."""
    try:
        return int(instant.astimezone(_UTC).year)
    except OverflowError:  # (at the edge of datetime's range: its own year, within one of the UTC one)
        return int(instant.year)


def _start(version: PolicyVersion) -> str:
    return render(version.effective_from) if version.start_stated else "an unstated date: every earlier instant"


def check_versions(history: PolicyHistory) -> list[PolicyError]:
    """Versions of one policy: distinct version names, one reference_time, periods that do not overlap."""
    errors: list[PolicyError] = []
    history.versions.sort(key=lambda v: v.effective_from)
    history._periods = None  # (the order the first version in force is chosen in has changed)
    seen: dict[str, PolicyVersion] = {}
    for v in history.versions:
        if v.version in seen:
            errors.append(v.error(f"version '{v.version}' of policy '{v.id}' is defined twice "
                                  f"(also in {seen[v.version].file})", "version"))
        seen[v.version] = v
    misdated = _revisions_in_order(history, seen)
    early = {id(v) for v, _ in misdated}  # (its overlaps follow from the one wrong date: not said again)
    for prev, nxt in zip(history.versions, history.versions[1:], strict=False):
        overlaps = prev.effective_until is None or prev.effective_until > nxt.effective_from
        if overlaps and id(prev) not in early and id(nxt) not in early:
            until = (f"until {render(prev.effective_until)}" if prev.effective_until
                     else "no effective_until: in force with no end")
            errors.append(nxt.error(
                f"effective period of '{nxt.id}' version '{nxt.version}' (from {_start(nxt)}) "
                f"overlaps version '{prev.version}' in {prev.file} ({until})"
                + (f"; a revision does not end the version it revises: set effective_until: "
                   f"{render(nxt.effective_from)} there" if nxt.revises == prev.version else ""), "effective_from"))
        if " ".join(prev.reference_time.text.split()) != " ".join(nxt.reference_time.text.split()):
            errors.append(nxt.error(
                f"all versions of '{nxt.id}' must use the same reference_time "
                f"('{prev.reference_time.text}' in {prev.file})", "reference_time"))
    errors += [error for _, error in misdated]
    return errors


def _revisions_in_order(history: PolicyHistory, named: dict[str, PolicyVersion]
                        ) -> list[tuple[PolicyVersion, PolicyError]]:
    """A revision is the later text: it comes into force after the version it revises, which ends where the
    revision starts (docs/policies.md, "Versions that inherit"). One in force before it has the wrong date or
    names the wrong version in ``revises:``."""
    errors: list[tuple[PolicyVersion, PolicyError]] = []
    for v in history.versions:
        base = named.get(v.revises) if v.revises is not None else None
        if base is not None and base is not v and v.effective_from < base.effective_from:
            errors.append((v, v.error(
                f"version '{v.version}' of '{v.id}' revises version '{base.version}' but comes into force before "
                f"it (from {_start(v)}; version '{base.version}' in {base.file} from {_start(base)}): a revision is "
                f"the later text; correct effective_from, or name the version it revises in revises:",
                "effective_from")))
    return errors

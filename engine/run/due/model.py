"""Forecast records: what happens next to a rule's verdict on a case, with their JSON shape."""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass
from typing import Any

from policy_eval.lang.values import render_datetime, render_duration
from policy_eval.run.result import Outcome

__all__ = ["Status", "Forecast", "CaseForecast", "human_duration", "any_one_of"]


class Status(enum.StrEnum):
    """Whether a forecast could be made."""

    CHANGES = "changes"        # the verdict changes at ``at`` if nothing happens
    STABLE = "stable"          # it never changes by the passage of time alone
    UNSOLVABLE = "unsolvable"  # the condition's dependence on time is not solved exactly: no forecast
    NO_CLOCK = "no_clock"      # the case has no snapshot time and no --as-of was given


@dataclass(slots=True)
class Forecast:
    """The next change of one rule's verdict on one case if no new event happens."""

    policy: str
    rule: str | None
    version: str | None
    title: str
    clause: str | None
    severity: str
    outcome: Outcome                      # at the start instant
    status: Status
    at: _dt.datetime | None = None        # the first instant with the new verdict
    boundary: _dt.datetime | None = None  # the instant the text sets (a deadline); ``at`` is it or 1 µs after
    becomes: Outcome | None = None
    becomes_version: str | None = None    # when a new version takes effect
    because: str | None = None            # the expression that set the boundary
    prevent: tuple[str, ...] = ()         # absent events that, recorded by the boundary, keep it from changing
    message: str | None = None            # the violation message at ``at``
    remedies: tuple[dict[str, Any], ...] = ()
    note: str | None = None

    @property
    def full_id(self) -> str:
        return f"{self.policy}/{self.rule}" if self.rule else self.policy

    @property
    def becomes_text(self) -> str:
        """What the verdict becomes, in words: an outcome, or for no outcome, the policy coming into force (a
        policy-level line: no version was in force) or the rule going out of force (not in the next version)."""
        if self.becomes is not None:
            return self.becomes.value
        return "in force" if not self.rule else "out of force"

    @property
    def inclusive(self) -> bool:
        """True when the boundary instant itself still has the old verdict (a "by then" deadline)."""
        return self.at is not None and self.boundary is not None and self.at > self.boundary

    def describe(self, start: _dt.datetime | None = None) -> str:
        """One sentence: what happens when, and what would prevent it."""
        if self.status is Status.UNSOLVABLE:
            return f"{self.full_id}: cannot forecast exactly: {self.note}"
        if self.status is Status.NO_CLOCK:
            return f"{self.full_id}: cannot forecast: {self.note}"
        if self.status is Status.STABLE or self.at is None or self.boundary is None:
            return f"{self.full_id}: stays {self.outcome.value} unless a new event happens"
        new = self.becomes_text
        if self.becomes_version is not None:
            new += f" (version {self.becomes_version})"
        when = (f"after {render_datetime(self.boundary)}" if self.inclusive
                else f"at {render_datetime(self.boundary)}")
        text = f"{self.full_id}: {self.outcome.value} → {new} {when}"
        if start is not None:
            text += f" (in {human_duration(self.boundary - start)})"
        if self.because:
            text += f", set by {self.because}"
        if self.prevent:  # each event on its own, with a time still in time, keeps the verdict from changing
            by = "at or before" if self.inclusive else "before"
            text += (f"; it does not become violated if {any_one_of(self.prevent)} is recorded {by} "
                     f"{render_datetime(self.boundary)}")
        if self.remedies:
            text += "; otherwise " + "; ".join(_remedy_text(r) for r in self.remedies)
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policy": self.policy, "rule": self.rule, "id": self.full_id, "version": self.version,
            "title": self.title, "clause": self.clause, "severity": self.severity,
            "outcome": self.outcome.value, "status": self.status.value,
        }
        if self.at is not None:
            out["at"] = render_datetime(self.at)
        if self.boundary is not None:
            out["boundary"] = render_datetime(self.boundary)
            out["inclusive"] = self.inclusive
        if self.becomes is not None or self.status is Status.CHANGES:
            out["becomes"] = self.becomes.value if self.becomes is not None else None
        if self.becomes_version is not None:
            out["becomes_version"] = self.becomes_version
        for key in ("because", "message", "note"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.prevent:
            out["prevent"] = list(self.prevent)
        if self.remedies:
            out["remedies"] = list(self.remedies)
        out["text"] = self.describe()
        return out


def human_duration(td: _dt.timedelta) -> str:
    """A duration as explain and due write it for a person: whole seconds as the language writes durations
    (``3h12m``, ``1d11h10m``); with a fraction of a second, every unit from the largest down to the seconds,
    spaced (``5d 0h 0m 0.000001s``), so that the fraction is not glued to the days. Exact: nothing is rounded."""
    total_us = (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds
    if total_us % 1_000_000 == 0:
        return render_duration(td)
    sign = "-" if total_us < 0 else ""
    secs, us = divmod(abs(total_us), 1_000_000)
    days, secs = divmod(secs, 86400)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"))]
    first = next((i for i, n in enumerate((days, hours, minutes)) if n), 3)
    seconds = f"{secs}.{us:06d}".rstrip("0") + "s"
    return sign + " ".join([*parts[first:], seconds])


def any_one_of(names: tuple[str, ...] | list[str]) -> str:
    """``a``, ``a or b``, ``any one of a, b or c``: alternatives each of which is enough on its own."""
    if len(names) <= 2:
        return " or ".join(names)
    return "any one of " + ", ".join(names[:-1]) + " or " + names[-1]


def _remedy_text(r: dict[str, Any]) -> str:
    parts = [str(r.get("kind"))]
    if r.get("amount_text"):
        parts.append(str(r["amount_text"]))
    if r.get("to"):
        parts.append(f"to the {r['to']}")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class CaseForecast:
    """Every rule's forecast on one case, from ``start`` (the snapshot time or ``--as-of``)."""

    case_id: str | None
    kind: str | None
    source: str | None
    record: int | None
    start: _dt.datetime | None
    clock: tuple[str, ...] = ()           # the case fields that hold "now" (set to each instant tried)
    forecasts: tuple[Forecast, ...] = ()
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"case_id": self.case_id, "kind": self.kind, "source": self.source,
                               "record": self.record,
                               "start": render_datetime(self.start) if self.start is not None else None,
                               "clock": list(self.clock)}
        if self.error is not None:
            out["status"] = "rejected"
            out["error"] = self.error
        else:
            out["status"] = "forecast"
            out["forecasts"] = [f.to_dict() for f in self.forecasts]
        return out

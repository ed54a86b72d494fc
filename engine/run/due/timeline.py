"""A timeline: a case's events and its rules' deadlines on one time axis (text, for ``explain``).

Input: a rulebook, a case and its :class:`~policy_eval.run.result.CaseResult` (and optionally
its :class:`~policy_eval.run.due.model.CaseForecast`). Output: :class:`Mark` rows sorted by
time, and their text. Events are the times the case holds at the paths its rules read; a
deadline is an instant a rule compares one of those times with (solved as forecasts are), so
each deadline is labelled with the rule and the expression that sets it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import SHANGHAI, UNKNOWN, parse_datetime
from policy_eval.rulebook import Rulebook
from policy_eval.run.due.forecast import CLOCK_FIELDS, datetime_paths, rule_nodes, with_values
from policy_eval.run.due.model import CaseForecast, Status
from policy_eval.run.due.solve import Solver, Unsolvable
from policy_eval.run.result import CaseResult, Outcome

__all__ = ["Mark", "timeline", "render_timeline"]


@dataclass(frozen=True, slots=True)
class Mark:
    at: _dt.datetime
    kind: str    # "event", "now" or "deadline"
    label: str


def timeline(rulebook: Rulebook, case: Mapping[str, Any], result: CaseResult,
             forecast: CaseForecast | None = None) -> list[Mark]:
    case = dict(case)
    marks: dict[tuple[_dt.datetime, str], Mark] = {}
    paths: list[str] = []
    deadlines: dict[_dt.datetime, list[str]] = {}
    for r in result.results:
        if r.rule is None or r.outcome is Outcome.NOT_APPLICABLE and not _forecast_changes(forecast, r.full_id):
            continue
        history = rulebook.policies.get(r.policy)
        version = next((v for v in history.versions if v.version == r.version), None) if history else None
        rule = next((x for x in version.rules if x.id == r.rule), None) if version else None
        if rule is None or version is None:
            continue
        try:
            ref = version.reference_time.fn(case, {REF_TIME: UNKNOWN})
        except Exception:  # noqa: BLE001 - the verdict already says so
            ref = UNKNOWN
        env = {REF_TIME: parse_datetime(result.as_of) if result.as_of else ref}
        for path in datetime_paths(rule_nodes(rule)):
            if path not in paths:
                paths.append(path)
            probe = with_values(case, {path: "1970-01-01T00:00:00+00:00"})
            try:
                cands = Solver([path]).candidates(rule_nodes(rule), probe, env)
            except Unsolvable:
                continue
            for c in cands:
                label = f"{r.full_id}: {c.source}"
                if label not in deadlines.setdefault(c.at, []):
                    deadlines[c.at].append(label)
    for path in paths:
        raw = _get(case, path)
        if isinstance(raw, str):
            try:
                at = parse_datetime(raw)
            except ValueError:
                continue
            kind = "now" if path in CLOCK_FIELDS else "event"
            marks[(at, path)] = Mark(at, kind, path + (" (now)" if kind == "now" else ""))
    events = {m.at for m in marks.values()}
    for at, labels in deadlines.items():
        for label in labels:
            if label.endswith(" switches"):
                continue  # where a max/min picks another alternative: a step of the method, not a deadline
            if _is_event_source(case, label):  # an event compared with an event is on the axis already
                continue
            if at in events and _is_name(label):  # a name for an event's time (first_submitted_at), shown there
                continue
            marks[(at, label)] = Mark(at, "deadline", label)
    if forecast is not None:
        for f in forecast.forecasts:
            if f.status is Status.CHANGES and f.boundary is not None:
                new = f.becomes_text
                when = "after this" if f.inclusive else "from this instant"
                same = [k for k in marks if k[0] == f.boundary and k[1].startswith(f.full_id + ": ")]
                source = " ".join(marks.pop(k).label.split(": ", 1)[1] for k in same)
                marks[(f.boundary, f.full_id + "!")] = Mark(
                    f.boundary, "deadline",
                    f"{f.full_id}: {source + ' — ' if source else ''}{f.outcome.value} → {new} {when} if nothing happens")
    return sorted(marks.values(), key=lambda m: (m.at, m.kind != "event", m.label))


def render_timeline(marks: list[Mark]) -> list[str]:
    out = ["timeline (Asia/Shanghai):"]
    symbol = {"event": "●", "now": "▶", "deadline": "◆"}
    for m in marks:
        local = m.at.astimezone(SHANGHAI)
        stamp = local.strftime("%Y-%m-%d %H:%M:%S") + (f".{local.microsecond:06d}" if local.microsecond else "")
        out.append(f"  {stamp}  {symbol[m.kind]} {m.label}")
    return out


def _forecast_changes(forecast: CaseForecast | None, rule_id: str) -> bool:
    return forecast is not None and any(f.full_id == rule_id and f.status is Status.CHANGES
                                        for f in forecast.forecasts)


def _is_event_source(case: Mapping[str, Any], label: str) -> bool:
    """A comparison with a time the case holds (`request.submitted_at`), not a computed deadline."""
    source = label.split(": ", 1)[-1]
    if not (source.startswith("`") and source.endswith("`")):
        return False
    return isinstance(_get(case, source[1:-1]), str)


def _is_name(label: str) -> bool:
    """The deadline is a let's or a definition's value (`first_submitted_at`), not an expression."""
    source = label.split(": ", 1)[-1]
    return source.startswith("`") and source.endswith("`") and source[1:-1].isidentifier()


def _get(case: Mapping[str, Any], path: str) -> Any:
    node: Any = case
    for k in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(k)
    return node

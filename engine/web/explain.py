"""What the case page shows beside the verdicts: per policy the version chosen and why, what would decide
each violated or undetermined verdict otherwise, and the case's timeline (the same words and marks as
``policy-eval explain``).

Input: a loaded rulebook, the case and its :class:`~policy_eval.api.CaseResult`. Output: plain dicts, lists
and strings for the templates.
"""

from __future__ import annotations

import json
from typing import Any

from policy_eval.api import Rulebook

__all__ = ["versions", "ahead", "timeline"]


def _period(version: Any) -> str:
    """A version's period as ``policy-eval explain`` prints it: ``[2021-01-01 .. open)``."""
    return str(version.period())


def versions(book: Rulebook, result: Any, as_of: str | None) -> list[dict[str, Any]]:
    """Per policy of the case's kind, the version applied and why, in ``policy-eval explain``'s words:
    "version 2 chosen: reference_time `request.submitted_at` = … is in [2021-01-01 .. open)"."""
    out = []
    for history in book.book.for_kind(result.kind or ""):
        mine = [r for r in result.results if r.policy == history.id]
        listed = ", ".join(f"{v.version} {_period(v)}" for v in history.versions)
        level = [r for r in mine if r.rule is None]
        if level:  # no version chosen: the reference time is missing, or no version is in force then
            why = f"no version chosen: {level[0].reason}"
            if level[0].missing:
                why += f" (missing: {', '.join(level[0].missing)})"
        elif not mine:
            why = "no rule evaluated"
        else:
            chosen = next(v for v in history.versions if v.version == mine[0].version)
            how = (f"as of {as_of}" if as_of else
                   f"reference_time `{history.latest().reference_time.text.strip()}` = {mine[0].reference_time}")
            why = f"version {chosen.version} chosen: {how} is in {_period(chosen)}"
        out.append({"policy": history.id, "versions": listed, "why": why})
    return out


def ahead(book: Rulebook, case: dict[str, Any], result: Any, as_of: str | None,
          verdicts: list[dict[str, Any]]) -> None:
    """Each violated or undetermined verdict's "would comply" sentences (docs/due.md), as explain shows."""
    from policy_eval.lang.values import parse_datetime
    from policy_eval.run.due.comply import Complier

    complier = Complier(book.book)
    by_id = {r.full_id: r for r in result.results}
    at = parse_datetime(as_of) if as_of else None  # checked already: evaluate() took it
    for v in verdicts:
        r = by_id.get(v["id"])
        if r is not None and v["outcome"] in ("violated", "undetermined"):
            v["comply"] = [c.get("text") or _undetermined_text(c) for c in complier.explain(case, r, as_of=at)]


def timeline(book: Rulebook, case: dict[str, Any], result: Any, as_of: str | None) -> list[dict[str, Any]]:
    """The case's events, its rules' deadlines and "now" on one axis: each mark with its place in percent."""
    from policy_eval.lang.values import SHANGHAI
    from policy_eval.run.due.timeline import timeline as marks_of

    forecast = book.due(case, as_of=as_of or None)
    marks = marks_of(book.book, case, result, forecast if forecast.error is None else None)
    if not marks:
        return []
    first, last = marks[0].at, marks[-1].at
    span = (last - first).total_seconds() or 1.0
    return [{"at": m.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "kind": m.kind, "label": m.label,
             "pos": round(100 * (m.at - first).total_seconds() / span, 2)} for m in marks]


def _undetermined_text(entry: dict[str, Any]) -> str:
    """One line for an undetermined verdict's missing path: the outcome each value or time range gives."""
    if "note" in entry:
        return f"{entry['path']}: {entry['note']}"
    if "values" in entry:
        shown = ", ".join(f"{json.dumps(v['value'], ensure_ascii=False)} gives {v['outcome']}" for v in entry["values"])
        return f"{entry['path']}: {shown}"
    ranges = entry.get("ranges", [])
    shown = "; ".join(f"{r['from'] or '…'} to {r['to'] or '…'}: {r['outcome']}" for r in ranges)
    return f"{entry['path']}: {shown}"

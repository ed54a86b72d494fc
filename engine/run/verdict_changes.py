"""What a revision changes in a verdict whose outcome it keeps: remedies, severity, message (for ``diff``).

Input: the two verdicts of one rule on one case, with the same outcome. Output: the differences a compliance
analyst acts on, grouped per rule by :class:`SameOutcome`:

* remedies, compared exactly on kind, recipient (``to``), amount (:class:`~policy_eval.lang.values.Money`,
  read back from the result's exact JSON form: ``100.00 CNY`` and ``100.0 CNY`` are equal, ``100.00 CNY``
  and ``100.01 CNY`` are not), duration (a ``timedelta``: ``7d`` equals ``168h``) and form; a remedy's prose
  ``description`` is not compared. Remedies are paired identical first, then by kind in order, then what is
  left in order (a kind replaced by another); one on a side only is shown against ``none``. Their order
  alone is no change.
* severity, on violated and undetermined verdicts (the ones a report acts on; a complied or not applicable
  verdict's severity changes nothing for the case).
* message, on violated verdicts: the text a findings record shows (the message, or the reason where the rule
  has none), compared with runs of whitespace as one space (a reflowed YAML block is no change); counted,
  with the first case's old and new text as an example (exact in JSON; on one line, clipped, in text).
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import printable
from policy_eval.lang.values import ValueParseError, parse_duration, parse_money
from policy_eval.run.result import Outcome, RuleResult

__all__ = ["RemedyChange", "SameOutcome", "remedy_changes", "compare_verdicts"]

_SEVERITY_OUTCOMES = (Outcome.VIOLATED, Outcome.UNDETERMINED)
_SHOWN_FIELDS = ("kind", "to", "amount", "amount_text", "duration", "form")  # a remedy as JSON shows it
_EXAMPLE_CHARS = 240  # of a message example in the text report (a message may quote a whole chat line)


def _amount(rem: dict[str, Any]) -> Any:
    """The remedy's amount as a value: Money, "unknown" (an amount that could not be computed) or None."""
    if "amount" not in rem:
        return None
    try:
        return parse_money(rem["amount"]) if rem["amount"] is not None else "unknown"
    except ValueParseError:  # (not a form run.remedies writes; compared as written)
        return ("written", str(rem["amount"]))


def _duration(rem: dict[str, Any]) -> Any:
    """The remedy's duration as a timedelta, "unknown", or None."""
    text = rem.get("duration")
    if text is None or text == "unknown":
        return text
    try:
        return _dt.timedelta(seconds=parse_duration(str(text)).total_seconds())
    except ValueParseError:  # a rendered fraction of a second or a negative duration: compared as written
        return ("written", str(text))


def _key(rem: dict[str, Any]) -> tuple[Any, ...]:
    return (rem.get("kind"), rem.get("to"), _amount(rem), _duration(rem), rem.get("form"))


def _parts(rem: dict[str, Any], fields: Sequence[str]) -> list[str]:
    out = []
    for name in fields:
        if name == "amount":
            out.append(str(rem.get("amount_text") or "unknown") if "amount" in rem else "no amount")
        elif name == "duration":
            out.append(f"for {rem['duration']}" if rem.get("duration") else "no duration")
        elif name == "to":
            out.append(f"to {rem['to']}" if rem.get("to") else "no recipient")
        elif name == "form":
            out.append(f"as {rem['form']}" if rem.get("form") else "no form")
    return out


@dataclass(frozen=True)
class RemedyChange:
    """One remedy as the two sides give it (None: that side has no such remedy); equal and hashed by
    value (``before``/``after``: kind, to, amount, duration, form as values), shown by ``text``."""

    before: tuple[Any, ...] | None
    after: tuple[Any, ...] | None
    text: str = field(compare=False)
    old: dict[str, Any] | None = field(compare=False, default=None)
    new: dict[str, Any] | None = field(compare=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new, "text": self.text}


def _change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> RemedyChange:
    x, y = (_key(old) if old is not None else None), (_key(new) if new is not None else None)
    fields = ("amount", "duration", "to", "form")
    if old is not None and new is not None and x is not None and y is not None and x[0] == y[0]:
        differ = [name for name, a, b in zip(("to", "amount", "duration", "form"), x[1:], y[1:], strict=True) if a != b]
        shown = [name for name in fields if name in differ]
        text = f"{old['kind']} {' '.join(_parts(old, shown))} -> {' '.join(_parts(new, shown))}"
    else:
        forms = old is not None and new is not None and old.get("form") != new.get("form")

        def full(rem: dict[str, Any] | None) -> str:
            if rem is None:
                return "none"
            present = [n for n in fields[:3] if n in rem and (n == "amount" or rem.get(n))]
            return " ".join([str(rem["kind"]), *_parts(rem, present + (["form"] if forms else []))])

        text = f"{full(old)} -> {full(new)}"
    shown_old = {k: old[k] for k in _SHOWN_FIELDS if k in old} if old is not None else None
    shown_new = {k: new[k] for k in _SHOWN_FIELDS if k in new} if new is not None else None
    return RemedyChange(x, y, text, shown_old, shown_new)


def remedy_changes(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> tuple[RemedyChange, ...]:
    """The remedies that differ between two verdicts (see the module docstring); () when none does."""
    x, y = [_key(r) for r in before], [_key(r) for r in after]
    if Counter(x) == Counter(y):
        return ()  # the same remedies, in some order
    free_x, free_y = list(range(len(x))), list(range(len(y)))
    pairs: list[tuple[int | None, int | None]] = []
    for same in (lambda i, j: x[i] == y[j], lambda i, j: x[i][0] == y[j][0], lambda i, j: True):
        for i in list(free_x):
            j = next((j for j in free_y if same(i, j)), None)
            if j is not None:
                free_x.remove(i)
                free_y.remove(j)
                pairs.append((i, j))
    pairs += [(i, None) for i in free_x] + [(None, j) for j in free_y]
    pairs.sort(key=lambda p: (p[1] if p[1] is not None else len(y), p[0] if p[0] is not None else -1))
    return tuple(_change(before[i] if i is not None else None, after[j] if j is not None else None)
                 for i, j in pairs if i is None or j is None or x[i] != y[j])


def _message(result: RuleResult) -> str | None:
    """The message a findings record shows for a violated verdict (None for any other outcome)."""
    if result.outcome is not Outcome.VIOLATED:
        return None
    return str(result.message if result.message is not None else result.reason)


def _words(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


@dataclass
class SameOutcome:
    """Per rule: the cases whose verdict keeps its outcome but changes remedies, severity or message."""

    rule: str
    clause: str | None
    remedies: dict[tuple[str, tuple[RemedyChange, ...]], list[str]] = field(default_factory=dict)
    severity: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)  # (outcome, old, new)
    messages: list[str] = field(default_factory=list)  # cases (violated on both sides)
    example: tuple[str, str, str] | None = None  # (case, old message, new message): the first case

    def add(self, case: str, before: RuleResult, after: RuleResult) -> bool:
        """Record what differs between the two verdicts (same outcome) of ``case``; whether anything does."""
        outcome = after.outcome.value
        found = False
        if before.remedies != after.remedies:
            changes = remedy_changes(before.remedies, after.remedies)
            if changes:
                self.remedies.setdefault((outcome, changes), []).append(case)
                found = True
        if after.outcome in _SEVERITY_OUTCOMES and before.severity != after.severity:
            self.severity.setdefault((outcome, before.severity, after.severity), []).append(case)
            found = True
        old, new = _message(before), _message(after)
        if _words(old) != _words(new):
            self.messages.append(case)
            if self.example is None:
                self.example = (case, old or "", new or "")
            found = True
        return found

    def __bool__(self) -> bool:
        return bool(self.remedies or self.severity or self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "clause": self.clause,
            "remedies": [{"outcome": outcome, "changes": [c.to_dict() for c in changes], "count": len(cases),
                          "cases": cases} for (outcome, changes), cases in self._remedy_groups()],
            "severity": [{"outcome": outcome, "from": x, "to": y, "count": len(cases), "cases": cases}
                         for (outcome, x, y), cases in sorted(self.severity.items(), key=_most_first)],
            "message": None if self.example is None else {
                "outcome": Outcome.VIOLATED.value, "count": len(self.messages), "cases": self.messages,
                "example": {"case": self.example[0], "from": self.example[1], "to": self.example[2]}},
        }

    def _remedy_groups(self) -> list[tuple[tuple[str, tuple[RemedyChange, ...]], list[str]]]:
        return sorted(self.remedies.items(), key=lambda kv: (-len(kv[1]), kv[0][0], [c.text for c in kv[0][1]]))

    def lines(self, shown: Any, limit: int = 8) -> list[str]:
        """Text report lines (indented under the rule's heading); ``shown(cases)``: the cases as listed."""
        out = []
        groups = self._remedy_groups()
        for (outcome, changes), cases in groups[:limit]:
            what = "remedy" if len(changes) == 1 else "remedies"
            out.append(f"  {outcome}, {what} " + printable("; ".join(c.text for c in changes))
                       + f": {_count(cases)} ({shown(cases)})")
        if len(groups) > limit:
            rest = {c for _, cases in groups[limit:] for c in cases}
            out.append(f"  … and {len(groups) - limit} more remedy change(s), in {_count(list(rest))}")
        for (outcome, x, y), cases in sorted(self.severity.items(), key=_most_first):
            out.append(f"  {outcome}, severity " + printable(f"{x} -> {y}") + f": {_count(cases)} ({shown(cases)})")
        if self.example is not None:
            case, old, new = self.example
            out.append(f"  violated, message changed: {_count(self.messages)} ({shown(self.messages)}); "
                       f"e.g. {printable(case)}:")
            out.append(f"    old: {_clip(old, new)}")
            out.append(f"    new: {_clip(new, old)}")
        return out


def _most_first(item: tuple[tuple[str, str, str], list[str]]) -> tuple[int, tuple[str, str, str]]:
    return -len(item[1]), item[0]


def _count(cases: list[str]) -> str:
    return f"{len(cases)} case{'s' if len(cases) != 1 else ''}"


def _clip(text: str, other: str) -> str:
    """``text`` on one line; a long one clipped to a window that starts shortly before where it first differs
    from ``other``, so the difference is in view."""
    text, other = " ".join(text.split()), " ".join(other.split())
    if len(text) <= _EXAMPLE_CHARS:
        return printable(text)
    first = next((i for i, (a, b) in enumerate(zip(text, other, strict=False)) if a != b), min(len(text), len(other)))
    start = max(0, min(first - _EXAMPLE_CHARS // 3, len(text) - _EXAMPLE_CHARS))
    end = start + _EXAMPLE_CHARS
    return ("…" if start else "") + printable(text[start:end]) + ("…" if end < len(text) else "")


def compare_verdicts(found: dict[str, SameOutcome], case: str, before: RuleResult, after: RuleResult) -> bool:
    """Record in ``found`` (rule → :class:`SameOutcome`) what differs between two verdicts of one rule with the
    same outcome on ``case``; whether anything does."""
    entry = found.get(after.full_id)
    if entry is None:
        entry = SameOutcome(after.full_id, after.clause)
    if not entry.add(case, before, after):
        return False
    found[after.full_id] = entry
    return True

"""Impact of a policy revision: which cases change outcome, for which rule.

Input: two rulebooks and the same case records. Output: transitions
``(rule, from_outcome, to_outcome) → [case ids]`` plus totals, so an author
sees before publishing that e.g. "37 cases go from violated to complied".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .evaluate import Evaluator
from .result import CaseResult
from .rulebook import Rulebook

__all__ = ["Transition", "DiffReport", "diff_rulebooks", "latest_only"]


@dataclass
class Transition:
    rule: str
    clause: str | None
    before: str
    after: str
    cases: list[str] = field(default_factory=list)


@dataclass
class DiffReport:
    cases: int = 0
    changed_cases: int = 0
    rejected: int = 0
    transitions: dict[tuple[str, str, str], Transition] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases, "changed_cases": self.changed_cases, "rejected": self.rejected,
            "transitions": [
                {"rule": t.rule, "clause": t.clause, "from": t.before, "to": t.after, "count": len(t.cases),
                 "cases": t.cases}
                for t in sorted(self.transitions.values(), key=lambda t: (-len(t.cases), t.rule, t.before, t.after))
            ],
        }

    def text(self) -> str:
        lines = []
        for t in sorted(self.transitions.values(), key=lambda t: (-len(t.cases), t.rule)):
            clause = f" [{t.clause}]" if t.clause else ""
            shown = ", ".join(t.cases[:8]) + (" …" if len(t.cases) > 8 else "")
            lines.append(f"{len(t.cases)} case(s) go from {t.before} to {t.after} under {t.rule}{clause}: {shown}")
        lines.append(f"{self.changed_cases} of {self.cases} case(s) change outcome"
                     + (f"; {self.rejected} rejected" if self.rejected else ""))
        return "\n".join(lines)


def latest_only(rulebook: Rulebook) -> Rulebook:
    """The same rulebook with only the latest version of each policy, in force at every time."""
    import copy

    clone = copy.copy(rulebook)
    clone.policies = {}
    for pid, history in rulebook.policies.items():
        h = copy.copy(history)
        v = copy.copy(history.latest())
        v.effective_from = v.effective_from.replace(year=1)
        v.effective_until = None
        h.versions = [v]
        clone.policies[pid] = h
    return clone


def _key(case: CaseResult, index: int) -> str:
    return case.case_id or f"{case.source}:{case.record or index}"


def diff_rulebooks(old: Evaluator, new: Evaluator, records: Iterable[tuple[str, int, Any]],
                   as_of: Any = None) -> DiffReport:
    report = DiffReport()
    for index, (source, number, case) in enumerate(records, 1):
        report.cases += 1
        if not isinstance(case, dict):
            report.rejected += 1
            continue
        before = old.evaluate(case, as_of=as_of, source=source, record=number)
        after = new.evaluate(case, as_of=as_of, source=source, record=number)
        a = {r.full_id: r for r in before.results}
        b = {r.full_id: r for r in after.results}
        changed = False
        for rule_id in sorted(set(a) | set(b)):
            x = a[rule_id].outcome.value if rule_id in a else "absent"
            y = b[rule_id].outcome.value if rule_id in b else "absent"
            if x == y:
                continue
            changed = True
            clause = (b.get(rule_id) or a[rule_id]).clause
            t = report.transitions.setdefault((rule_id, x, y), Transition(rule_id, clause, x, y))
            t.cases.append(_key(before, index))
        report.changed_cases += changed
    return report

"""Which rules a run judges: ``--only``, ``--skip`` and ``--min-severity`` (rule ids, full ids or policy ids)."""

from __future__ import annotations

from dataclasses import dataclass

from policy_eval.rulebook.policy import Rule

__all__ = ["Selection", "SEVERITY_ORDER"]

SEVERITY_ORDER = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass
class Selection:
    only: frozenset[str] | None
    skip: frozenset[str]
    min_severity: int

    def wants(self, rule: Rule) -> bool:
        ids = {rule.id, rule.full_id, rule.policy_id}
        if self.only is not None and not (ids & self.only):
            return False
        if ids & self.skip:
            return False
        return SEVERITY_ORDER.get(rule.severity, 0) >= self.min_severity

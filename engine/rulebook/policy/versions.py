"""The versions of one policy, checked together: names, reference time, periods in force."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import PolicyError
from policy_eval.lang.values import render
from policy_eval.rulebook.policy.model import PolicyVersion

__all__ = ["PolicyHistory", "check_versions"]


@dataclass
class PolicyHistory:
    """All versions of one policy id, oldest first."""

    id: str
    applies_to: str
    versions: list[PolicyVersion] = field(default_factory=list)

    def at(self, when: Any) -> PolicyVersion | None:
        """The version in force at an instant, if any."""
        for v in self.versions:  # a loop, not next(genexpr): this runs for every policy of every case
            if v.in_force(when):
                return v
        return None

    def latest(self) -> PolicyVersion:
        return self.versions[-1]


def check_versions(history: PolicyHistory) -> list[PolicyError]:
    """Versions of one policy: distinct version names, one reference_time, periods that do not overlap."""
    errors: list[PolicyError] = []
    history.versions.sort(key=lambda v: v.effective_from)
    seen: dict[str, PolicyVersion] = {}
    for v in history.versions:
        if v.version in seen:
            errors.append(v.error(f"version '{v.version}' of policy '{v.id}' is defined twice "
                                  f"(also in {seen[v.version].file})", "version"))
        seen[v.version] = v
    for prev, nxt in zip(history.versions, history.versions[1:], strict=False):
        if prev.effective_until is None or prev.effective_until > nxt.effective_from:
            until = render(prev.effective_until) if prev.effective_until else "open-ended"
            errors.append(nxt.error(
                f"effective period of '{nxt.id}' version '{nxt.version}' (from {render(nxt.effective_from)}) "
                f"overlaps version '{prev.version}' in {prev.file} (until {until})"
                + (f"; a revision does not end the version it revises: set effective_until: "
                   f"{render(nxt.effective_from)} there" if nxt.revises == prev.version else ""), "effective_from"))
        if " ".join(prev.reference_time.text.split()) != " ".join(nxt.reference_time.text.split()):
            errors.append(nxt.error(
                f"all versions of '{nxt.id}' must use the same reference_time "
                f"('{prev.reference_time.text}' in {prev.file})", "reference_time"))
    return errors

"""The classes of the embedding API's lazy verdicts (run.lazy): per rule, one per outcome, holding what every
verdict of that rule and outcome shares (the rule's constants, and the reason where it does not depend on the case).
"""

from __future__ import annotations

from typing import Any

from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.compose import dated
from policy_eval.run.result import LazyResult, Outcome

__all__ = ["lazy_kinds"]

_COMPLIED = Outcome.COMPLIED
_NOT_APPLICABLE = Outcome.NOT_APPLICABLE
_VIOLATED = Outcome.VIOLATED


def lazy_kinds(version: PolicyVersion, rule: Rule, reasons: dict[Outcome, str],
               deployed: dict[str, dict[str, Any]] | None) -> dict[Outcome, type[LazyResult]]:
    """The classes of a rule's lazy verdicts, one per outcome: the fields that do not depend on the case.
    ``deployed``: the rule's deployment parameters (compose.deployed); unless one is dated, every verdict of the
    rule records them as they are (compose.in_force), or none. So diff and the workbench's impact, which read
    every verdict's parameters and remedies, fill only the violated verdicts."""
    fixed: dict[str, Any] = {"policy": version.id, "version": version.version, "rule": rule.id,
                             "title": rule.title, "clause": rule.clause, "severity": rule.severity, "waiver": None}
    if not deployed or not dated(deployed):
        fixed["params"] = deployed or None
    if not rule.depends_on:
        fixed["depends"] = None
    out = {}
    for outcome in (_COMPLIED, _NOT_APPLICABLE, _VIOLATED):
        constants: dict[str, Any] = {**fixed, "outcome": outcome}
        if outcome is not _VIOLATED:  # (only a violated verdict has a message and remedies: run.judge)
            constants["message"], constants["remedies"] = None, ()
        # a not-applicable verdict's reason names the dependency that made it so, if one did
        if outcome is _COMPLIED or (outcome is _NOT_APPLICABLE and not rule.depends_on):
            constants["reason"] = reasons[outcome]
        out[outcome] = LazyResult.of(constants)
    return out

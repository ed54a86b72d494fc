"""Verdicts: the four outcomes and the result records, with their JSON shape.

The JSON shape is documented by ``schemas/result.schema.json`` and is
stable: other tools consume it.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcome", "RuleResult", "CaseResult", "RESULT_FORMAT_VERSION"]

RESULT_FORMAT_VERSION = "1"


class Outcome(enum.StrEnum):
    """The four outcomes of a rule on a case (a waived rule is ``not_applicable`` with its waiver)."""

    COMPLIED = "complied"
    VIOLATED = "violated"
    NOT_APPLICABLE = "not_applicable"
    UNDETERMINED = "undetermined"


@dataclass(slots=True)
class RuleResult:
    """The verdict of one rule (or of a whole policy, when ``rule`` is None) on one case.

    Treat it as immutable. (Not a frozen dataclass: a batch builds tens of millions of these, and a
    frozen dataclass's ``__init__`` costs several times more.)
    """

    policy: str
    version: str | None
    rule: str | None
    title: str
    clause: str | None
    outcome: Outcome
    severity: str
    reason: str
    message: str | None = None
    remedies: tuple[dict[str, Any], ...] = ()
    missing: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)
    explanation: tuple[dict[str, Any], ...] = ()
    waiver: dict[str, Any] | None = None
    error: str | None = None
    reference_time: str | None = None
    depends: dict[str, str] | None = None  # rule it depends on → that rule's outcome (before any waiver)
    params: dict[str, dict[str, Any]] | None = None  # deployment parameter → {"value", "source"}

    @property
    def full_id(self) -> str:
        return f"{self.policy}/{self.rule}" if self.rule else self.policy

    def to_dict(self, *, with_inputs: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policy": self.policy, "version": self.version, "rule": self.rule, "id": self.full_id,
            "title": self.title, "clause": self.clause, "outcome": self.outcome.value,
            "severity": self.severity, "reason": self.reason, "reference_time": self.reference_time,
        }
        if self.message is not None:
            out["message"] = self.message
        if self.remedies:
            out["remedies"] = list(self.remedies)
        if self.missing:
            out["missing"] = list(self.missing)
        if self.inputs and (with_inputs or self.explanation):
            out["inputs"] = self.inputs
        if self.explanation:
            out["explanation"] = list(self.explanation)
        if self.waiver is not None:
            out["waiver"] = self.waiver
        if self.error is not None:
            out["error"] = self.error
        if self.depends:
            out["depends"] = self.depends
        if self.params:
            out["params"] = self.params
        return out


@dataclass(frozen=True)
class CaseResult:
    """Every verdict on one case, or the error that kept the case from being evaluated."""

    case_id: str | None
    kind: str | None
    source: str | None
    record: int | None
    results: tuple[RuleResult, ...] = ()
    rulebook: str = ""
    as_of: str | None = None
    error: dict[str, Any] | None = None

    @property
    def violated(self) -> list[RuleResult]:
        return [r for r in self.results if r.outcome is Outcome.VIOLATED]

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in Outcome}
        for r in self.results:
            out[r.outcome.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": RESULT_FORMAT_VERSION, "case_id": self.case_id, "kind": self.kind,
            "source": self.source, "record": self.record, "rulebook": self.rulebook,
        }
        if self.as_of is not None:
            out["as_of"] = self.as_of
        if self.error is not None:
            out["status"] = "rejected"
            out["error"] = self.error
        else:
            out["status"] = "evaluated"
            out["summary"] = self.counts()
            # The values read are listed once for the case (every rule's reads of it agree); a rule
            # repeats its own only beside an explanation, where they may include list items.
            inputs: dict[str, Any] = {}
            for r in self.results:
                if r.inputs:
                    inputs.update(r.inputs)
            out["inputs"] = inputs
            out["results"] = [r.to_dict(with_inputs=False) for r in self.results]
        return out

    def to_json(self) -> str:
        """The JSON text of :meth:`to_dict` (one JSON Lines record)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str)

"""What lint reports: the list of checks, a finding, and the input every check reads.

Input: nothing (definitions only). Output: :data:`CHECKS` (id, severity, summary; docs/lint.md lists the
same), :class:`Finding` and :class:`LintInput`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_eval.rulebook import Rulebook
from policy_eval.rulebook.yamlload import Positions

__all__ = ["Check", "CHECKS", "Finding", "LintInput"]


@dataclass(frozen=True)
class Check:
    id: str
    severity: str  # "error", "warning" or "info"
    summary: str


CHECKS: dict[str, Check] = {c.id: c for c in (
    Check("constant-condition", "warning",
          "a condition is always true or always false given the case schema (e.g. an enum field compared "
          "with a value it cannot take)"),
    Check("rule-never-applies", "warning", "a rule's 'when' can never hold, so the rule never applies"),
    Check("unused-parameter", "warning", "a parameter no rule, let, message, remedy or waiver uses"),
    Check("unused-inherited-parameter", "info",
          "a parameter a revision inherits that none of its rules uses any more (a revision cannot drop it)"),
    Check("unused-let", "warning", "a let-binding its rule never uses"),
    Check("unused-definition", "warning",
          "a policy-level definition that no rule, waiver or used definition refers to"),
    Check("shared-parameter", "info", "a parameter used by several rules (they change together)"),
    Check("identical-version", "warning",
          "a policy version whose rules (conditions, messages, remedies) and parameters equal its predecessor's"),
    Check("stale-inherited-text", "warning",
          "a revision gives a parameter another value while a title, reading or message it inherits still "
          "quotes the old one"),
    Check("parameter-without-clause", "warning",
          "a parameter without the clause that gives its number or leaves it to the platform"),
    Check("rule-untested", "warning", "a rule of some version that no policy test expects an outcome of"),
    Check("no-tests-found", "info", "no policy test was found for the policies linted, so rule-untested was skipped"),
    Check("message-reads-unread-path", "info",
          "a rule's message shows a case fact (other than an identifier) that neither its 'when' nor its "
          "condition reads: the message may state more than the verdict rests on"),
    Check("conflicting-rules", "warning",
          "two rules with the same clause and 'when' whose conditions demand opposite things"),
    Check("comment-continues-condition", "warning",
          "a YAML comment after a condition written without quotes that reads as more of it ('require: X  # and "
          "Y'): YAML drops it, so the condition is X alone"),
    Check("version-gap", "warning",
          "a policy version ends before the next one starts: a case in between is judged by no version (not "
          "applicable, counted clean)"),
    Check("replaced-rule-clause", "warning",
          "a revision's rule has the id of an inherited rule, so replaces it, but cites another clause (a new rule "
          "given an existing id?)"),
    Check("full-width-list-separator", "warning",
          "a list parameter's item holds a full-width '，' or '、' between words: YAML reads it as one item "
          "('[水果，生鲜, 汽车]' is two items)"),
    Check("suppression-without-reason", "warning", "a '# lint: ignore[...]' comment that gives no reason"),
)}


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    file: str
    line: int
    column: int

    @property
    def severity(self) -> str:
        return CHECKS[self.check].severity

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}[{self.check}]: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "message": self.message, "file": self.file,
                "line": self.line, "column": self.column}


@dataclass
class LintInput:
    """What the checks see: the rulebook, each policy file's data and positions, and the policy tests."""

    rulebook: Rulebook
    sources: dict[str, tuple[Any, Positions]]  # keyed by PolicyVersion.file
    test_files: list[Path]
    # per file, where each rule id is written in it (lintchecks._rule_path), filled once
    written: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict, repr=False)

    def where(self, file: str, path: tuple[Any, ...], *, key: bool = False) -> tuple[int, int]:
        source = self.sources.get(file)
        return source[1].where(path, key=key) if source is not None else (1, 1)

    def finding(self, check: str, message: str, file: str, path: tuple[Any, ...], *, key: bool = False) -> Finding:
        line, column = self.where(file, path, key=key)
        return Finding(check, message, file, line, column)



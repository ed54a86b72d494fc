"""Lint checks on how a policy's versions follow one another: ``version-gap`` and ``replaced-rule-clause``.

Input: a :class:`~policy_eval.authoring.findings.LintInput`. Output: findings.

* ``version-gap``: a version ends before the next one starts (``effective_until: 2027-01-01`` in one file,
  ``effective_from: 2027-01-01T00:00:00Z`` in the next leaves eight hours of Beijing time). A case whose
  reference time falls in between is judged by no version: one policy-level verdict, not applicable, and the
  case counts as clean. The finding stands at the later version's ``effective_from`` and names both instants.
* ``replaced-rule-clause``: a revision's ``rules:`` entry has the id of an inherited rule, which it replaces in
  place, and cites another clause: most likely a new rule given an existing id by mistake (the inherited rule
  is gone from the revision). A deliberate change of an inherited rule keeps its clause, or says so with
  ``amend:``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policy_eval.authoring.findings import Finding, LintInput
from policy_eval.rulebook.policy import PolicyVersion
from policy_eval.rulebook.policy.inherit import shown_beside
from policy_eval.rulebook.policy.model import boundary_text

__all__ = ["version_gaps", "replaced_rule_clauses", "revisions"]


def version_gaps(data: LintInput) -> Iterator[Finding]:
    for history in data.rulebook.policies.values():
        for prev, nxt in zip(history.versions, history.versions[1:], strict=False):
            end = prev.effective_until
            if end is None or not end < nxt.effective_from:
                continue
            start, until = boundary_text(nxt.effective_from), boundary_text(end)
            yield data.finding(
                "version-gap",
                f"version '{prev.version}' of '{history.id}' ends at {until} ({shown_beside(prev.file, nxt.file)}) "
                f"but version '{nxt.version}' starts only at {start}: a case whose reference time falls in "
                f"[{until} .. {start}) is judged by no version of '{history.id}' (not applicable, counted clean); "
                f"start version '{nxt.version}' at {until}, or end version '{prev.version}' at {start}",
                nxt.file, ("policy", "effective_from"))


def _written_rules(data: LintInput, file: str) -> list[tuple[int, dict[str, Any]]]:
    raw: Any = data.sources.get(file, ({},))[0]
    rules = raw.get("rules") if isinstance(raw, dict) else None
    return [(i, r) for i, r in enumerate(rules) if isinstance(r, dict)] if isinstance(rules, list) else []


def revisions(data: LintInput) -> Iterator[tuple[PolicyVersion, PolicyVersion]]:
    """Each version that revises another (``revises:``), with the version it revises."""
    for history in data.rulebook.policies.values():
        by_version = {v.version: v for v in history.versions}
        for version in history.versions:
            base = by_version.get(version.revises) if version.revises is not None else None
            if base is not None:
                yield version, base


def replaced_rule_clauses(data: LintInput) -> Iterator[Finding]:
    for version, base in revisions(data):
        inherited = {r.id: r for r in base.rules}
        for index, entry in _written_rules(data, version.file):
            old = inherited.get(entry.get("id"))  # type: ignore[arg-type]
            clause = entry.get("clause")
            if old is None or not isinstance(clause, str) or clause.strip() == old.clause.strip():
                continue
            yield data.finding(
                "replaced-rule-clause",
                f"rule '{old.id}' replaces the rule of that id it inherits from version '{base.version}' "
                f"({shown_beside(old.file, version.file)}:{old.line}, clause {old.clause}) and cites another "
                f"clause ({clause.strip()}): if it is a new rule, give it an id of its own (the inherited one "
                "is otherwise gone from this version); to change the inherited rule, keep its clause or use "
                "'amend:'", version.file, ("rules", index, "id"))

"""The ``unused-definition`` lint check: policy-level ``definitions:`` that nothing reaches.

Input: a :class:`~policy_eval.authoring.findings.LintInput`. Output: a finding at the key of each definition
that no rule (its when, condition, lets, message or remedies), waiver or reference time reaches, directly or
through other definitions. A definition used only by definitions that are themselves unused is unused too,
and the finding names them. A revision inherits its definitions: a definition is reported in the file that
writes it, and it is used when any version inheriting it uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policy_eval.authoring.findings import Finding, LintInput
from policy_eval.lang import ir
from policy_eval.rulebook.policy import PolicyVersion

__all__ = ["unused_definitions"]


def _names(node: ir.IR, defined: dict[str, Any]) -> set[str]:
    """The definitions a node refers to directly (not through another definition)."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ir.LetRef):
            if n.name in defined:
                out.add(n.name)
                continue  # a definition's body is walked when the definition is reached
            stack.append(n.expr)  # a rule's let: what it uses counts for the rule
            continue
        stack += ir.children(n)
    return out


def _roots(version: PolicyVersion) -> list[ir.IR]:
    nodes: list[ir.IR] = [version.reference_time.node]
    nodes += [w.scope.node for w in version.waivers]
    for rule in version.rules:
        nodes.append(rule.condition.node)
        if rule.when is not None:
            nodes.append(rule.when.node)
        nodes += [c.node for c in rule.lets.values()]
        nodes += rule.shown_nodes()  # (its message and each remedy's when, amount and duration)
    return nodes


def _written(data: LintInput, file: str) -> dict[str, Any]:
    raw = data.sources.get(file, (None,))[0]
    defs = raw.get("definitions") if isinstance(raw, dict) else None
    return defs if isinstance(defs, dict) else {}


def _origin(data: LintInput, version: PolicyVersion, name: str) -> str:
    """The file that writes the definition ``name`` as ``version`` has it (itself or a version it revises)."""
    seen: set[str] = set()
    current: PolicyVersion | None = version
    while current is not None and current.version not in seen:
        if name in _written(data, current.file):
            return current.file
        seen.add(current.version)
        history = data.rulebook.policies.get(current.id)
        current = next((v for v in history.versions if v.version == current.revises), None) \
            if history is not None and current.revises else None
    return version.file


def unused_definitions(data: LintInput) -> Iterator[Finding]:
    used: set[tuple[str, str]] = set()
    users: dict[tuple[str, str], set[str]] = {}  # (file, name) → the definitions that use it
    for version in data.rulebook.versions():
        defined = version.definitions
        reached: set[str] = set()
        todo = set().union(*(_names(n, defined) for n in _roots(version)))
        while todo:
            name = todo.pop()
            if name not in reached:
                reached.add(name)
                todo |= _names(defined[name].node, defined)
        used |= {(_origin(data, version, n), n) for n in reached}
        for name, cond in defined.items():
            for dep in _names(cond.node, defined):
                users.setdefault((_origin(data, version, dep), dep), set()).add(name)
    for file in sorted(data.sources):
        for name in _written(data, file):
            if (file, name) in used:
                continue
            by = sorted(users.get((file, name), set()))
            why = (f"is used only by definitions that are themselves unused: {', '.join(by)}" if by else
                   "is not used by any rule, waiver or other definition")
            yield data.finding("unused-definition", f"definition '{name}' {why}", file, ("definitions", name),
                               key=True)

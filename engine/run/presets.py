"""Full detail's quiet verdicts, made from constants: most of what a complied verdict says is its rule's.

In full detail (``eval --detail full``, the web workbench, ``policy-eval test``) every rule of every case
gets a verdict. A complied or not-applicable verdict of a rule without dependencies, on a case the version's
fused function decided (run.kernel), and not explained, says only constants of its rule (id, title, clause,
severity, the fixed reason, its deployment parameters when none is dated) plus the case's reference time and
the inputs it read. For each such rule and outcome a :class:`~policy_eval.run.result.PresetResult` class is
made once, holding the constants and a ready record; a verdict is then that class with two fields set, the
same verdict the general path (``Evaluator._judge`` then ``compose.finish``) builds, field for field
(tests/test_presets.py compares them on the golden corpus). Every other verdict goes the general path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.result import Outcome, PresetResult

__all__ = ["presets"]

_COMPLIED = Outcome.COMPLIED
_NOT_APPLICABLE = Outcome.NOT_APPLICABLE


def presets(versions: Iterable[PolicyVersion], reasons: dict[int, dict[Outcome, str]],
            deployed: dict[int, dict[str, dict[str, Any]]], explained: frozenset[Outcome], dated: Any
            ) -> dict[int, dict[Outcome, type[PresetResult]]]:
    """Per rule (by id) that can have them, the preset classes of its quiet outcomes that are not explained.

    ``reasons``: each rule's complied and not-applicable reasons; ``deployed``: each rule's recorded
    deployment parameters (run.compose.deployed); ``dated``: whether one of those has a dated value
    (then the value depends on the case's reference time, and the rule is left to the general path)."""
    out: dict[int, dict[Outcome, type[PresetResult]]] = {}
    for v in versions:
        if v.waivers:
            continue
        for r in v.rules:
            params = deployed.get(id(r))
            if r.depends_on or (params and dated(params)):
                continue
            kinds = {o: _kind(v, r, o, reasons[id(r)][o], params) for o in (_COMPLIED, _NOT_APPLICABLE)
                     if o not in explained}
            if kinds:
                out[id(r)] = kinds
    return out


def _kind(version: PolicyVersion, rule: Rule, outcome: Outcome, reason: str,
          params: dict[str, dict[str, Any]] | None) -> type[PresetResult]:
    return PresetResult.of({
        "policy": version.id, "version": version.version, "rule": rule.id, "title": rule.title,
        "clause": rule.clause, "outcome": outcome, "severity": rule.severity, "reason": reason, "message": None,
        "remedies": (), "missing": (), "explanation": (), "waiver": None, "error": None, "depends": None,
        "params": params or None, "comply": ()})

"""The embedding API's verdicts, built with their outcome and filled when more is read.

``Rulebook.evaluate`` (an evaluator with ``lazy=True``) gets each rule's outcome from the version's fused
function (run.kernel); a rule that complied, was violated or does not apply then becomes a
:class:`~policy_eval.run.result.LazyResult` of a class made once per rule and outcome, which holds the
rule's constants (policy, version, id, title, clause, severity, outcome, no waiver, and the reason where it
does not depend on the case). Reading any other field fills the verdict whole from the general path
(``Evaluator._rule`` with the outcome already decided), within a fresh rule budget, so what is read is what
an eager evaluation gives. An undetermined verdict is built by the general path at once: its missing paths
come from a trace. Versions with waivers are not judged this way (a waiver changes outcome and reason).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from policy_eval.lang.budget import _CURRENT as _METER
from policy_eval.lang.budget import Meter
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import PolicyHistory
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.kernel import Kernel
from policy_eval.run.result import LazyResult, Outcome, RuleResult

__all__ = ["LazyVerdicts"]

_COMPLIED = Outcome.COMPLIED
_NOT_APPLICABLE = Outcome.NOT_APPLICABLE
_VIOLATED = Outcome.VIOLATED
_new = object.__new__
_QUIET = frozenset({_COMPLIED, _NOT_APPLICABLE})
_NO_OUTCOME: frozenset[Outcome] = frozenset()

# Evaluator._rule(version, rule, case, env, ref_text, seen, done, nulls, decided)
General = Callable[..., "RuleResult | Outcome"]


class LazyVerdicts:
    def __init__(self, versions: Iterable[PolicyVersion], reasons: dict[int, dict[Outcome, str]],
                 general: General, budget: int | None, kernel: Kernel, selected: dict[int, list[Rule]],
                 text: Callable[[Any], str], findings: bool = False) -> None:
        """``reasons``: per rule (by id), the reasons of its complied and not-applicable verdicts that do not
        depend on the case; ``general``: the evaluator's general path for one rule; ``kernel``: the versions'
        fused functions; ``selected``: each version's selected rules, in order; ``text``: an instant as
        verdicts show it; ``findings``: complied and not-applicable verdicts are counted, not made (findings
        detail: only the violated ones are lazy verdicts)."""
        self._general = general
        self._findings = findings
        self._budget = budget
        self._text = text
        self._kinds: dict[int, dict[Outcome, type[LazyResult]]] = {}
        self._rule_of: dict[tuple[int, str], Rule] = {}
        # per version judged this way: its fused function, its planned rules with their lazy classes, and the
        # selected rules' places among them when a plan adds or reorders rules (None: the same list)
        self._ready: dict[int, tuple[Any, list[tuple[Rule, dict[Outcome, type[LazyResult]] | None]],
                                     list[int] | None]] = {}
        for v in versions:
            if v.waivers:
                continue
            for r in v.rules:
                self._kinds[id(r)] = _kinds(v, r, reasons[id(r)])
                self._rule_of[(id(v), r.id)] = r
            fused = kernel.fused(v)
            if fused is not None:
                fn, planned = fused
                place = {r.id: i for i, r in enumerate(planned)}
                wanted = [place[r.id] for r in selected[id(v)]]
                self._ready[id(v)] = (fn, [(r, self._kinds.get(id(r))) for r in planned],
                                      None if wanted == list(range(len(planned))) else wanted)

    def case(self, histories: Iterable[PolicyHistory], case: dict[str, Any], as_of: Any, meter: Meter | None
             ) -> tuple[list[RuleResult], list[tuple[str, str | None]], int, int] | None:
        """The verdicts of a case without explicit nulls, the versions applied, policy by policy, and (findings)
        the complied and not-applicable verdicts counted; None when a policy needs the general path (no
        reference time, no version in force, waivers, a fused function that raised): the caller then
        evaluates the whole case that way."""
        results: list[RuleResult] = []
        versions: list[tuple[str, str | None]] = []
        quiet = _QUIET if self._findings else _NO_OUTCOME
        complied = not_applicable = 0
        for history in histories:
            ref = as_of
            if ref is None:
                try:
                    ref = history.versions[-1].reference_time.fn(case, {REF_TIME: UNKNOWN})
                except DATA_ERRORS:
                    return None
                if ref is UNKNOWN:
                    return None
            version = history.at(ref)
            ready = self._ready.get(id(version)) if version is not None else None
            if ready is None or (quick := ready[0](case, {REF_TIME: ref}, meter)) is None:
                return None
            assert version is not None
            ref_text = self._text(ref)
            env = {REF_TIME: ref}
            done: dict[str, RuleResult | Outcome] = {}
            fill = (self._fill, (version, case, env, ref_text, done))
            made: list[RuleResult | Outcome] = []
            for (rule, kinds), outcome in zip(ready[1], quick[3], strict=True):
                if outcome in quiet:  # findings detail: counted (quick's counts), bare as the general path has it
                    done[rule.id] = result = outcome
                elif kinds is not None and (kind := kinds.get(outcome)) is not None:
                    result = _new(kind)
                    result.reference_time = ref_text
                    result._fill = fill
                    done[rule.id] = result
                else:
                    done[rule.id] = result = self._general(version, rule, case, env, ref_text, None, done, (),
                                                           outcome)
                made.append(result)
            made = made if ready[2] is None else [made[i] for i in ready[2]]
            if quiet:
                complied += quick[0]
                not_applicable += quick[1]
            if quiet:  # findings detail: the complied and not-applicable outcomes are counted above, not kept
                results.extend(r for r in made if isinstance(r, RuleResult))
            else:
                results.extend(made)  # type: ignore[arg-type]  # full detail: every one a verdict
            versions.append((history.id, version.version))
        return results, versions, complied, not_applicable

    def _fill(self, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any], ref_text: str,
              done: dict[str, RuleResult | Outcome], lazy: LazyResult) -> RuleResult | Outcome:
        """A lazy verdict's whole record, when first read: the general path's, within a fresh rule budget."""
        rule = self._rule_of[(id(version), lazy.rule or "")]
        token = _METER.set(Meter(self._budget) if self._budget is not None else None)
        try:
            return self._general(version, rule, case, env, ref_text, None, done, (), lazy.outcome)
        finally:
            _METER.reset(token)


def _kinds(version: PolicyVersion, rule: Rule, reasons: dict[Outcome, str]) -> dict[Outcome, type[LazyResult]]:
    """The classes of a rule's lazy verdicts, one per outcome: the fields that do not depend on the case."""
    fixed = {"policy": version.id, "version": version.version, "rule": rule.id, "title": rule.title,
             "clause": rule.clause, "severity": rule.severity, "waiver": None}
    out = {}
    for outcome in (_COMPLIED, _NOT_APPLICABLE, _VIOLATED):
        constants: dict[str, Any] = {**fixed, "outcome": outcome}
        # a not-applicable verdict's reason names the dependency that made it so, if one did
        if outcome is _COMPLIED or (outcome is _NOT_APPLICABLE and not rule.depends_on):
            constants["reason"] = reasons[outcome]
        out[outcome] = LazyResult.of(constants)
    return out

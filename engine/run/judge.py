"""One rule's verdict, built from the outcome its conditions were found to have.

Input: a rule, the case and its environment, the outcome :func:`policy_eval.run.kernel.decide` found (and the
error that made it undetermined). Output: a :class:`~policy_eval.run.result.RuleResult` with its message,
remedies, reason, waiver, missing paths, explanation and inputs; in findings detail a complied or
not-applicable verdict is its bare :class:`~policy_eval.run.result.Outcome`. The evaluator
(:class:`policy_eval.run.evaluate.Evaluator`, a :class:`Judge`) decides which rules run and on what; this
builds what each says, with the per-rule tables the evaluator computes once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import to_json
from policy_eval.rulebook import PolicyHistory
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run import compose
from policy_eval.run.explaining import case_inputs, explanation, known_lets, trace_rule
from policy_eval.run.explaining import reason as reason_for
from policy_eval.run.later import Later, LaterInputs
from policy_eval.run.nullshown import NO_NULL, shown
from policy_eval.run.result import Outcome, RuleResult
from policy_eval.run.violated import Maker, compile_violated
from policy_eval.run.waived import waiver_of

__all__ = ["Judge"]

# (module globals, not Outcome's attributes: an Enum class's attribute goes through EnumType.__getattr__'s slot in
# Python 3.11, 83 ns against 6.5)
_COMPLIED, _VIOLATED = Outcome.COMPLIED, Outcome.VIOLATED
_NOT_APPLICABLE, _UNDETERMINED = Outcome.NOT_APPLICABLE, Outcome.UNDETERMINED


class Judge:
    """Builds verdicts; the evaluator sets the tables below when it is made."""

    findings: bool  # findings detail: complied and not-applicable verdicts are bare outcomes
    lazy: bool  # the embedding API: explanations and inputs computed when read
    record_inputs: bool
    _explained: frozenset[Outcome]  # the outcomes whose verdicts are explained (traced)
    _violated_explained: bool
    _deployed: dict[int, dict[str, dict[str, Any]]]  # per rule: its deployment parameters (compose.deployed)
    _unset: dict[int, Any]  # per rule: its deployment parameters without a value (compose.deployed)
    _reasons: dict[int, dict[Outcome, str]]  # per rule: the reasons that do not depend on the case
    _nullable: dict[int, Any]  # per rule: run.nullshown.nullable_paths
    _paths: dict[int, list[tuple[str, tuple[str, ...], Any]]]  # per rule: the case paths it reads outside lists

    def violated(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any],
                 ref_text: str, read_ahead: Mapping[str, Any] | None = None) -> RuleResult | None:
        """:meth:`Evaluator.judged`'s verdict (run.evaluate) for a rule found violated that no rule before it
        decides (no dependency recorded), built directly: the commonest loud verdict of a batch (run.kernel),
        without the general path's calls; None where that path is needed (a waiver to look for, an explanation
        to trace)."""
        if version.waivers or self._violated_explained:
            return None
        result = self._violated(version, rule, case, env, ref_text, read_ahead, None)
        deployed = self._deployed.get(id(rule))  # (compose.finish: what it records of a violated verdict)
        if deployed:
            result.params = compose.in_force(deployed, env[REF_TIME])
        return result

    def violated_maker(self, version: PolicyVersion, rule: Rule) -> Maker | None:
        """:meth:`violated` for the rule as one generated function (run.violated), or None where it is not made: a
        waiver to look for, an explanation to trace, inputs to record, deployment parameters to record."""
        if version.waivers or self._violated_explained or self.record_inputs or self.lazy \
                or self._deployed.get(id(rule)):
            return None
        return compile_violated(version, rule, self._nullable[id(rule)])

    def _violated(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any],
                  ref_text: str, read_ahead: Mapping[str, Any] | None, error: str | None) -> RuleResult:
        """A violated verdict with no waiver to look for and nothing to trace (message and remedies:
        run.messages; run.nullshown)."""
        text, owed = shown(rule, case, env, self._nullable[id(rule)])
        return RuleResult(version.id, version.version, rule.id, rule.title, rule.clause, _VIOLATED,
                          rule.severity, text or rule.title, text, owed, (),
                          self._rule_inputs(rule, case, read_ahead) if self.record_inputs else {},
                          Later(lambda: explanation(trace_rule(rule, case, dict(env)))) if self.lazy else (), None,
                          error, ref_text)

    def _judge(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any],
               ref_text: str, read_ahead: dict[str, Any] | None, outcome: Outcome, error: str | None
               ) -> RuleResult | Outcome:
        """The verdict of one rule on its own conditions; with ``detail="findings"`` a complied or
        not-applicable one is its bare Outcome."""
        if self.findings and not version.waivers and (outcome is _COMPLIED
                                                      or outcome is _NOT_APPLICABLE):
            return outcome
        if (outcome is _NOT_APPLICABLE or outcome is _COMPLIED) and error is None \
                and not version.waivers and outcome not in self._explained:
            # the common case (most rules comply or do not apply to a given case): nothing to render
            return RuleResult(
                policy=version.id, version=version.version, rule=rule.id, title=rule.title, clause=rule.clause,
                outcome=outcome, severity=rule.severity, reason=self._reasons[id(rule)][outcome],
                inputs=self._rule_inputs(rule, case, read_ahead), reference_time=ref_text,
                explanation=Later(lambda: explanation(trace_rule(rule, case, dict(env)))) if self.lazy else ())
        if outcome is _VIOLATED and not version.waivers and not self._violated_explained:
            return self._violated(version, rule, case, env, ref_text, read_ahead, error)
        waiver, waiver_reads = waiver_of(version, rule, case, env) if version.waivers else (None, {})
        # (findings detail shows no explanation, only the missing paths: the trace records no steps for one)
        # (findings detail's trace takes the lets the fused function found, on a case read exactly, as they are: it
        # needs only what is missing)
        trace = None if outcome not in self._explained else trace_rule(rule, case, env, False, known_lets(
            rule, case, env) if NO_NULL in env else None) if self.findings else trace_rule(rule, case, env)
        message = None
        remedies: tuple[dict[str, Any], ...] = ()
        if outcome is _VIOLATED:
            message, remedies = shown(rule, case, env, self._nullable[id(rule)])
        fixed = self._reasons[id(rule)].get(outcome) if error is None else None
        reason = fixed if fixed is not None else reason_for(rule, outcome, message, trace, error)
        if waiver is None and self.findings and (outcome is _COMPLIED or outcome is _NOT_APPLICABLE):
            return outcome
        if waiver is not None:
            waiver["would_be"] = outcome.value
            reason = compose.waived_reason(waiver)
            outcome, message, remedies = _NOT_APPLICABLE, None, ()
        # (findings detail records no inputs and no explanation, an undetermined verdict's as a violated one's: only
        # its missing paths, which the trace found)
        inputs: Mapping[str, Any] = {}
        if trace is not None and not self.findings:
            inputs = {k: to_json(v) for k, v in trace.reads.items()}
        elif self.record_inputs:
            inputs = self._rule_inputs(rule, case, read_ahead)
        if waiver_reads:
            inputs = {**inputs, **waiver_reads}
        return RuleResult(
            policy=version.id, version=version.version, rule=rule.id, title=rule.title, clause=rule.clause,
            outcome=outcome, severity=rule.severity, reason=reason, message=message, remedies=remedies,
            missing=tuple(trace.missing) if trace is not None and outcome is _UNDETERMINED else (),
            inputs=inputs, explanation=() if self.findings else explanation(trace) if trace is not None else
            Later(lambda: explanation(trace_rule(rule, case, dict(env)))) if self.lazy else (),
            waiver=waiver, error=error, reference_time=ref_text,
        )

    def _rule_inputs(self, rule: Rule, case: dict[str, Any], read_ahead: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """What the rule's verdict records as read: ``read_ahead`` when the caller read it in advance (run.inputs)."""
        if not self.record_inputs:
            return {}
        if self.lazy:
            return LaterInputs(lambda: case_inputs(self._paths[id(rule)], case))
        return read_ahead if read_ahead is not None else case_inputs(self._paths[id(rule)], case)

    def judged(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any], ref_text: str,
               read_ahead: dict[str, Any] | None, done: dict[str, RuleResult | Outcome] | None,
               depends: dict[str, str] | None, outcome: Outcome, error: str | None) -> RuleResult | Outcome:
        """The verdict of a rule whose dependencies let it apply, from what :func:`~policy_eval.run.kernel.decide` found."""
        result = self._judge(version, rule, case, env, ref_text, read_ahead, outcome, error)
        if isinstance(result, Outcome):  # findings mode: a bare complied / not-applicable outcome
            return result
        compose.finish(result, depends, done, compose.in_force(self._deployed.get(id(rule)), env[REF_TIME]),
                       self._unset.get(id(rule), ()), outcome in self._explained)
        return result

    def _policy_level(self, history: PolicyHistory, outcome: Outcome, reason: str, *,
                      missing: tuple[str, ...] = (), error: str | None = None,
                      reference_time: str | None = None) -> RuleResult:
        return RuleResult(policy=history.id, version=None, rule=None, title=history.latest().title, clause=None,
                          outcome=outcome, severity="info", reason=reason, missing=missing, error=error,
                          reference_time=reference_time)

"""Rules that compose, at evaluation time: dependencies between rules, deployment parameters, unknowns.

Input: a loaded rulebook's versions (rules with ``depends_on`` and the parameters they use).
Output: per version, the plan of rules to evaluate (each after the rules it depends on, each
once per case); per rule, the gate its dependencies set, and the deployment parameters its
results record; the values a case marks unknown (an explicit null), and the rules whose verdict
depends on what they hide (judged by three-valued logic). Used by
:mod:`policy_eval.run.evaluate`.
"""

from __future__ import annotations

import bisect
import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.budget import BudgetExceeded, current
from policy_eval.lang.interpreter import Reading, Trace
from policy_eval.lang.nullcode import NullGate
from policy_eval.lang.nullsteps import traced_null_steps
from policy_eval.lang.nulltrace import traced_nulls
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN, render
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.later import Later
from policy_eval.run.nullpaths import has_null, null_paths
from policy_eval.run.result import Outcome, RuleResult

__all__ = ["plans", "needed", "deployed", "in_force", "param_value", "before_waiver", "chain", "unset_reason", "gate", "has_null", "null_paths", "case_reads",
           "reads_null",
           "unknown", "gated"]


def plans(versions: Iterable[PolicyVersion], selected: dict[int, list[Rule]]) -> dict[int, list[Rule]]:
    """For versions with dependencies: every rule needed (the selected ones and what they depend on),
    dependencies first."""
    out: dict[int, list[Rule]] = {}
    for v in versions:
        if not any(r.depends_on for r in v.rules):
            continue
        by_id = {r.id: r for r in v.rules}
        wanted = needed(by_id, [r.id for r in selected[id(v)]])
        out[id(v)] = [by_id[rid] for rid in v.order if rid in wanted]
    return out


def needed(by_id: Mapping[str, Rule], ids: Iterable[str]) -> set[str]:
    """``ids`` and every rule they depend on, directly or through others (``by_id``: a version's rules)."""
    found: set[str] = set()
    stack = list(ids)
    while stack:
        rid = stack.pop()
        if rid not in found:
            found.add(rid)
            stack.extend(by_id[rid].depends_on)
    return found


def deployed(versions: Iterable[PolicyVersion]) -> tuple[dict[int, dict[str, dict[str, Any]]], dict[int, list[str]]]:
    """Per rule: the deployment parameters it uses ({"policy.name": {"value", "source"}}), and the unset ones."""
    recorded: dict[int, dict[str, dict[str, Any]]] = {}
    unset: dict[int, list[str]] = {}
    for v in versions:
        for r in v.rules:
            infos = [v.param_info[p] for p in r.params if p in v.param_info]
            entry = {f"{v.id}.{i.name}": {"value": param_value(v.params.get(i.name), i.value),
                                           "source": i.file if i.source == "deployment" else "unset"}
                     for i in infos if i.source != "text"}
            if entry:
                recorded[id(r)] = entry
                unset[id(r)] = [f"{v.id}.{i.name}" for i in infos if i.source == "unset"]
    return recorded, unset


@dataclass(frozen=True)
class _Dated:
    """A deployment parameter with values from several dates: recorded as the one in force for the case."""

    starts: tuple[_dt.datetime, ...]
    values: tuple[str | None, ...]

    def at(self, when: Any) -> str | None:
        if not isinstance(when, _dt.datetime):
            return None
        i = bisect.bisect_right(self.starts, when) - 1
        return self.values[i] if i >= 0 else None


def _shown(value: Any) -> str | None:
    return None if value is UNKNOWN else render(value)


def param_value(node: ir.IR | None, described: str | None) -> Any:
    """A parameter's value as a verdict records it (dated values: resolved by :func:`in_force`)."""
    if isinstance(node, ir.DatedParam):
        if len(node.values) == 1:
            return _shown(node.values[0])
        return _Dated(tuple(node.starts), tuple(_shown(x) for x in node.values))
    if isinstance(node, ir.Const):
        return _shown(node.value)
    return described


def dated(params: dict[str, dict[str, Any]]) -> bool:
    """Whether one of a rule's recorded parameters has a value that depends on the date (see :func:`in_force`)."""
    return any(type(e["value"]) is _Dated for e in params.values())


def in_force(params: dict[str, dict[str, Any]] | None, at: Any) -> dict[str, dict[str, Any]] | None:
    """The recorded parameters of a rule with each dated value resolved at the case's reference time."""
    if not params or not dated(params):
        return params
    return {k: {**e, "value": e["value"].at(at)} if type(e["value"]) is _Dated else e for k, e in params.items()}


def before_waiver(result: RuleResult | Outcome) -> str:
    """A rule's outcome as its dependents see it: what its conditions decided, waived or not."""
    if isinstance(result, Outcome):  # a bare outcome (findings mode)
        return result.value
    if result.waiver is not None:
        return str(result.waiver["would_be"])
    return result.outcome.value


def chain(depends: dict[str, str], done: Mapping[str, RuleResult | Outcome] | None = None
          ) -> tuple[dict[str, Any], ...]:
    """The explanation steps that show what a rule's dependencies decided, and theirs in turn: the whole
    chain (``depends on b`` = complied, ``b depends on c`` = violated), each link once."""
    steps = [{"expr": f"depends on {dep}", "value": outcome} for dep, outcome in depends.items()]
    seen = set(depends)
    todo = list(depends)
    while todo and done:
        dep = todo.pop(0)
        result = done.get(dep)
        for inner, outcome in ((result.depends or {}) if isinstance(result, RuleResult) else {}).items():
            steps.append({"expr": f"{dep} depends on {inner}", "value": outcome})
            if inner not in seen:
                seen.add(inner)
                todo.append(inner)
    return tuple(steps)


def unset_reason(unset: list[str], missing: tuple[str, ...]) -> str:
    also = f"; also missing {', '.join(missing)}" if missing else ""
    return f"undetermined: the source sets no number: set {', '.join(unset)}{also}"


def inputs_of_result(result: RuleResult | Outcome) -> Mapping[str, Any]:
    return {} if isinstance(result, Outcome) else result.inputs


def gate(version: PolicyVersion, rule: Rule, depends: dict[str, str], done: Mapping[str, RuleResult | Outcome]
         ) -> tuple[Outcome, str, tuple[str, ...]] | None:
    """(outcome, reason, missing) of a rule its dependencies do not let apply; None when they do.

    A dependency with another outcome than the wanted ones makes the rule not applicable (as a false
    ``when`` would), even if another dependency is undetermined; otherwise an undetermined dependency
    makes the rule undetermined, naming what that dependency misses (the caller then looks at the rule's own
    ``when``: false, the rule does not apply after all; run.kernel.when_false).
    """
    undetermined = Outcome.UNDETERMINED.value
    off = [(d, o) for d, o in depends.items() if o != undetermined and o not in rule.depends_on[d]]
    if off:
        dep, got = off[0]
        wanted = " or ".join(rule.depends_on[dep])
        return (Outcome.NOT_APPLICABLE,
                f"does not apply: it applies where {version.id}/{dep} is {wanted}; that rule is {got}", ())
    unknown = [d for d, o in depends.items() if o == undetermined]
    if not unknown:
        return None
    missing = tuple(dict.fromkeys(p for d in unknown for p in getattr(done[d], "missing", ())))
    names = ", ".join(f"{version.id}/{d}" for d in unknown)
    return (Outcome.UNDETERMINED, f"undetermined: depends on {names}, which is undetermined"
            + (f" (missing {', '.join(missing)})" if missing else ""), missing)


def case_reads(rule: Rule) -> tuple[str, ...]:
    """The case paths outside lists that a rule's `when` and condition read (its lets' included), objects
    too (``exists(request.merchant_response)`` reads one): where a null could decide the rule."""
    return tuple(".".join(keys) for keys in ir.root_paths(*(c.node for c in (rule.when, rule.condition)
                                                           if c is not None)))


def hiding_reads(rule: Rule) -> tuple[str, ...]:
    """The case paths read by the arguments of a rule's non-strict calls (``exists``'s, ``default``'s first, a
    plugin's non-strict function's), lets included: the only places where reading a null as unknown rather
    than absent changes a value, not only whom an unknown value blames (``interpreter._Interp.e_Call``). Where
    a case's nulls lie off these paths, the rule's conditions come to what they come to with the nulls read as
    absent, which is what its compiled code reads (see :func:`unknown`)."""
    nodes = [c.node for c in (rule.when, rule.condition) if c is not None]
    args = [a for n in ir.walk(*nodes) if type(n) is ir.Call and not n.strict
            for a in (n.args[:1] if n.name == "default" else n.args)]
    return tuple(".".join(keys) for keys in ir.root_paths(*args))


def reads_null(paths: tuple[str, ...], nulls: tuple[str, ...]) -> bool:
    """Whether one of ``paths`` is at or under one of ``nulls`` (a case's, from :func:`null_paths`)."""
    for n in nulls:
        under = n + "."
        for p in paths:
            if p == n or p.startswith(under):
                return True
    return False


def unknown_reason(paths: tuple[str, ...]) -> str:
    return f"undetermined: unknown in the case (null): {', '.join(paths)}"


_READING = "$reading"  # (a name no variable can have)


def unknown(rule: Rule, case: dict[str, Any], env: dict[str, Any], trace: Trace | None = None,
            quick: NullGate | None = None) -> tuple[Outcome, str, tuple[str, ...]] | None:
    """Undetermined when what decides the rule depends on a value the case marks unknown (null); None when
    its conditions decide it whatever the unknown values are (then they decide it as they do any rule).

    The rule's `when`, then its condition, are evaluated with each null read as unknown
    (:func:`~policy_eval.lang.interpreter.interpret_nulls`): `exists` and `default` of a null are unknown, and
    Kleene logic decides (``request.type == "return_refund" and exists(order.shipped_at)`` on a refund-only
    request is false whatever ``shipped_at`` is). Only an unknown that comes from a null gates: an unknown
    from an absent value is undetermined the ordinary way. A rule that cannot be evaluated (a data error, the
    budget spent) is left to the ordinary way too, which reports it. ``trace`` is filled as the evaluation
    goes (the explanation of an undetermined verdict); without one, the let values are kept in ``env`` for
    the next rule of the version on the same case.

    Reading a null as unknown changes a value only in a non-strict call; elsewhere it changes whom an unknown
    value blames. So where no non-strict call of the rule reads a null (:func:`hiding_reads`), the conditions
    come to the values they have with the nulls read as absent (the compiled code's reading), and this returns
    None whenever those decide the rule: the evaluator asks only when they leave it undetermined.

    ``quick``: the rule's generated null reading (:func:`~policy_eval.lang.nullcode.null_gate`), asked first:
    where it finds the rule ungated the interpreter does not run.
    """
    meter = current()
    if meter is not None:
        meter.left = meter.limit
    if quick is not None:
        if quick(case, env) is False:
            return None
        if meter is not None:
            meter.left = meter.limit
    if trace is None:
        reading = env.get(_READING)
        if reading is None:
            reading = env[_READING] = Reading()
    else:
        reading = Reading()
    try:
        for cond in (rule.when, rule.condition):
            if cond is None:
                continue
            if trace is None:  # (no steps to show: generated code, lang.nulltrace)
                value, blame, hidden = traced_nulls(cond.node)(case, env, Trace(explain=False), reading)
            else:  # (with its steps where the trace explains: lang.nullsteps)
                value, blame, hidden = (traced_null_steps if trace.explain else traced_nulls)(cond.node)(
                    case, env, trace, reading)
            if value is False and cond is rule.when:
                return None
            if value is UNKNOWN and hidden:
                return Outcome.UNDETERMINED, unknown_reason(hidden), blame
            if value is UNKNOWN:
                return None  # missing whatever the nulls are: undetermined, naming what is missing
    except (EvalFailure, ArithmeticError, BudgetExceeded):
        return None
    return None


def gated(version: PolicyVersion, rule: Rule, gate: tuple[Outcome, str, tuple[str, ...]],
          depends: dict[str, str] | None, inputs: Mapping[str, Any], ref_text: str, explained: bool,
          params: dict[str, dict[str, Any]] | None,
          done: Mapping[str, RuleResult | Outcome] | None = None) -> RuleResult:
    """The verdict of a rule that a dependency or an unknown value decides before its conditions run."""
    return RuleResult(
        policy=version.id, version=version.version, rule=rule.id, title=rule.title, clause=rule.clause,
        outcome=gate[0], severity=rule.severity, reason=gate[1], missing=gate[2], inputs=inputs,
        reference_time=ref_text, depends=depends, explanation=chain(depends, done) if depends and explained else (),
        params=params)


def waived_reason(waiver: Mapping[str, Any]) -> str:
    """The reason of a waived verdict (``waiver`` as a result records it, ``would_be`` set)."""
    return (f"waived by {waiver['id']} until {waiver['until']} ({waiver['reason']}); "
            f"would be {waiver['would_be']}")


def waive(result: RuleResult, waiver: dict[str, Any], reads: Mapping[str, Any]) -> None:
    """Waive a gated verdict (a waiver in force whose scope holds): not applicable, recording what it would
    be and what the waiver's scope read, as the evaluator does for a verdict its conditions decide."""
    waiver["would_be"] = result.outcome.value
    result.waiver = waiver
    result.reason = waived_reason(waiver)
    result.outcome, result.message, result.remedies, result.missing = Outcome.NOT_APPLICABLE, None, (), ()
    if reads:
        result.inputs = {**result.inputs, **reads}


def finish(result: RuleResult, depends: dict[str, str] | None, done: Mapping[str, RuleResult | Outcome] | None,
           deployed: dict[str, dict[str, Any]] | None, unset: Iterable[str], explained: bool = False) -> None:
    """Record on a judged verdict what its dependencies decided and read, and its deployment parameters.

    ``explained``: the verdict was explained (its conditions traced). Its explanation starts with the
    dependency chain even when the conditions gave no step (a constant ``require: "true"``); one computed
    when read (:class:`Later`) gets the chain when it is read.
    """
    if depends and done:
        result.depends = depends
        merged = dict(result.inputs)  # what the dependencies read is evidence for this verdict too
        for dep in depends:
            for path, value in inputs_of_result(done[dep]).items():
                merged.setdefault(path, value)
        result.inputs = merged
        steps = result.explanation
        if isinstance(steps, Later):
            result.explanation = Later(lambda: chain(depends, done) + tuple(steps))
        elif explained or steps:
            result.explanation = chain(depends, done) + tuple(steps)
    if deployed:
        result.params = deployed
        names = list(unset)
        if names and result.outcome is Outcome.UNDETERMINED and result.error is None:
            result.reason = unset_reason(names, result.missing)
            result.missing = result.missing + tuple(f"params.{p}" for p in names)

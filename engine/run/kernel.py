"""The findings fast path: a policy version's rules on one case, with the quiet verdicts only counted.

In findings detail (the batch default) a complied or not-applicable verdict is counted, never built, and
most rules of most cases end that way. For each version without waivers a plan of steps is made once:
the rule, its dependencies as sets of the outcomes it wants from them, and whether it was selected.
Per case, each step checks its dependencies against what the rules before it decided (a dependency
with an unwanted outcome makes it not applicable, as ``run.compose.gate`` says) and runs its conditions
(:func:`decide`, which the general path uses too). Only a violated or undetermined
verdict, or one a dependency leaves undetermined, goes through the evaluator's general path to build its
result, so the verdicts are the general path's (``tests/test_kernel.py`` compares both paths on the golden corpus).
A case with an explicit null (an unknown value) on a path the version's rules read goes :meth:`Kernel.run_nulls`
where no rule of the version depends on another: the rules a null decides (lang.nullcode says which) go the general
path, which words them; the others are the fused function's (``tests/test_nullcode.py``). Else the general path
takes the whole version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime as _datetime
from typing import Any, Protocol

from policy_eval.errors import clip
from policy_eval.lang.budget import BudgetExceeded, Meter, current
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.nullcode import FusedGate, fused_gate
from policy_eval.lang.values import UNKNOWN, render, render_datetime
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.rulebook.required import required_paths
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.fusing import GATED, Step_, fused_of
from policy_eval.run.result import Outcome, RuleResult
from policy_eval.run.shown import _error_text
from policy_eval.run.violated import Makers

__all__ = ["Kernel", "General", "FAILURES", "GATED", "failure", "decide", "when_false", "quiet_split"]


class General(Protocol):
    """What the kernel hands back to the evaluator's general path (run.evaluate.Evaluator)."""

    def rule_result(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any],
                    ref_text: str, read_ahead: dict[str, Any] | None = None,
                    done: dict[str, RuleResult | Outcome] | None = None, nulls: tuple[str, ...] = (),
                    decided: Any = None, gated: bool = False) -> RuleResult | Outcome: ...

    def judged(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any], ref_text: str,
               read_ahead: dict[str, Any] | None, done: dict[str, RuleResult | Outcome] | None,
               depends: dict[str, str] | None, outcome: Outcome, error: str | None) -> RuleResult | Outcome: ...

    def violated(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any],
                 ref_text: str) -> RuleResult | None: ...

    def violated_maker(self, version: PolicyVersion, rule: Rule) -> Any: ...

    def null_want(self, version: PolicyVersion, nulls: tuple[str, ...]) -> int: ...


_U = UNKNOWN
_UNMADE: Any = object()

FAILURES = (BudgetExceeded, *DATA_ERRORS)  # what makes one rule undetermined on one case, not the run fail


def failure(version: PolicyVersion, rule: Rule, exc: Exception) -> str:
    """The error an undetermined verdict records for one of FAILURES."""
    if isinstance(exc, BudgetExceeded):
        return (f"budget exceeded in rule {rule.full_id} at {version.file}:{rule.line}: "
                f"more than {exc.limit:,} items visited, the last by `{clip(exc.where)}`")
    return _error_text(exc)


def decide(version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any], meter: Meter | None
           ) -> tuple[Outcome, str | None]:
    """A rule's outcome on its own conditions (its budget ``meter`` refilled first), and the error that made
    it undetermined, if one did. The one place outcomes are decided, for both paths."""
    if meter is not None:
        meter.left = meter.limit
    try:
        value = rule.when.fn(case, env) if rule.when is not None else True
        if value is False:
            return _NOT_APPLICABLE, None
        if value is _U or (value := rule.condition.fn(case, env)) is _U:
            return _UNDETERMINED, None
        return (_COMPLIED if (value if rule.mode == "require" else not value) else _VIOLATED), None
    except FAILURES as exc:
        return _UNDETERMINED, failure(version, rule, exc)


def when_false(rule: Rule, case: dict[str, Any], env: dict[str, Any], meter: Meter | None) -> bool:
    """Whether the rule's own ``when`` is false on the case (its budget ``meter`` refilled first): a rule
    whose dependency is undetermined does not apply all the same (Kleene's "and": its dependency's outcome
    and its ``when`` must both hold for it to apply). Unknown, or a failure, is not false."""
    if rule.when is None:
        return False
    if meter is not None:
        meter.left = meter.limit
    try:
        return rule.when.fn(case, env) is False
    except FAILURES:
        return False


_VIOLATED = Outcome.VIOLATED
_COMPLIED = Outcome.COMPLIED
_NOT_APPLICABLE = Outcome.NOT_APPLICABLE
_UNDETERMINED = Outcome.UNDETERMINED


class Kernel:
    """The plans of the versions it can run; :meth:`run` says None for the others (they have waivers)."""

    def __init__(self, versions: Iterable[PolicyVersion], selected: dict[int, list[Rule]],
                 plans: dict[int, list[Rule]], exact_nulls: bool = False,
                 schemas: Mapping[str, Any] | None = None) -> None:
        """``exact_nulls``: the fused functions give up (None) on a null on a path they read, so that the caller
        need not look for nulls first (the embedding API's lazy verdicts); without it they read a null as a
        missing key, which is right where the caller sends a case with a null on such a path the general way
        (the batch path: a case whose JSON text holds no null needs no search at all). ``schemas``: the case
        schemas by kind; the paths each requires (rulebook.required) the fused functions test once at the top."""
        self._required = {kind: required_paths(schema) for kind, schema in (schemas or {}).items()}
        self._steps: dict[int, list[Step_]] = {}
        self._ranks: dict[int, dict[str, int] | None] = {}  # per version with a plan: each selected rule's place
        self._fused: dict[int, Any] = {}  # a version's rules as one generated function (lang.fusion)
        self._rules: dict[int, list[Rule]] = {}  # the rules of a version's steps, in order
        self.alone: dict[int, bool] = {}  # per version: whether no rule depends on another (run.straight reads it)
        self._null_gates: dict[int, FusedGate | None] = {}  # (lang.nullcode: made on a version's first null)
        self._exact = exact_nulls
        self._lax: dict[int, Any] = {}  # (lax: with exact_nulls, the fused functions that read a null as absent)
        self.makers = Makers()  # per version: each step's violated verdict as one function (run.violated)
        for v in versions:
            if v.waivers:
                continue
            chosen = selected[id(v)]
            plan = plans.get(id(v))
            ids = {id(r) for r in chosen}
            self._steps[id(v)] = [
                (r, tuple((d, frozenset(Outcome(o) for o in wanted)) for d, wanted in r.depends_on.items()),
                 id(r) in ids)
                for r in (plan if plan is not None else chosen)]
            # with a plan, dependencies come first: findings are put back in the selected rules' order
            self._ranks[id(v)] = {r.id: i for i, r in enumerate(chosen)} if plan is not None else None
            self._fused[id(v)] = fused_of(self._steps[id(v)], f"{v.id} {v.version}", exact_nulls, v.fused,
                                          self._required.get(v.applies_to, frozenset()))
            self._rules[id(v)] = [r for r, _, _ in self._steps[id(v)]]
            # no rule depends on another: a loud verdict needs nothing of the rules before it
            self.alone[id(v)] = not any(depends for _, depends, _ in self._steps[id(v)])

    def run(self, ev: General, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any]
            ) -> tuple[int, int, list[RuleResult]] | None:
        """(complied, not applicable, the other verdicts) of the version's selected rules on the case.

        Each rule's conditions run through :func:`decide`, with its budget refilled."""
        steps = self._steps.get(id(version))
        if steps is None:
            return None
        meter = current()
        # the fused function gets its own environment: a let it computed before raising (a budget error, say)
        # must not be found computed, and so cost nothing, when the rules are then decided one by one; when it
        # returns, the lets it left there are the loud verdicts' messages' (lang.fusion)
        fused = self._fused[id(version)]
        if fused is not None and (meter is None or meter.fused) and (quick := fused(case, own := env.copy(), meter)) \
                is not None:
            if not quick[2]:  # every rule complied or does not apply: nothing to build
                return quick[0], quick[1], []
            env.update(own)
            return quick[0], quick[1], self.loud(ev, version, case, env, steps, quick[3], quick[2])
        complied = not_applicable = 0
        found: list[RuleResult] = []
        done: dict[str, RuleResult | Outcome] = {}  # what the general path reads of the rules before
        decided: dict[str, Outcome] = {}  # each rule's outcome (no waivers here: before any waiver)
        ref_text: str | None = None
        for rule, depends, selected in steps:
            if depends:
                gate: Outcome | None = None
                for dep, wanted in depends:
                    outcome = decided[dep]
                    if outcome is _UNDETERMINED:
                        gate = _UNDETERMINED
                    elif outcome not in wanted:
                        gate = _NOT_APPLICABLE
                        break
                if gate is _NOT_APPLICABLE:
                    done[rule.id] = decided[rule.id] = gate
                    not_applicable += selected
                    continue
                if gate is _UNDETERMINED:  # the general path names what the dependency misses
                    if ref_text is None:
                        ref_text = render(env[REF_TIME])
                    result = ev.rule_result(version, rule, case, env, ref_text, done=done)
                    done[rule.id] = result
                    # (not applicable when its own `when` is false: a bare outcome in findings detail)
                    if isinstance(result, RuleResult):
                        decided[rule.id] = result.outcome
                        if selected:
                            found.append(result)
                    else:
                        decided[rule.id] = result
                        if selected:
                            not_applicable += result is _NOT_APPLICABLE
                            complied += result is _COMPLIED
                    continue
            outcome, error = decide(version, rule, case, env, meter)
            decided[rule.id] = outcome
            if outcome is _COMPLIED or outcome is _NOT_APPLICABLE:
                done[rule.id] = outcome
                if selected:
                    if outcome is _COMPLIED:
                        complied += 1
                    else:
                        not_applicable += 1
                continue
            if ref_text is None:
                ref_text = render(env[REF_TIME])
            deps = {d: decided[d].value for d, _ in depends} if depends else None
            result = ev.judged(version, rule, case, env, ref_text, None, done, deps, outcome, error)
            done[rule.id] = result
            if selected and type(result) is RuleResult:
                found.append(result)
        return complied, not_applicable, self._sorted(version, found)

    def outcomes(self, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any], nulls: bool = False
                 ) -> tuple[Any, ...] | None:
        """Each planned rule's outcome on the case from the version's fused function, in plan order (:meth:`fused`
        names the rules; :data:`GATED` for one an undetermined dependency leaves undetermined), or None (no fused
        function, or it raised): the full path then decides rule by rule. ``nulls``: the case has nulls on paths
        the version's rules read, which are read as absent (:meth:`lax`)."""
        keyed = self.keyed(version, case, env, nulls)
        return keyed[0] if keyed is not None else None

    def keyed(self, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any], nulls: bool = False
              ) -> tuple[tuple[Any, ...], int] | None:
        """:meth:`outcomes`, with the pattern they make as one int (the loud steps' bits, then the complied steps'
        above them: run.written keys a version's verdicts by it); None as for :meth:`outcomes`."""
        fused = self.lax(version) if nulls else (made[0] if (made := self.fused(version)) is not None else None)
        meter = current()
        if fused is None or (meter is not None and not meter.fused) or (quick := fused(case, own := env.copy(), meter)) \
                is None:
            return None
        if quick[2] and not nulls:  # (the lets the loud verdicts' messages read: lang.fusion; not where a null
            env.update(own)  # was read as absent)
        found: tuple[Any, ...] = quick[3]
        return found, quick[2] | quick[4] << len(found)

    def run_nulls(self, ev: General, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any],
                  nulls: tuple[str, ...], want: int) -> tuple[int, int, list[RuleResult]] | None:
        """:meth:`run` on a case with explicit nulls, for a version whose rules depend on none: ``want``, the bit
        mask of the steps whose reads meet a null. The version's generated null reading (lang.nullcode) says which
        of them a null decides (gated); those go the general path (it words them), the others are what the fused
        function decided with the nulls read as absent (where no null decides a rule, that is its outcome: see
        ``compose.unknown``). None when the version has dependencies, or no fused function or null reading, or
        either raised: then the general path takes the whole version."""
        steps = self._steps.get(id(version))
        fused = self.lax(version)
        meter = current()
        if steps is None or fused is None or not self.alone[id(version)] or (meter is not None and not meter.fused):
            return None
        gated = self.null_gated(version, case, env, want)
        if gated is None:
            return None
        quick = fused(case, env.copy(), meter)
        if quick is None:
            return None
        complied, not_applicable, loud, outcomes, _ = quick
        if not gated:
            return complied, not_applicable, self.loud(ev, version, case, env, steps, outcomes, loud) if loud else []
        found: list[RuleResult] = []
        ref_text = render(env[REF_TIME])
        todo = loud | gated
        while todo:  # (in step order: the loud verdicts as loud builds them, the gated ones by the general path)
            i = (todo & -todo).bit_length() - 1
            todo &= todo - 1
            rule, _, selected = steps[i]
            outcome = outcomes[i]
            result: RuleResult | Outcome | None
            if gated >> i & 1:  # (the fused function counted it: the general path decides, nulls and all)
                if selected:
                    complied -= outcome is _COMPLIED
                    not_applicable -= outcome is _NOT_APPLICABLE
                result = ev.rule_result(version, rule, case, env, ref_text, None, None, nulls, outcome, True)
                if type(result) is not RuleResult:
                    if selected:
                        complied += result is _COMPLIED
                        not_applicable += result is _NOT_APPLICABLE
                    continue
            else:
                result = ev.violated(version, rule, case, env, ref_text) if outcome is _VIOLATED else None
                if result is None:
                    result = ev.judged(version, rule, case, env, ref_text, None, None, None, outcome, None)
            if selected and type(result) is RuleResult:
                found.append(result)
        return complied, not_applicable, found

    def null_gated(self, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any], want: int) -> int | None:
        """The bit mask of the steps among ``want`` that the case's nulls decide (lang.nullcode's fused reading, made
        on the version's first case with a null), or None where it cannot tell (no steps, not spelled, it raised)."""
        steps = self._steps.get(id(version))
        if steps is None:  # (a version the kernel does not run: its rules' bits mean nothing)
            return None
        if not want:
            return 0
        gate = self._null_gates.get(id(version), _UNMADE)
        if gate is _UNMADE:
            gate = self._null_gates[id(version)] = fused_gate(
                [(rule.when.node if rule.when is not None else None, rule.condition.node) for rule, _, _ in steps]
            ) if steps else None
        if gate is None:
            return None
        gated: int | None = gate(case, env.copy(), want, current())
        return gated

    def lax(self, version: PolicyVersion) -> Any:
        """The version's fused function reading a null as a missing key (for a case whose nulls the caller judges):
        the fused function itself, or with ``exact_nulls`` a second one made on the version's first such case."""
        if not self._exact:
            return self._fused.get(id(version))
        lax = self._lax.get(id(version), _UNMADE)
        if lax is _UNMADE:
            steps = self._steps.get(id(version))
            lax = self._lax[id(version)] = fused_of(steps, f"{version.id} {version.version}", False, version.fused,
                                                    self._required.get(version.applies_to, frozenset())) \
                if steps else None
        return lax

    def rules(self, version: PolicyVersion) -> list[Rule]:
        """The rules of the version's steps, in order (none for a version the kernel does not run)."""
        return self._rules.get(id(version), [])

    def fused_steps(self, version: PolicyVersion) -> tuple[Any, list[Step_]] | None:
        """The version's fused function and its steps, for a caller that runs the function on an environment of its
        own and builds the loud verdicts with :meth:`loud` (what :meth:`run` does when the function answers: see
        run.straight); None where the kernel does not run the version or it has no fused function."""
        steps = self._steps.get(id(version))
        fused = self._fused.get(id(version))
        return None if steps is None or fused is None else (fused, steps)

    def fused(self, version: PolicyVersion) -> tuple[Any, list[Rule]] | None:
        """The version's fused function and its rules in plan order (what its outcomes are of), or None."""
        fused = self._fused.get(id(version))
        return (fused, self._rules[id(version)]) if fused is not None else None

    def loud(self, ev: General, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any],
             steps: list[Step_], outcomes: tuple[Any, ...], loud: int) -> list[RuleResult]:
        """The verdicts of the rules the fused function found violated or undetermined (``loud``: their bit
        mask), as the general path builds them (a violated one by its rule's maker, run.violated), in plan order (a
        verdict records what the rules it depends on decided)."""
        found: list[RuleResult] = []
        ref = env[REF_TIME]
        ref_text = render_datetime(ref) if type(ref) is _datetime else render(ref)  # (render's own, one call less)
        if self.alone[id(version)]:  # (the bundled versions: nothing to record for the rules after)
            makers = self.makers.get(id(version)) or self.makers.made(ev, version, steps)
            while loud:  # (the loud steps only, lowest first: most cases have one or none of ~17)
                i = (loud & -loud).bit_length() - 1
                loud &= loud - 1
                rule, _, selected = steps[i]
                outcome = outcomes[i]
                # (most loud verdicts: violated, by the rule's maker or built directly; others: the general path)
                result: RuleResult | Outcome | None = None
                if outcome is _VIOLATED:
                    make = makers[i]
                    if make is None or (result := make(case, env, ref_text)) is None:
                        result = ev.violated(version, rule, case, env, ref_text)
                if result is None:
                    result = ev.judged(version, rule, case, env, ref_text, None, None, None, outcome, None)
                if selected and type(result) is RuleResult:
                    found.append(result)
            return self._sorted(version, found) if len(found) > 1 else found  # (most: one verdict, nothing to sort)
        done: dict[str, RuleResult | Outcome] = {}
        decided: dict[str, Outcome] = {}
        for (rule, depends, selected), outcome in zip(steps, outcomes, strict=True):
            if outcome is _COMPLIED or outcome is _NOT_APPLICABLE:
                done[rule.id] = decided[rule.id] = outcome
                continue
            if outcome is GATED:
                result = ev.rule_result(version, rule, case, env, ref_text, done=done)
                decided[rule.id] = _UNDETERMINED
            else:
                decided[rule.id] = outcome
                deps = {d: decided[d].value for d, _ in depends} if depends else None
                result = ev.judged(version, rule, case, env, ref_text, None, done, deps, outcome, None)
            done[rule.id] = result
            if selected and type(result) is RuleResult:
                found.append(result)
        return self._sorted(version, found)

    def _sorted(self, version: PolicyVersion, found: list[RuleResult]) -> list[RuleResult]:
        rank = self._ranks[id(version)]
        if rank is not None and len(found) > 1:
            found.sort(key=lambda r: rank[r.rule or ""])
        return found


def quiet_split(results: list[Any]) -> tuple[list[Any], int, int]:
    """Findings detail's verdicts and bare outcomes apart: (the verdicts, complied, not applicable), the bare
    outcomes counted by identity (``list.count`` compared every verdict through ``RuleResult.__eq__``)."""
    kept = [r for r in results if type(r) is RuleResult]
    if len(kept) == len(results):
        return kept, 0, 0
    return kept, sum(r is Outcome.COMPLIED for r in results), sum(r is Outcome.NOT_APPLICABLE for r in results)

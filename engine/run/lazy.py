"""The embedding API's verdicts, built with their outcome and filled when more is read.

``Rulebook.evaluate`` (an evaluator with ``lazy=True``) gets each rule's outcome from the version's fused
function (run.kernel); a rule that complied, was violated or does not apply then becomes a
:class:`~policy_eval.run.result.LazyResult` of a class made once per rule and outcome, which holds the
rule's constants (policy, version, id, title, clause, severity, outcome, no waiver, and the reason where it
does not depend on the case). Reading any other field fills the verdict whole from the general path
(``Evaluator._rule`` with the outcome already decided), within a fresh rule budget, so what is read is what
an eager evaluation gives. An undetermined verdict is built by the general path at once: its missing paths
come from a trace. Versions with waivers are not judged this way (a waiver changes outcome and reason), nor
cases with a null on a path the fused function reads (it raises: the general path judges nulls by
three-valued logic); a null the rules' evaluation never reached cannot change their outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from policy_eval.lang.budget import _CURRENT as _METER
from policy_eval.lang.budget import Meter, fresh, may_charge
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import PolicyHistory
from policy_eval.rulebook.casevalues import id_text
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.compose import needed
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.kernel import Kernel, quiet_split
from policy_eval.run.lazycode import MAX_RULES, environment, glue
from policy_eval.run.lazykinds import lazy_kinds
from policy_eval.run.result import CaseResult, LazyResult, Outcome, RuleResult

__all__ = ["LazyVerdicts", "SPENT", "Spent"]


class Spent:
    """What :meth:`LazyVerdicts.result` says of a case on which a fused function ran out of its budget: evaluate it
    the general way without the fused functions (``Evaluator.evaluate(fused=False)``), each rule decided once."""


SPENT = Spent()

_COMPLIED = Outcome.COMPLIED
_NOT_APPLICABLE = Outcome.NOT_APPLICABLE
_VIOLATED = Outcome.VIOLATED
_new = object.__new__
_METER_SET = _METER.set
_METER_RESET = _METER.reset
_NOTHING = object()  # no reference time seen yet
_UNJUDGED: Any = object()  # a policy with no version in force: the general path's verdict (Evaluator._policy)

# Evaluator._rule(version, rule, case, env, ref_text, read_ahead, done, nulls, decided)
General = Callable[..., "RuleResult | Outcome"]


class _Ready:
    """A version judged this way, what a case needs of it (made once)."""

    __slots__ = ("version", "fn", "rules", "kinds", "ids", "wanted", "applied", "metered", "glue", "depended",
                 "whole")

    def __init__(self, version: PolicyVersion, fn: Any, plan: tuple[tuple[Rule, dict[Outcome, type[LazyResult]] | None],
                 ...], wanted: list[int] | None, applied: tuple[str, str]) -> None:
        self.version = version
        self.fn = fn  # the fused function (run.kernel, lang.fusion)
        self.rules = tuple(r for r, _ in plan)  # its rules in plan order
        # their lazy classes by outcome (none for undetermined; in findings detail, none but violated)
        self.kinds = tuple(k or {} for _, k in plan)
        self.ids = tuple(r.id for r in self.rules)
        self.wanted = wanted  # the selected rules' places in the plan when it adds or reorders rules
        self.applied = (applied,)  # ((policy, version),): in CaseResult.versions
        # whether its conditions can charge the budget (else they run without one: nothing to meter)
        self.metered = may_charge(n for r in self.rules for n in (
            r.when.node if r.when is not None else None, r.condition.node))
        self.glue: Callable[[dict[str, Any], Any, str, Any], Any] = self._loop  # (run.lazycode's when made)
        self.depended: dict[str, frozenset[str]] = {}  # per rule, the rules it depends on, directly or not
        self.whole: Callable[..., Any] | None = None  # the glue that makes the case result (run.lazycode)

    def needs(self, rule: Rule) -> frozenset[str]:
        """The rules of the plan that ``rule`` depends on, directly or through others (kept once found)."""
        found = self.depended.get(rule.id)
        if found is None:  # (a plan holds every rule its rules depend on)
            found = self.depended[rule.id] = frozenset(needed(dict(zip(self.ids, self.rules, strict=True)),
                                                            rule.depends_on))
        return found

    def _loop(self, case: dict[str, Any], ref: Any, ref_text: str, meter: Any) -> Any:
        """What run.lazycode's glue does, in loops (a version with more rules than it makes code for)."""
        quick = self.fn(case, env := {REF_TIME: ref}, meter)  # (the verdicts: made by LazyVerdicts.finish)
        return [quick, env] if quick is not None else None


class _Policy:
    """One policy of a case kind: its history, and the version chosen for the last reference time seen."""

    __slots__ = ("history", "reference", "metered", "last")

    def __init__(self, history: PolicyHistory) -> None:
        self.history = history
        self.reference = history.versions[-1].reference_time.fn
        self.metered = may_charge([history.versions[-1].reference_time.node])
        # (reference time, its version's _Ready or None, the time as verdicts show it, that _Ready's ``whole`` or
        # None), replaced whole: an embedder's fixed ``as_of`` picks its version by one identity test instead of
        # aware comparisons
        self.last: tuple[Any, _Ready | None, str, Callable[..., Any] | None] = (_NOTHING, None, "", None)


class LazyVerdicts:
    def __init__(self, versions: Iterable[PolicyVersion], reasons: dict[int, dict[Outcome, str]],
                 general: General, budget: int | None, kernel: Kernel, selected: dict[int, list[Rule]],
                 text: Callable[[Any], str], findings: bool = False,
                 by_kind: Mapping[str, Iterable[PolicyHistory]] | None = None, digest: str = "",
                 policy: Callable[..., tuple[str | None, list[Any], tuple[int, int]]] | None = None,
                 deployed: Mapping[int, dict[str, dict[str, Any]]] | None = None) -> None:
        """``reasons``: per rule (by id), the reasons of its complied and not-applicable verdicts that do not
        depend on the case; ``general``: the evaluator's general path for one rule; ``kernel``: the versions'
        fused functions; ``selected``: each version's selected rules, in order; ``text``: an instant as
        verdicts show it; ``findings``: complied and not-applicable verdicts are counted, not made (findings
        detail: only the violated ones are lazy verdicts); ``by_kind``: the policies of each case kind (every
        kind with a schema); ``digest``: the rulebook's; ``policy``: the general path for one policy of a
        case (Evaluator._policy), for a policy with no version in force (none given: such a case goes the
        general way)."""
        self._general = general
        self._findings = findings
        self._budget = budget
        self._text = text
        self._digest = digest
        self._policy = policy  # Evaluator._policy: one policy of a case by the general path
        self._kinds: dict[int, dict[Outcome, type[LazyResult]]] = {}
        self._rule_of: dict[tuple[int, str], Rule] = {}
        self._ids: dict[int, tuple[str, ...]] = {}
        self._ready: dict[int, _Ready] = {}  # per version judged this way
        for v in versions:
            if v.waivers:
                continue
            for r in v.rules:
                self._kinds[id(r)] = lazy_kinds(v, r, reasons[id(r)], (deployed or {}).get(id(r)))
                self._rule_of[(id(v), r.id)] = r
            fused = kernel.fused(v)
            if fused is not None:
                fn, planned = fused
                place = {r.id: i for i, r in enumerate(planned)}
                wanted = [place[r.id] for r in selected[id(v)]]
                kinds = (self._kinds.get(id(r)) for r in planned)
                if findings:  # only the violated verdicts are made lazily
                    kinds = ({_VIOLATED: k[_VIOLATED]} if k else None for k in kinds)
                ready = self._ready[id(v)] = _Ready(v, fn, tuple(zip(planned, kinds, strict=True)),
                                                    None if wanted == list(range(len(planned))) else wanted,
                                                    (v.id, v.version))
                if len(planned) <= MAX_RULES:
                    counted = (_COMPLIED, _NOT_APPLICABLE) if findings and ready.wanted is None else None
                    ready.glue = glue(fn, ready.kinds, self._fill, ready, REF_TIME, counted)
                    if ready.wanted is None and not ready.metered:
                        ready.whole = glue(fn, ready.kinds, self._fill, ready, REF_TIME, counted,
                                           (CaseResult, digest, ready.applied))
        self._by_kind = {kind: tuple(_Policy(h) for h in histories) for kind, histories in (by_kind or {}).items()}
        # the kinds judged by one policy (most): with a fixed ``as_of`` the embedding API reads its ``last`` and
        # calls the whole glue itself (Rulebook.evaluate), :meth:`finished` making what that glue leaves
        self.single: dict[str, _Policy] = {kind: p[0] for kind, p in self._by_kind.items() if len(p) == 1}

    def result(self, case: dict[str, Any], as_of: Any, source: str | None, record: int | None
               ) -> CaseResult | Spent | None:
        """The result of a case (a dict) of a kind with a schema, its verdicts lazy; None when it needs the
        general path (an unknown kind, a null on a path the fused function read, no reference time, no version
        in force, waivers, a fused function that raised): the caller then evaluates the whole case that way.
        (One call of the embedding API runs all of this: written inline, with the rare branches elsewhere.)"""
        kind = case.get("kind")
        policies = self._by_kind.get(kind) if type(kind) is str else None
        if policies is None:
            return None
        if len(policies) == 1:  # (most kinds) a version whose glue makes the whole result: one call
            policy = policies[0]
            if (ref := as_of) is not None or (not policy.metered and (ref := self._reference(policy, case)) is not None):
                last = policy.last
                if last[0] is not ref:
                    last = self._choose(policy, ref)
                if (whole := last[3]) is not None:
                    made = whole(case, ref, last[2], None, kind, source, record, last[2] if as_of is not None else None)
                    if type(made) is CaseResult or made is None:
                        return made
                    ready = last[1]  # (a version with a whole glue is judged here: a _Ready)
                    assert ready is not None and ready is not _UNJUDGED
                    return self._finished(ready, case, last[2], made, kind, source, record, as_of)
        results: tuple[Any, ...] | None = None  # (most kinds have one policy: its tuple, nothing copied)
        applied: tuple[tuple[str, str | None], ...] = ()
        complied = not_applicable = 0
        ref_text = ""
        for policy in policies:
            ref = as_of
            if ref is None and (ref := self._reference(policy, case)) is None:
                ready = _UNJUDGED  # no reference time: the general path's policy-level verdict says why
            else:
                last = policy.last
                if last[0] is not ref:
                    last = self._choose(policy, ref)
                ready, ref_text = last[1], last[2]
                if ready is None:  # (waivers, no fused function)
                    return None
            if ready is _UNJUDGED:  # no version in force (or no reference time): one policy-level verdict
                if self._policy is None:
                    return None
                verdicts, version, quiet = self._unjudged(self._policy, policy, case, as_of)
                if quiet is not None:
                    complied += quiet[0]
                    not_applicable += quiet[1]
                results = tuple(verdicts) if results is None else results + tuple(verdicts)
                applied += ((policy.history.id, version),)
                continue
            if ready.metered:  # a fresh budget (the fused function refills it for each rule)
                meter = fresh(self._budget)
                token = _METER_SET(meter)
                try:
                    made = ready.glue(case, ref, ref_text, meter)
                finally:
                    _METER_RESET(token)
            else:  # (nothing its conditions do can charge the budget)
                made = ready.glue(case, ref, ref_text, None)
            # (run.lazycode: a tuple of verdicts, None, [violated verdicts, complied, not applicable] or
            # [the fused function's answer])
            if type(made) is tuple:  # every verdict lazy (in findings detail: every rule violated)
                if ready.wanted is not None:
                    made = tuple([made[i] for i in ready.wanted])
            elif made is None:
                # (the fused function ran out of budget: the caller decides the rules one by one, not with it again)
                return SPENT if ready.metered and meter is not None and not meter.fused else None
            elif len(made) == 3:  # findings detail: [the violated verdicts, complied, not applicable]
                complied += made[1]
                not_applicable += made[2]
                made = made[0]
            else:  # [the fused function's answer, its environment]: an outcome without a lazy class
                quick = made[0]
                made = self._finish(ready, case, made[1], ref_text, quick[3])
                if self._findings:  # the complied and not-applicable outcomes are counted, not kept
                    complied += quick[0]
                    not_applicable += quick[1]
            if results is None:
                results = made
            else:
                results = results + made
            applied += ready.applied
        case_id = case.get("case_id")
        # CaseResult(...) by its slots, every one set: a call of its __init__ with ten arguments cost 0.15 µs more
        made_result: CaseResult = _new(CaseResult)
        made_result.case_id = case_id if case_id is None or type(case_id) is str else id_text(case_id)
        made_result.kind = kind
        made_result.source = source
        made_result.record = record
        made_result.results = results if results is not None else ()
        made_result.rulebook = self._digest
        made_result.as_of = (ref_text if policies else self._text(as_of)) if as_of is not None else None
        made_result.error = None
        made_result.versions = applied
        made_result.quiet = (complied, not_applicable) if self._findings else None
        made_result._tally = None
        return made_result

    def finished(self, last: tuple[Any, _Ready | None, str, Callable[..., Any] | None], case: dict[str, Any],
                 made: list[Any], kind: str, source: str | None, record: int | None) -> CaseResult:
        """The result of a case whose version's whole glue (``last[3]``, ``last[0]`` the ``as_of`` given) said
        ``[the fused function's answer, its environment]``: what :meth:`result` does then."""
        ready = last[1]
        assert ready is not None and ready is not _UNJUDGED
        return self._finished(ready, case, last[2], made, kind, source, record, last[0])

    def _finished(self, ready: _Ready, case: dict[str, Any], ref_text: str, made: list[Any],
                  kind: str | None, source: str | None, record: int | None, as_of: Any) -> CaseResult:
        """The result of a case of a one-policy kind whose verdicts are not all lazy (see :meth:`_finish`); ``made``
        what its glue said, ``[the fused function's answer, its environment]``."""
        case_id, quick = case.get("case_id"), made[0]
        return CaseResult(case_id=id_text(case_id), kind=kind, source=source,
                          record=record,
                          results=self._finish(ready, case, environment(made[1], False), ref_text, quick[3]),
                          rulebook=self._digest, as_of=ref_text if as_of is not None else None,
                          versions=ready.applied, quiet=(quick[0], quick[1]) if self._findings else None)

    def _reference(self, policy: _Policy, case: dict[str, Any]) -> Any:
        """The reference time the case gives a policy, or None when it is unknown or unreadable."""
        token = _METER_SET(Meter(self._budget) if self._budget is not None else None) if policy.metered else None
        try:
            ref = policy.reference(case, {REF_TIME: UNKNOWN})
        except DATA_ERRORS:
            return None
        finally:
            if token is not None:
                _METER_RESET(token)
        return None if ref is UNKNOWN else ref

    def _choose(self, policy: _Policy, ref: Any) -> tuple[Any, _Ready | None, str, Callable[..., Any] | None]:
        """The version in force at ``ref`` (as judged here: None when it is not), kept as the policy's last."""
        version = policy.history.at(ref)
        ready = self._ready.get(id(version)) if version is not None else _UNJUDGED
        whole = ready.whole if ready is not None and ready is not _UNJUDGED else None
        last = policy.last = (ref, ready, self._text(ref), whole)
        return last

    def _unjudged(self, general: Callable[..., tuple[str | None, list[Any], tuple[int, int]]], policy: _Policy,
                  case: dict[str, Any], as_of: Any
                  ) -> tuple[list[Any], str | None, tuple[int, int] | None]:
        """A policy with no version in force at the case's reference time, or no reference time: what the
        general path gives (its verdicts, the version applied, the quiet ones counted in findings detail)."""
        token = _METER_SET(Meter(self._budget) if self._budget is not None else None)
        try:
            version, verdicts, quiet = general(policy.history, case, as_of)
        finally:
            _METER_RESET(token)
        if not self._findings:
            return verdicts, version, None
        # findings detail: bare complied and not-applicable outcomes are counted, as Evaluator.evaluate does
        kept, complied, not_applicable = quiet_split(verdicts)
        return kept, version, (quiet[0] + complied, quiet[1] + not_applicable)

    def _finish(self, ready: _Ready, case: dict[str, Any], env: dict[str, Any], ref_text: str,
                outcomes: tuple[Any, ...]) -> tuple[Any, ...]:
        """The verdicts of a version's selected rules from the fused function's outcomes, when one of them has
        no lazy class: in findings detail a complied or not-applicable verdict is its bare outcome (counted, not
        kept); an undetermined one comes from the general path at once (its missing paths come from a trace),
        given the verdicts of the rules before it, within a fresh budget. ``env``: the fused function's
        environment (the reference time, and the lets it left for the loud verdicts' messages)."""
        made: list[Any] = []
        fill = (self._fill, ready, case, env, ref_text, *outcomes)
        findings = self._findings
        token = _METER_SET(Meter(self._budget) if self._budget is not None else None)
        try:
            for rule, kinds, outcome in zip(ready.rules, ready.kinds, outcomes, strict=True):
                if (made_kind := kinds.get(outcome)) is not None:
                    verdict = _new(made_kind)
                    verdict.reference_time = ref_text
                    verdict._fill = fill
                    made.append(verdict)
                elif findings and (outcome is _COMPLIED or outcome is _NOT_APPLICABLE):
                    made.append(outcome)
                else:
                    done = dict(zip(ready.ids, made, strict=False))  # (the rules before it)
                    made.append(self._general(ready.version, rule, case, env, ref_text, None, done, (), outcome))
        finally:
            _METER_RESET(token)
        chosen = made if ready.wanted is None else [made[i] for i in ready.wanted]
        return tuple([r for r in chosen if isinstance(r, RuleResult)] if findings else chosen)

    def nulled(self, version: PolicyVersion, case: dict[str, Any], env: dict[str, Any], ref_text: str,
               decided: tuple[Any, ...], gated: int, nulls: tuple[str, ...]) -> list[Any] | None:
        """A version's verdicts on a case with explicit nulls (``Evaluator._policy``, which found ``decided``, the
        outcomes with the nulls read as absent, and ``gated``, the bit mask of the rules the nulls decide): each rule
        no null decides is a lazy verdict of its outcome (its fill judges it as the general path does then, without
        the nulls), any other is the general path's now. None where the version is not judged this way (waivers, no
        fused function, a selection that reorders its rules)."""
        ready = self._ready.get(id(version))
        if ready is None or ready.wanted is not None:
            return None
        fill = (self._fill, ready, case, env, ref_text, *decided)
        made: list[Any] = []
        for i, (rule, kinds, outcome) in enumerate(zip(ready.rules, ready.kinds, decided, strict=True)):
            if not gated >> i & 1 and (kind := kinds.get(outcome)) is not None:
                verdict = _new(kind)
                verdict.reference_time = ref_text
                verdict._fill = fill
                made.append(verdict)
            else:
                by_null = bool(gated >> i & 1)
                made.append(self._general(version, rule, case, env, ref_text, None, None, nulls if by_null else (),
                                          outcome, by_null))
        return made

    def _fill(self, fill: tuple[Any, ...], lazy: LazyResult) -> RuleResult | Outcome:
        """A lazy verdict's whole record, when first read: the general path's, within a fresh rule budget.
        ``fill``: the verdict's, ``(this function, the version's _Ready, the case, the fused function's
        environment, the reference time as shown, each planned rule's outcome...)``.

        The verdicts of the rules it depends on (the general path reads their outcomes, inputs and chains) are
        made again from their outcomes (``outcomes``: the fused function's, in plan order), not taken from
        the case's other verdicts: a verdict holding its siblings would make every result a reference cycle.

        Each fill works in its own copy of the case's environment: conditions bind quantifier variables and
        memoise lets there, so two threads filling verdicts of one result at once would read each other's."""
        ready, case, env, ref_text = fill[1:5]
        outcomes = fill[5:]
        env = environment(env)
        version = ready.version
        rule = self._rule_of[(id(version), lazy.rule or "")]
        done: dict[str, RuleResult | Outcome] | None = None
        if rule.depends_on:  # dependencies first (a plan puts them before their dependents)
            wanted = ready.needs(rule)
            done = {}
            for planned, outcome in zip(ready.rules, outcomes, strict=True):
                if planned.id in wanted:
                    done[planned.id] = self._one(ready, planned, case, env, ref_text, done, outcome)
        return self._one(ready, rule, case, env, ref_text, done, lazy.outcome)

    def _one(self, ready: _Ready, rule: Rule, case: dict[str, Any], env: dict[str, Any], ref_text: str,
             done: dict[str, RuleResult | Outcome] | None, outcome: Outcome) -> RuleResult | Outcome:
        """One rule's verdict by the general path, its outcome decided, within a fresh rule budget."""
        token = _METER.set(Meter(self._budget) if self._budget is not None else None)
        try:
            return self._general(ready.version, rule, case, env, ref_text, None, done, (), outcome)
        finally:
            _METER.reset(token)

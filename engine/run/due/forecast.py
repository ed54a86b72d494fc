"""Forecast: for a case, the next instant each rule's verdict changes if no new event happens.

Input: a :class:`~policy_eval.rulebook.Rulebook` and validated case dicts. Output:
:class:`~policy_eval.run.due.model.CaseForecast` records.

"Now" is the case's clock field (``snapshot_at``, ``assessed_at`` or ``captured_at``, the
ones its kind's schema has), or ``as_of`` when given; with ``as_of`` the moving instant
also picks the policy version and dated parameters, as ``eval --as-of`` does, so a new
version taking effect is a change too. Candidate instants come from
:mod:`~policy_eval.run.due.solve`; the case is evaluated by the ordinary
:class:`~policy_eval.run.evaluate.Evaluator` at each candidate and 1 µs after it, in
order, so every verdict is the evaluator's own (rule dependencies, waivers and all).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.readers import ReadError
from policy_eval.lang.values import UNKNOWN, parse_datetime
from policy_eval.rulebook import PolicyHistory, Rulebook
from policy_eval.rulebook.casevalues import id_text
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.due.model import CaseForecast, Forecast, Status
from policy_eval.run.due.probe import decide
from policy_eval.run.due.solve import ONE_US, Candidate, Solver, Unsolvable, static_path
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, Outcome, RuleResult

__all__ = ["Forecaster", "CLOCK_FIELDS", "with_values", "rule_nodes"]

# Case fields that mean "the moment this record describes" (schemas/cases/*.schema.json).
CLOCK_FIELDS = ("snapshot_at", "assessed_at", "captured_at")
_Key = tuple[str, str | None]


def with_values(case: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the case with these dotted paths set (copying only the objects on the way)."""
    out = dict(case)
    for path, value in values.items():
        keys = path.split(".")
        node = out
        for k in keys[:-1]:
            child = node.get(k)
            child = dict(child) if isinstance(child, dict) else {}
            node[k] = child
            node = child
        node[keys[-1]] = value
    return out


def rule_nodes(rule: Rule) -> list[ir.IR]:
    nodes = [rule.condition.node]
    if rule.when is not None:
        nodes.insert(0, rule.when.node)
    return nodes


def datetime_paths(nodes: Iterable[ir.IR]) -> list[str]:
    """The case paths (outside lists) read as datetimes by these conditions, in order of reading."""
    out: list[str] = []
    stack = list(nodes)[::-1]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ir.Field) and node.type.name == "datetime":
            path = static_path(node)
            if path is not None and path not in out:
                out.append(path)
        stack.extend(reversed(ir.children(node)))
    return out


class Forecaster:
    """Forecasts for one loaded rulebook. Thread-safe in use; caches compiled sub-expressions."""

    def __init__(self, rulebook: Rulebook, *, evaluator: Evaluator | None = None) -> None:
        self.rulebook = rulebook
        self.evaluator = evaluator or Evaluator(rulebook, explain="missing", record_inputs=False)
        self._by_kind: dict[str, list[PolicyHistory]] = {}
        for history in rulebook.policies.values():
            self._by_kind.setdefault(history.applies_to, []).append(history)
        self._clock: dict[str, tuple[str, ...]] = {
            kind: tuple(f for f in CLOCK_FIELDS if f in (schema.get("properties") or {}))
            for kind, schema in rulebook.case_schemas.items()}
        self._solvers: dict[tuple[tuple[str, ...], bool], Solver] = {}
        self._paths: dict[int, list[str]] = {}  # per rule (kept alive by the rulebook): the times it reads

    def solver(self, paths: tuple[str, ...], ref: bool) -> Solver:
        key = (paths, ref)
        if key not in self._solvers:
            self._solvers[key] = Solver(paths, ref=ref)
        return self._solvers[key]

    # --- public -------------------------------------------------------------------------------
    def forecast(self, case: Mapping[str, Any], *, as_of: _dt.datetime | None = None,
                 source: str | None = None, record: int | None = None) -> CaseForecast:
        case = dict(case)
        kind = case.get("kind")
        case_id = id_text(case.get("case_id"))
        if not isinstance(kind, str) or kind not in self.rulebook.case_schemas:
            known = ", ".join(sorted(self.rulebook.case_schemas))
            return CaseForecast(case_id, None, source, record, None,
                                error={"json_path": "$.kind", "message": f"unknown case kind {kind!r} (known: {known})"})
        clock = self._clock.get(kind, ())
        start = as_of if as_of is not None else self._start(case, clock)
        if start is None and not clock:
            # nothing in this kind's records says "now": time alone cannot change a verdict
            now = self.evaluator.evaluate(case, source=source, record=record)
            if now.error is not None:
                return CaseForecast(case_id, kind, source, record, None, clock, error=now.error)
            note = f"{kind} records have no clock field; only --as-of (a version change) can move them"
            return CaseForecast(case_id, kind, source, record, None, clock,
                                tuple(_stay(r, Status.STABLE, note) for r in now.results))
        if start is None:
            names = " or ".join(clock) if clock else "clock field"
            now = self.evaluator.evaluate(case, source=source, record=record)
            note = f"the case has no {names} and no --as-of was given"
            solver = self.solver(clock, False)
            return CaseForecast(case_id, kind, source, record, None, clock, tuple(
                _stay(r, Status.NO_CLOCK, note) if (rule := self._rule(r)) is not None
                and any(solver.moves(n) for n in rule_nodes(rule)) else _stay(r, Status.STABLE, None)
                for r in now.results))
        stamp = start.isoformat()
        base = with_values(case, {f: stamp for f in clock})
        now = self.evaluator.evaluate(base, as_of=as_of, source=source, record=record)
        if now.error is not None:
            return CaseForecast(case_id, kind, source, record, start, clock, error=now.error)
        out = list(self._case(kind, case, base, start, clock, as_of is not None, now))
        return CaseForecast(case_id, kind, source, record, start, clock, tuple(out))

    def forecast_many(self, cases: Iterable[Mapping[str, Any]], *, as_of: _dt.datetime | None = None
                      ) -> Iterator[CaseForecast]:
        for i, case in enumerate(cases, 1):
            yield self.forecast(case, as_of=as_of, record=i)

    # --- internals ----------------------------------------------------------------------------
    @staticmethod
    def _start(case: dict[str, Any], clock: tuple[str, ...]) -> _dt.datetime | None:
        for f in clock:
            raw = case.get(f)
            if isinstance(raw, str):
                try:
                    return parse_datetime(raw)
                except ValueError:
                    return None
        return None

    def _case(self, kind: str, case: dict[str, Any], base: dict[str, Any], start: _dt.datetime,
              clock: tuple[str, ...], moving_ref: bool, now: CaseResult) -> Iterator[Forecast]:
        results: dict[_Key, RuleResult | None] = {_key(r): r for r in now.results}
        rules: dict[_Key, Rule] = {}
        pending: dict[_Key, list[_dt.datetime]] = {}
        sources: dict[_Key, dict[_dt.datetime, str]] = {}
        unsolved: dict[_Key, str] = {}
        fast: dict[_Key, tuple[Rule, dict[str, Any]]] = {}  # rules decided by their own closures
        for history in self._by_kind.get(kind, ()):
            plan = self._candidates(history, base, start, clock, moving_ref)
            for rule in (r for r in plan.later if self.evaluator.selection.wants(r)):  # in force later, maybe
                rules[(history.id, rule.id)] = rule
                results.setdefault((history.id, rule.id), None)
            union = plan.shared + [c for cands in plan.per_rule.values() for c in cands]
            for key in results:
                if key[0] != history.id:
                    continue
                if key[1] in plan.bad:
                    unsolved[key] = plan.bad[key[1]]
                    continue
                own = plan.alone.get(key[1]) if key[1] is not None else None
                r0 = results.get(key)
                if own is not None and (r0 is None or decide(own, base, plan.env, self.evaluator.budget)
                                        is not r0.outcome):
                    own = None  # its closures alone do not give the evaluator's verdict (e.g. a dependency)
                # A rule judged alone (no waivers, version fixed) changes only at its own instants;
                # otherwise at any instant of its policy (its verdict is the evaluator's, whole).
                cands = plan.per_rule.get(own.id, []) if own is not None else union
                if own is not None:
                    fast[key] = (own, plan.env)
                pending[key] = sorted({p for c in cands for p in (c.at, c.at + ONE_US) if p > start})
                # "because" names the rule's own expressions first (versions and waivers count as
                # its own); another rule's only when the instant is no instant of its own
                mine = plan.shared + plan.per_rule.get(key[1], []) if key[1] is not None else plan.shared
                origin: dict[_dt.datetime, str] = {}
                for c in sorted(mine, key=lambda c: c.at) + sorted(cands, key=lambda c: c.at):
                    origin.setdefault(c.at, c.source)
                sources[key] = origin
        evaluated: dict[_dt.datetime, dict[_Key, RuleResult]] = {}

        def at(point: _dt.datetime) -> dict[_Key, RuleResult]:
            if point not in evaluated:
                res = self.evaluator.evaluate(self._moved(case, clock, point), as_of=point if moving_ref else None)
                evaluated[point] = {_key(r): r for r in res.results}
            return evaluated[point]

        for key, r in results.items():
            first = _stay(r, Status.STABLE, None) if r is not None else _absent(rules[key])
            if key in unsolved:
                first.status, first.note = Status.UNSOLVABLE, unsolved[key]
                yield first
                continue
            change = None
            for point in pending.get(key, ()):
                if key in fast and r is not None:
                    rule, env = fast[key]
                    if decide(rule, self._moved(case, clock, point), env, self.evaluator.budget) is r.outcome:
                        continue
                later = at(point).get(key)
                if _state(later) != _state(r):
                    change = (point, later)
                    break
            if change is None:
                yield first
                continue
            point, later = change
            boundary = point if point in sources[key] else point - ONE_US
            yield self._change(first, point, boundary, later, sources[key].get(boundary), case, clock, moving_ref)

    @staticmethod
    def _moved(case: dict[str, Any], clock: tuple[str, ...], point: _dt.datetime) -> dict[str, Any]:
        stamp = point.isoformat()
        return with_values(case, {f: stamp for f in clock})

    def _candidates(self, history: PolicyHistory, base: dict[str, Any], start: _dt.datetime,
                    clock: tuple[str, ...], moving_ref: bool) -> _Plan:
        plan = _Plan()
        solver = self.solver(clock, moving_ref)
        if moving_ref:
            versions = [v for v in history.versions if v.effective_until is None or v.effective_until > start]
            plan.shared.extend(Candidate(v.effective_from, f"version {v.version} of {history.id} takes effect")
                               for v in versions if v.start_stated)
            plan.shared.extend(Candidate(v.effective_until, f"version {v.version} of {history.id} ends")
                               for v in versions if v.effective_until is not None)
            plan.env = {REF_TIME: start}
            plan.later = [r for v in versions for r in v.rules]
        else:
            version, plan.env = self._version(history, base)
            versions = [version] if version is not None else []
            if version is not None and solver.moves(version.reference_time.node):
                note = f"the reference time `{version.reference_time.text}` moves with the clock"
                plan.bad.update({r.id: note for r in version.rules})
                plan.bad[None] = note
                return plan
        for v in versions:
            plan.shared.extend(self._waiver_candidates(v, solver, base, plan.env, moving_ref))
            for rule in v.rules:
                try:
                    plan.per_rule[rule.id] = solver.candidates(rule_nodes(rule), base, plan.env)
                except Unsolvable as exc:
                    plan.bad[rule.id] = exc.message
                if not moving_ref and not v.waivers:
                    plan.alone[rule.id] = rule
        return plan

    @staticmethod
    def _waiver_candidates(v: PolicyVersion, solver: Solver, base: dict[str, Any], env: dict[str, Any],
                           moving_ref: bool) -> list[Candidate]:
        out: list[Candidate] = []
        for w in v.waivers:
            if moving_ref:
                if w.start is not None:
                    out.append(Candidate(w.start, f"waiver {w.id} starts"))
                out.append(Candidate(w.until, f"waiver {w.id} ends"))
            try:
                out.extend(solver.candidates([w.scope.node], base, env))
            except Unsolvable:
                pass  # a waiver scope that moves unsolvably: its flips are missed (docs/due.md, limits)
        return out

    @staticmethod
    def _version(history: PolicyHistory, base: dict[str, Any]) -> tuple[PolicyVersion | None, dict[str, Any]]:
        try:
            ref = history.latest().reference_time.fn(base, {REF_TIME: UNKNOWN})
        except (EvalFailure, ReadError, ArithmeticError):
            return None, {}
        if ref is UNKNOWN:
            return None, {}
        return history.at(ref), {REF_TIME: ref}

    def _change(self, f: Forecast, point: _dt.datetime, boundary: _dt.datetime, later: RuleResult | None,
                because: str | None, case: dict[str, Any], clock: tuple[str, ...], moving_ref: bool) -> Forecast:
        f.status, f.at, f.boundary = Status.CHANGES, point, boundary
        f.because = because
        if later is None:
            f.becomes = None
            f.note = ("a version of the policy takes effect then: its rules are judged from then on" if not f.rule
                      else "the rule is not in the version in force then")
            return f
        f.becomes = later.outcome
        if later.version != f.version:
            f.becomes_version = later.version
        if later.outcome is Outcome.VIOLATED:
            f.message, f.remedies = later.message, later.remedies
            f.prevent = self._prevent(later, point, boundary, case, clock, moving_ref)
        return f

    def _prevent(self, r: RuleResult, point: _dt.datetime, boundary: _dt.datetime, case: dict[str, Any],
                 clock: tuple[str, ...], moving_ref: bool) -> tuple[str, ...]:
        """Absent event times the rule reads which, recorded at the last moment still in time, decide the verdict
        otherwise: complied or not_applicable (each tried on its own, by evaluation). One that only leaves it
        undetermined (half of a resubmission: its other time missing) is no way to prevent the change."""
        rule = self._rule(r)
        if rule is None:
            return ()
        last_ok = boundary if point > boundary else boundary - ONE_US
        base = with_values(case, {f: point.isoformat() for f in clock})
        out: list[str] = []
        paths = self._paths.get(id(rule))
        if paths is None:
            paths = self._paths[id(rule)] = datetime_paths(rule_nodes(rule))
        for path in paths:
            if path in clock or _present(case, path):
                continue
            tried = with_values(base, {path: last_ok.isoformat()})
            version = self._version_of(r)
            if version is not None and not version.waivers and not moving_ref:
                env = self._version(self.rulebook.policies[r.policy], tried)[1]
                if decide(rule, tried, env, self.evaluator.budget) in _DECIDED:
                    out.append(path)
                continue
            res = self.evaluator.evaluate(tried, as_of=point if moving_ref else None)
            got = next((x for x in res.results if _key(x) == _key(r)), None)
            if got is not None and got.outcome in _DECIDED:
                out.append(path)
        return tuple(out)

    def _version_of(self, r: RuleResult) -> PolicyVersion | None:
        history = self.rulebook.policies.get(r.policy)
        return next((v for v in history.versions if v.version == r.version), None) if history else None

    def _rule(self, r: RuleResult) -> Rule | None:
        version = self._version_of(r)
        return next((x for x in version.rules if x.id == r.rule), None) if version else None


_DECIDED = (Outcome.COMPLIED, Outcome.NOT_APPLICABLE)  # what a preventing event gives


def _key(r: RuleResult) -> _Key:
    return (r.policy, r.rule)


@dataclass
class _Plan:
    """One policy's candidate instants on one case."""

    shared: list[Candidate] = field(default_factory=list)          # versions and waivers: every rule
    per_rule: dict[str, list[Candidate]] = field(default_factory=dict)
    bad: dict[str | None, str] = field(default_factory=dict)       # rule id → why it is not solved
    alone: dict[str, Rule] = field(default_factory=dict)           # rules judged by their own closures
    later: list[Rule] = field(default_factory=list)                # every rule that may come into force
    env: dict[str, Any] = field(default_factory=dict)


def _state(r: RuleResult | None) -> tuple[Outcome, str | None] | None:
    return None if r is None else (r.outcome, r.version)


def _absent(rule: Rule) -> Forecast:
    return Forecast(policy=rule.policy_id, rule=rule.id, version=None, title=rule.title, clause=rule.clause,
                    severity=rule.severity, outcome=Outcome.NOT_APPLICABLE, status=Status.STABLE,
                    note="not in force at the start (a later version has it)")


def _present(case: Mapping[str, Any], path: str) -> bool:
    node: Any = case
    for k in path.split("."):
        if not isinstance(node, dict) or node.get(k) is None:
            return False
        node = node[k]
    return True


def _stay(r: RuleResult, status: Status, note: str | None) -> Forecast:
    return Forecast(policy=r.policy, rule=r.rule, version=r.version, title=r.title, clause=r.clause,
                    severity=r.severity, outcome=r.outcome, status=status, note=note)


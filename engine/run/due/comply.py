"""What would comply: the smallest change of one fact that decides a verdict otherwise.

Input: a rulebook, a case and one :class:`~policy_eval.run.result.RuleResult` that is violated
or undetermined. Output: a list of plain dicts (JSON-ready), one per path the rule reads:

* violated: for each time the rule reads that is present (event times and the clock), the
  nearest value that gives another verdict and by how much it was missed ("request.merchant_
  response.at is 3h12m after the latest value that complies, 2024-06-05T20:10:00+08:00");
  for each absent event time, the latest value (no later than the clock) that complies.
  Then each boolean or enumerated text the rule reads, set to another value that gives
  another verdict ("order.is_free_shipping = false instead of true would give not_applicable").
  Answers are ranked: event times, then the clock, then those facts (within each, complied
  before not_applicable). A time whose dependence is
  not solved exactly gives no answer (a limit of the method, not an answer).
* undetermined: for each missing path, which values give which verdict: both booleans, each
  value of an enumerated text, time ranges for a time (solved like forecasts, see
  :mod:`~policy_eval.run.due.solve`); other values are not enumerated and said so.

Every verdict shown is the evaluator's own, on the case with that one fact changed.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import UNKNOWN, Money, parse_datetime, render_datetime, render_duration
from policy_eval.rulebook import Rulebook
from policy_eval.rulebook.policy import Rule
from policy_eval.run.due.forecast import CLOCK_FIELDS, datetime_paths, rule_nodes, with_values
from policy_eval.run.due.model import human_duration
from policy_eval.run.due.solve import ONE_US, Solver, Unsolvable, static_path
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, Outcome, RuleResult

__all__ = ["Complier", "MAX_ENUM"]

MAX_ENUM = 12  # enumerated texts with more values than this are not tried one by one
MAX_MONEY_TRIES = 24  # amounts tried for one money path, nearest first (each is one evaluation of the case)


class Complier:
    """What-would-comply answers for one rulebook (explanations only: it evaluates a few times per path)."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.evaluator = Evaluator(rulebook, explain="missing", record_inputs=False)

    def annotate(self, case: Mapping[str, Any], result: CaseResult, *, as_of: _dt.datetime | None = None) -> None:
        """Set ``comply`` on each violated or undetermined verdict of ``result`` (``eval --explain`` and the API's
        ``evaluate(explain=True)``, full detail: one answer whichever path evaluated the case)."""
        for r in result.results:
            if r.rule is not None and (r.outcome is Outcome.VIOLATED or r.outcome is Outcome.UNDETERMINED):
                r.comply = tuple(self.explain(case, r, as_of=as_of))

    def explain(self, case: Mapping[str, Any], result: RuleResult, *, as_of: _dt.datetime | None = None
                ) -> list[dict[str, Any]]:
        if result.outcome not in (Outcome.VIOLATED, Outcome.UNDETERMINED) or result.rule is None:
            return []
        rule = self._rule(result)
        if rule is None:
            return []
        case = dict(case)
        env = self._env(result, case, as_of)
        if result.outcome is Outcome.VIOLATED:
            answers = list(self._violated(case, rule, result, env, as_of)) + list(self._facts(case, rule, result, as_of))
            return sorted(answers, key=_rank)  # stable: within a rank, the order the rule reads them
        return list(self._undetermined(case, rule, result, env, as_of))

    # --- violated -----------------------------------------------------------------------------
    def _violated(self, case: dict[str, Any], rule: Rule, r: RuleResult, env: dict[str, Any],
                  as_of: _dt.datetime | None) -> Iterator[dict[str, Any]]:
        clock = next((case[f] for f in CLOCK_FIELDS if isinstance(case.get(f), str)), None)
        for path in datetime_paths(rule_nodes(rule)):
            raw = _get(case, path)
            points, sources = self._points(rule, path, case, env)
            if points is None:
                continue  # a limit of the method, not an answer: this time gives none (docs/due.md, limits)
            if isinstance(raw, str):
                try:
                    value = parse_datetime(raw)
                except ValueError:
                    continue
                best = None
                for p in sorted(points, key=lambda p: abs(p - value)):
                    got = self._outcome(case, r, {path: p.isoformat()}, as_of)
                    if got is not None and got is not Outcome.VIOLATED:
                        best = (p, got)
                        break
                if best is None:
                    continue
                p, got = best
                edge = _edge(p, sources)
                side = "after the latest" if p < value else "before the earliest"
                yield {"path": path, "value": render_datetime(value), "to": render_datetime(p), "outcome": got.value,
                       "by": render_duration(abs(value - p)), "because": sources.get(edge),
                       "text": f"{path} is {human_duration(abs(value - p))} {side} value giving {got.value} "
                               f"({render_datetime(p)}{_by(sources.get(edge))})"}
            elif raw is None and path not in CLOCK_FIELDS:
                limit = parse_datetime(clock) if clock else None
                ok = [p for p in sorted(points, reverse=True) if limit is None or p <= limit]
                for p in ok:
                    got = self._outcome(case, r, {path: p.isoformat()}, as_of)
                    if got is Outcome.COMPLIED:
                        yield {"path": path, "value": None, "to": render_datetime(p), "outcome": got.value,
                               "because": sources.get(_edge(p, sources)),
                               "text": f"{path} recorded at or before {render_datetime(p)} would comply"
                                       f"{_by(sources.get(_edge(p, sources)))}"}
                        break

    def _facts(self, case: dict[str, Any], rule: Rule, r: RuleResult, as_of: _dt.datetime | None
               ) -> Iterator[dict[str, Any]]:
        """Booleans and enumerated texts the rule reads (outside lists): each other value that gives
        another verdict, complied before not_applicable."""
        schema = self.rulebook.case_schemas.get(str(case.get("kind")), {})
        types = _field_types(rule_nodes(rule), ordered=True)
        for path, kind in types.items():
            if kind == "money":
                yield from self._money(case, rule, r, path, types, as_of)
                continue
            if kind == "bool":
                choices: list[Any] = [True, False]
            elif kind == "datetime" or path in CLOCK_FIELDS:
                continue
            else:
                enum = _enum(schema, path)
                if enum is None or len(enum) > MAX_ENUM:
                    continue
                choices = enum
            raw = _get(case, path)
            parent = path.rpartition(".")[0]
            if raw is None and parent and not isinstance(_get(case, parent), dict):
                continue  # an absent object is an absent event, not a fact to flip (a part would be invalid)
            found = []
            for value in choices:
                if value == raw and raw is not None:
                    continue
                got = self._outcome(case, r, {path: value}, as_of)
                if got in (Outcome.COMPLIED, Outcome.NOT_APPLICABLE):
                    found.append((got, value))
            for got, value in sorted(found, key=lambda x: x[0] is not Outcome.COMPLIED):
                shown, was = json.dumps(value, ensure_ascii=False), json.dumps(raw, ensure_ascii=False)
                now = f"instead of {was}" if raw is not None else "(absent now)"
                yield {"path": path, "value": raw, "to": value, "outcome": got.value, "fact": True,
                       "text": f"{path} = {shown} {now} would give {got.value}"}

    def _money(self, case: dict[str, Any], rule: Rule, r: RuleResult, path: str, types: dict[str, str],
               as_of: _dt.datetime | None) -> Iterator[dict[str, Any]]:
        """An amount the rule reads, written as text in the case ("80.00"): the nearest amount that gives
        another verdict among the amounts it can turn on (each amount the case gives on the other money paths
        the rule reads and each amount the rule writes, a cent either side, and zero). Every answer is the
        evaluator's verdict on the case with that amount; amounts between the candidates are not claimed."""
        raw = _get(case, path)
        try:
            value = Decimal(raw) if isinstance(raw, str) else None
        except ArithmeticError:
            return
        if value is None or not value.is_finite():
            return
        marks = {Decimal(0)}
        for other, kind in types.items():
            if kind == "money" and other != path and isinstance(amount := _get(case, other), str):
                try:
                    marks.add(Decimal(amount))
                except ArithmeticError:
                    continue
        marks |= {n.value.amount for n in ir.walk(*rule_nodes(rule))
                  if isinstance(n, ir.Const) and isinstance(n.value, Money)}
        cent = Decimal("0.01")
        candidates = sorted({m + d for m in marks if m.is_finite() for d in (-cent, 0, cent)} - {value},
                            key=lambda c: (abs(c - value), c))
        for outcome in (Outcome.COMPLIED, Outcome.NOT_APPLICABLE):
            for c in candidates[:MAX_MONEY_TRIES]:
                if c < 0:
                    continue
                text = f"{c:.2f}"
                if self._outcome(case, r, {path: text}, as_of) is outcome:
                    yield {"path": path, "value": raw, "to": text, "outcome": outcome.value, "fact": True,
                           "text": f"{path} = {text} instead of {raw} would give {outcome.value}"}
                    return

    # --- undetermined -------------------------------------------------------------------------
    def _undetermined(self, case: dict[str, Any], rule: Rule, r: RuleResult, env: dict[str, Any],
                      as_of: _dt.datetime | None) -> Iterator[dict[str, Any]]:
        types = _field_types(rule_nodes(rule))
        schema = self.rulebook.case_schemas.get(str(case.get("kind")), {})
        for path in r.missing:
            kind = types.get(path)
            entry: dict[str, Any] = {"path": path, "missing": True}
            if kind == "bool":
                entry["values"] = [self._try(case, r, path, v, as_of) for v in (True, False)]
            elif kind == "datetime":
                points, sources = self._points(rule, path, case, env)
                if points is None:  # labelled as what it is: a limit, not an answer
                    entry["limit"] = sources.get(None, "not solved exactly")
                    entry["note"] = f"its value decides the verdict; limit: {entry['limit']}"
                else:
                    entry["ranges"] = self._ranges(case, r, path, points, as_of)
            else:
                enum = _enum(schema, path)
                if enum is not None and len(enum) <= MAX_ENUM:
                    entry["values"] = [self._try(case, r, path, v, as_of) for v in enum]
                else:
                    entry["note"] = "its value decides the verdict; values of this kind are not enumerated"
            yield entry

    def _try(self, case: dict[str, Any], r: RuleResult, path: str, value: Any, as_of: _dt.datetime | None
             ) -> dict[str, Any]:
        got = self._outcome(case, r, {path: value}, as_of)
        return {"value": value, "outcome": got.value if got is not None else None}

    def _ranges(self, case: dict[str, Any], r: RuleResult, path: str, points: list[_dt.datetime],
                as_of: _dt.datetime | None) -> list[dict[str, Any]]:
        """Consecutive time ranges of the path with one verdict each (from, up to and including)."""
        out: list[dict[str, Any]] = []
        for p in sorted(points):
            got = self._outcome(case, r, {path: p.isoformat()}, as_of)
            value = got.value if got is not None else None
            if out and out[-1]["outcome"] == value:
                out[-1]["to"] = render_datetime(p)
                continue
            if out:
                out[-1]["to"] = render_datetime(p - ONE_US) if out[-1]["to"] is None else out[-1]["to"]
            out.append({"from": render_datetime(p), "to": None, "outcome": value})
        if out:
            out[0]["from"] = None  # and everything before
        return out

    # --- shared -------------------------------------------------------------------------------
    def _points(self, rule: Rule, path: str, case: dict[str, Any], env: dict[str, Any]
                ) -> tuple[list[_dt.datetime] | None, dict[Any, str]]:
        solver = Solver([path])
        probe = with_values(case, {path: "1970-01-01T00:00:00+00:00"})  # any value: it is compared, not read
        try:
            cands = solver.candidates(rule_nodes(rule), probe, env)
        except Unsolvable as exc:
            return None, {None: exc.message}
        sources: dict[Any, str] = {}
        for c in cands:
            sources.setdefault(c.at, c.source)
        points = sorted({p for c in cands for p in (c.at - ONE_US, c.at, c.at + ONE_US)})
        return points, sources

    def _outcome(self, case: dict[str, Any], r: RuleResult, change: dict[str, Any], as_of: _dt.datetime | None
                 ) -> Outcome | None:
        res = self.evaluator.evaluate(with_values(case, change), as_of=as_of)
        got = next((x for x in res.results if x.policy == r.policy and x.rule == r.rule), None)
        return got.outcome if got is not None else None

    def _rule(self, r: RuleResult) -> Rule | None:
        history = self.rulebook.policies.get(r.policy)
        version = next((v for v in history.versions if v.version == r.version), None) if history else None
        return next((x for x in version.rules if x.id == r.rule), None) if version else None

    def _env(self, r: RuleResult, case: dict[str, Any], as_of: _dt.datetime | None) -> dict[str, Any]:
        if as_of is not None:
            return {REF_TIME: as_of}
        history = self.rulebook.policies[r.policy]
        try:
            return {REF_TIME: history.latest().reference_time.fn(case, {REF_TIME: UNKNOWN})}
        except Exception:  # noqa: BLE001 - an unreadable reference time already made the verdict undetermined
            return {REF_TIME: UNKNOWN}


def _edge(p: _dt.datetime, sources: dict[Any, str]) -> _dt.datetime:
    for q in (p, p - ONE_US, p + ONE_US):
        if q in sources:
            return q
    return p


def _by(source: str | None) -> str:
    return f", set by {source}" if source else ""


def _get(case: Mapping[str, Any], path: str) -> Any:
    node: Any = case
    for k in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(k)
    return node


def _field_types(nodes: list[ir.IR], *, ordered: bool = False) -> dict[str, str]:
    """Type name per case path read (outside lists); ``ordered``: in the order of reading."""
    out: dict[str, str] = {}
    stack = list(nodes)[::-1] if ordered else list(nodes)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ir.Field):
            path = static_path(node)
            if path is not None:
                out.setdefault(path, node.type.name)
        children = ir.children(node)
        stack.extend(reversed(children) if ordered else children)
    return out


def _rank(entry: dict[str, Any]) -> tuple[int, bool]:
    """Event times first, then the clock (how long ago a deadline passed), then other facts; within
    each, the answers that comply before those that make the rule not apply."""
    group = 2 if entry.get("fact") else 1 if entry.get("path") in CLOCK_FIELDS else 0
    return group, entry.get("outcome") != Outcome.COMPLIED.value


def _enum(schema: Mapping[str, Any], path: str) -> list[Any] | None:
    node: Any = schema
    for k in path.split("."):
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict) or k not in props:
            return None
        node = props[k]
    enum = node.get("enum") if isinstance(node, dict) else None
    return [v for v in enum if v is not None] if isinstance(enum, list) else None  # null: unknown, no choice

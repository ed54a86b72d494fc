"""The metrics executor: records → cases of figures, by the metric definitions (data), in process or on Dask.

Runs :class:`~policy_eval.rulebook.metricdefs.MetricPlan`s: for each record
and each level (store, product, ...) it evaluates every count's compiled
``at``/``where``/``exclude`` (Kleene logic; ``at`` outside the window or absent
means the event did not happen in it), merges repeated records of one order
(an order counts once), sums per store or product, builds one case per store
or product (``counts`` as the definitions name them) and the category means of
each rate, the rate being a compiled expression of the definitions evaluated on
each case. Nothing here knows what a dispute refund or Xinjiang is.

A count that is unknown for one order of a store (or product) is unknown for
the store: left out of its case (rules that need it are undetermined). A rate
that has no value on a case whose counts are all known (no grouped orders:
division by zero) leaves that case out of its category's mean; an unknown rate
leaves the mean out.

:func:`metrics_from_records` runs in process; :func:`metrics_on_dask` takes a
``dask.bag`` of records and gives the same cases, computed on the cluster
(workers compile the same definitions; only per-order flags and per-store sums
travel).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from policy_eval.errors import CaseError
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN, parse_datetime
from policy_eval.resources import bundled_schemas, load_json
from policy_eval.rulebook.loader import Rulebook, load_case_schemas, load_rulebook
from policy_eval.rulebook.metricdefs import (
    MetricPlan,
    RateDef,
    bundled_metric_definitions,
    load_metric_definitions,
)
from policy_eval.rulebook.validation import CaseValidator

__all__ = ["metrics_from_records", "metrics_on_dask", "make_plan", "PlanSpec"]

Flags = tuple[int | None, ...]  # per count: 1 counted, 0 not, None unknown
GroupKey = tuple[str, str]  # (level, key)
OrderKey = tuple[str, str, str]  # (level, key, order id)
Entity = tuple[str, tuple[tuple[str, Any], ...], Flags]  # (category, case fields, flags or summed counts)

PlanSpec = tuple[str | None, str | None, str]  # (policy folder, definitions file, window end ISO): picklable


def _aware(value: str | _dt.datetime) -> _dt.datetime:
    return value if isinstance(value, _dt.datetime) and value.tzinfo else parse_datetime(str(value))


def make_plan(window_end: str | _dt.datetime, *, rulebook: Rulebook | None = None,
              definitions: str | Path | None = None) -> tuple[MetricPlan, CaseValidator, str]:
    """Compile the definitions for the window ending at ``window_end`` with the parameters in force then."""
    from policy_eval.expression import default_functions

    end = _aware(window_end)
    book = rulebook if rulebook is not None else load_rulebook()
    defs = load_metric_definitions(definitions if definitions is not None else bundled_metric_definitions())
    history = book.policies.get(defs.policy)
    version = history.at(end) if history is not None else None
    if version is None:
        raise ValueError(f"{defs.file}: no version of policy {defs.policy!r} is in force at {end.isoformat()}")
    records = book.schema_dir / "records" / f"{defs.record}.schema.json"
    if not records.is_file():
        records = bundled_schemas() / "records" / f"{defs.record}.schema.json"
    record_schema = load_json(str(records))
    case_schema = load_case_schemas(book.schema_dir)[defs.produces]
    plan = defs.plan(end, version.params, record_schema=record_schema, case_schema=case_schema,
                     functions=default_functions())
    return plan, CaseValidator({defs.record: record_schema}), defs.record


def _and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    return True


def _truth(value: Any) -> Any:
    return value if value is True or value is False else UNKNOWN


def _order_flags(plan: MetricPlan, validator: CaseValidator, kind: str, record: Any, source: str,
                 number: int) -> Iterator[tuple[OrderKey, Entity]]:
    """What one record contributes: per level, its (level, key, order id) and its flags."""
    if isinstance(record, dict) and "kind" not in record:
        record = {"kind": kind, **record}
    error = validator.check(record, source, number)
    if error is not None:
        raise error
    env = {REF_TIME: plan.window_end}
    try:
        flags: list[int | None] = []
        for count in plan.counts:
            value: Any = True
            if count.at is not None:
                t = count.at.fn(record, env)
                value = t is not UNKNOWN and plan.window_start <= t < plan.window_end
            if count.where is not None:
                value = _and(value, _truth(count.where.fn(record, env)))
            if count.exclude is not None:
                excluded = _truth(count.exclude.fn(record, env))
                value = _and(value, UNKNOWN if excluded is UNKNOWN else not excluded)
            flags.append(None if value is UNKNOWN else int(value))
        for level in plan.levels:
            key, category = level.key.fn(record, env), level.category.fn(record, env)
            if key is UNKNOWN:
                continue  # the record has no entity at this level (an order without product figures)
            if category is UNKNOWN:
                raise CaseError(f"{level.name} {key!r}: no category ({level.category.text})", source=source,
                                record=number)
            fields = []
            for path, expr in level.fields:
                value = expr.fn(record, env)
                if value is UNKNOWN:
                    raise CaseError(f"{level.name} {key!r}: {path} ({expr.text}) is unknown", source=source,
                                    record=number)
                fields.append((path, value))
            yield (level.name, str(key), str(record["order_id"])), (str(category), tuple(fields), tuple(flags))
    except EvalFailure as exc:
        raise CaseError(f"metric definitions failed on this record: {exc}", source=source, record=number) from None


def _merge_order(a: Entity, b: Entity) -> Entity:
    """Two records of one order: the order counts once, for a count if either record counts it."""
    if a[0] != b[0] or a[1] != b[1]:
        raise ValueError(f"one order with two categories or case fields: {a[:2]!r} and {b[:2]!r}")
    flags = tuple(1 if x == 1 or y == 1 else None if x is None or y is None else 0
                  for x, y in zip(a[2], b[2], strict=True))
    return a[0], a[1], flags


def _sum(a: Entity, b: Entity) -> Entity:
    """Two orders (or partial sums) of one store or product: counts add, an unknown stays unknown."""
    if a[0] != b[0] or a[1] != b[1]:
        raise ValueError(f"one store or product with two categories or case fields: {a[:2]!r} and {b[:2]!r}")
    return a[0], a[1], tuple(None if x is None or y is None else x + y for x, y in zip(a[2], b[2], strict=True))


def _totals(per_order: Iterable[tuple[OrderKey, Entity]]) -> dict[GroupKey, Entity]:
    out: dict[GroupKey, Entity] = {}
    for (level, key, _), entity in per_order:
        group = (level, key)
        out[group] = _sum(out[group], entity) if group in out else entity
    return out


def _set(node: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _mean(values: list[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).normalize()


def _reads_any(rate: RateDef, counts: set[str]) -> bool:
    """Whether ``rate`` reads one of ``counts`` (dotted names under ``counts``): a store's unknown count makes
    the category's mean of a rate unknown only when the rate reads it (a read of an object covers its parts)."""
    for path in rate.value.reads:
        if path[:1] == ("counts",):
            read = ".".join(path[1:])
            if any(c == read or c.startswith(read + ".") or read.startswith(c + ".") for c in counts):
                return True
    return False


def _assemble(plan: MetricPlan, totals: Mapping[GroupKey, Entity], persistence: Mapping[str, Any] | None,
              penalty_points: Mapping[str, int] | None) -> list[dict[str, Any]]:
    env = {REF_TIME: plan.window_end}
    cases: list[dict[str, Any]] = []
    for level in plan.levels:
        by_category: dict[str, list[tuple[str, Entity]]] = {}
        for (name, key), entity in totals.items():
            if name == level.name:
                by_category.setdefault(entity[0], []).append((key, entity))
        for category in sorted(by_category):
            members = sorted(by_category[category])
            built = []
            for key, (_, fields, counts) in members:
                case: dict[str, Any] = {"kind": plan.produces, "case_id": f"{level.name}:{key}@{plan.window_end.date()}"}
                for path, value in fields:
                    _set(case, path, value)
                case["window"] = {"start": plan.window_start.isoformat(), "end": plan.window_end.isoformat()}
                case["counts"] = {}
                for count, value in zip(plan.counts, counts, strict=True):
                    if value is not None:
                        _set(case["counts"], count.name, value)
                built.append((key, case, {c.name for c, value in zip(plan.counts, counts, strict=True) if value is None}))
            means: dict[str, Decimal] = {}
            for rate in plan.rates:
                values: list[Decimal] = []
                known = True
                for _, case, unknown in built:
                    value = rate.value.fn(case, env)
                    if value is UNKNOWN and unknown and _reads_any(rate, unknown):
                        known = False  # an unknown count of its own, not no value (e.g. no grouped orders)
                    elif value is not UNKNOWN:
                        values.append(Decimal(value))
                if known and values:
                    means[rate.name] = _mean(values)
            for key, case, _ in built:
                case["category_mean"] = dict(means)
                if penalty_points and level.name == plan.levels[0].name and key in penalty_points:
                    case["penalty_points"] = penalty_points[key]
                if persistence and key in persistence:
                    case["persistence"] = dict(persistence[key])
                cases.append(case)
    return cases


def _records_flags(spec: PlanSpec, records: Iterable[Any], source: str, first: int = 1
                   ) -> Iterator[tuple[OrderKey, Entity]]:
    plan, validator, kind = _cached_plan(spec)
    for number, record in enumerate(records, first):
        yield from _order_flags(plan, validator, kind, record, source, number)


_PLANS: dict[PlanSpec, tuple[MetricPlan, CaseValidator, str]] = {}


def _cached_plan(spec: PlanSpec) -> tuple[MetricPlan, CaseValidator, str]:
    """On a worker: the plan compiled once per process from the same files (compiled code does not travel)."""
    if spec not in _PLANS:
        root, definitions, end = spec
        _PLANS.clear()
        _PLANS[spec] = make_plan(end, rulebook=load_rulebook(root) if root else None, definitions=definitions)
    return _PLANS[spec]


def _spec(window_end: str | _dt.datetime, policies: str | Path | None, definitions: str | Path | None) -> PlanSpec:
    return (str(policies) if policies is not None else None, str(definitions) if definitions is not None else None,
            _aware(window_end).isoformat())


def metrics_from_records(records: Iterable[Mapping[str, Any]], window_end: str | _dt.datetime, *,
                         policies: str | Path | None = None, definitions: str | Path | None = None,
                         persistence: Mapping[str, Any] | None = None,
                         penalty_points: Mapping[str, int] | None = None, source: str = "<records>"
                         ) -> list[dict[str, Any]]:
    """One case per store (and product) for the window ending at ``window_end``, in process.

    ``persistence`` (store or product id → the case's ``persistence`` object) and ``penalty_points``
    (store id → points) are copied into the cases: they are not 30-day counts of orders.
    """
    spec = _spec(window_end, policies, definitions)
    plan = _cached_plan(spec)[0]
    per_order: dict[OrderKey, Entity] = {}
    for key, entity in _records_flags(spec, records, source):
        per_order[key] = _merge_order(per_order[key], entity) if key in per_order else entity
    return _assemble(plan, _totals(per_order.items()), persistence, penalty_points)


def _partition(records: Iterable[Any], spec: PlanSpec) -> list[tuple[OrderKey, Entity]]:
    return list(_records_flags(spec, records, "<dask partition>"))


def metrics_on_dask(bag: Any, window_end: str | _dt.datetime, *, policies: str | Path | None = None,
                    definitions: str | Path | None = None, persistence: Mapping[str, Any] | None = None,
                    penalty_points: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """As :func:`metrics_from_records` for a ``dask.bag`` of records: flags and sums computed on the cluster.

    The policy folder and definitions file must be readable on the workers (as for ``eval --engine dask``).
    """
    spec = _spec(window_end, policies, definitions)
    plan = _cached_plan(spec)[0]  # compile on the client first: a bad definition fails here, located
    flags = bag.map_partitions(_partition, spec)
    per_order = flags.foldby(lambda item: item[0], lambda acc, item: _merge_order(acc, item[1]) if acc else item[1],
                             None, _merge_order)
    per_group = per_order.map(lambda kv: ((kv[0][0], kv[0][1]), kv[1]))
    sums = per_group.foldby(lambda kv: kv[0], lambda acc, kv: _sum(acc, kv[1]) if acc else kv[1], None, _sum)
    return _assemble(plan, dict(sums.compute()), persistence, penalty_points)

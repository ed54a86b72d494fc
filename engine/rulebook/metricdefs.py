"""Metric definitions as data: how the figures of a case kind are computed from records.

Input: a YAML file with a top-level ``metrics:`` key (the bundled one is
``policies/metrics/order_metrics.yaml``; format in ``schemas/metrics.schema.json``
and docs/metrics.md). Output: :class:`MetricDefinitions`; :meth:`MetricDefinitions.plan`
checks and compiles every condition for one window and one set of parameters
(the policy version in force at the window end) into a :class:`MetricPlan`,
which :mod:`policy_eval.run.metrics` executes. Every error is located in the
file (line and column, inside a condition at its place); all are collected.

Conditions are the condition language: counts' ``at``/``where``/``exclude`` are
checked against the record schema (``schemas/records/<record>.schema.json``)
with ``window_start`` and ``window_end`` as datetime constants; rates'
``value`` against the produced case kind's schema with the policy's parameters.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError, PolicyTypeError
from policy_eval.lang import ir
from policy_eval.lang.ast import Span
from policy_eval.lang.checker import Scope, check, written_below
from policy_eval.lang.codegen import compile_fast
from policy_eval.lang.compiler import Compiled
from policy_eval.lang.functions import FunctionRegistry, assignable
from policy_eval.lang.parser import parse
from policy_eval.lang.types import BOOL, DATETIME, STRING, Type, schema_to_type
from policy_eval.lang.values import parse_duration
from policy_eval.resources import bundled_policies, bundled_schemas, load_json
from policy_eval.rulebook.errororder import in_order
from policy_eval.rulebook.yamlload import Positions, load_yaml

__all__ = ["MetricDefinitions", "MetricPlan", "CountDef", "RateDef", "LevelDef", "Compiled1",
           "load_metric_definitions", "bundled_metric_definitions", "WINDOW_NAMES"]

WINDOW_NAMES = ("window_start", "window_end")
Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Compiled1:
    """One compiled expression with its source."""

    text: str
    fn: Compiled
    type: Type
    reads: tuple[tuple[str, ...], ...] = ()  # the paths it reads from the root (lets' reads included)


@dataclass(frozen=True)
class LevelDef:
    name: str
    key: Compiled1
    category: Compiled1
    fields: tuple[tuple[str, Compiled1], ...]  # case path → value, the same for every record of the key


@dataclass(frozen=True)
class CountDef:
    name: str  # dotted path under ``counts`` of the produced case
    at: Compiled1 | None
    where: Compiled1 | None
    exclude: Compiled1 | None


@dataclass(frozen=True)
class RateDef:
    name: str  # key of ``category_mean`` in the produced case
    value: Compiled1


@dataclass(frozen=True)
class MetricPlan:
    """The definitions compiled for one window: what the executor runs."""

    produces: str
    window_start: _dt.datetime
    window_end: _dt.datetime
    levels: tuple[LevelDef, ...]
    counts: tuple[CountDef, ...]
    rates: tuple[RateDef, ...]


def _span() -> Span:
    return Span(1, 1, 1, 1, 0, 0)


def _metrics_schema() -> Any:
    return load_json(str(bundled_schemas() / "metrics.schema.json"))


@dataclass
class MetricDefinitions:
    file: str
    data: dict[str, Any]
    positions: Positions

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.data["metrics"])

    @property
    def policy(self) -> str:
        return str(self.spec["policy"])

    @property
    def record(self) -> str:
        return str(self.spec["record"])

    @property
    def produces(self) -> str:
        return str(self.spec["produces"])

    @property
    def window(self) -> _dt.timedelta:
        return parse_duration(str(self.spec["window"]))

    def plan(self, window_end: _dt.datetime, params: Mapping[str, ir.IR], *, record_schema: dict[str, Any],
             case_schema: dict[str, Any], functions: FunctionRegistry) -> MetricPlan:
        """Check and compile every condition for the window ending at ``window_end``; ErrorList if any fails."""
        return _Builder(self, functions).build(window_end, params, record_schema, case_schema)


class _Builder:
    def __init__(self, defs: MetricDefinitions, functions: FunctionRegistry) -> None:
        self.defs = defs
        self.pos = defs.positions
        self.functions = functions
        self.errors: list[PolicyError] = []

    def fail(self, exc: PolicyError, path: Path_) -> None:
        line, column = exc.line or 1, exc.column or 1
        width = exc.end_column - column if exc.end_column is not None and exc.end_column > column else None
        line, column = self.pos.expression_position(path, line, column)
        exc.relocate(file=self.pos.file, line=line, column=column, source_line=self.pos.line_text(line))
        exc.end_column = column + width if width is not None else None
        self.errors.append(exc)

    def expr(self, path: Path_, text: Any, scope: Scope, expect: Type | None, what: str) -> Compiled1 | None:
        raw = "true" if text is True else "false" if text is False else text
        if not isinstance(raw, str):
            self.fail(PolicyTypeError(f"{what} must be text"), path)
            return None
        try:
            node = check(parse(raw), scope, raw)
        except PolicyError as exc:
            self.fail(exc, path)
            return None
        if expect is not None and not assignable(node.type, expect):
            self.fail(PolicyTypeError(f"{what} must be {expect}, got {node.type}", line=1, column=1), path)
            return None
        return Compiled1(raw, compile_fast(node, raw), node.type, ir.root_paths(node))

    def lets(self, raw: Mapping[str, Any] | None, path: Path_, scope: Scope) -> Scope:
        lets: dict[str, ir.IR] = dict(scope.lets)
        names = list(raw or {})
        for i, (name, text) in enumerate((raw or {}).items()):
            later = written_below("let", name, [(n, f"line {self.pos.where(path + (n,), key=True)[0]}")
                                                for n in names[i + 1:]])
            try:
                node = check(parse(str(text)), Scope(scope.case_type, scope.functions, scope.params, lets,
                                                     later=later), str(text))
            except PolicyError as exc:
                self.fail(exc, path + (name,))
                continue
            lets[name] = node
        return Scope(scope.case_type, scope.functions, scope.params, lets)

    def build(self, window_end: _dt.datetime, params: Mapping[str, ir.IR], record_schema: dict[str, Any],
              case_schema: dict[str, Any]) -> MetricPlan:
        spec = self.defs.spec
        start = window_end - self.defs.window
        window = {name: ir.Const(DATETIME, _span(), name, value, name=name)
                  for name, value in zip(WINDOW_NAMES, (start, window_end), strict=True)}
        record_scope = Scope(schema_to_type(record_schema, label=self.defs.record), self.functions,
                             {**params, **window})
        record_scope = self.lets(spec.get("let"), ("metrics", "let"), record_scope)
        levels = []
        for name, level in spec["levels"].items():
            p = ("metrics", "levels", name)
            key = self.expr(p + ("key",), level["key"], record_scope, STRING, "a level key")
            category = self.expr(p + ("category",), level["category"], record_scope, STRING, "a level category")
            fields = []
            for path, text in (level.get("case") or {}).items():
                value = self.expr(p + ("case", path), text, record_scope, None, "a case field")
                if value is not None:
                    fields.append((path, value))
            if key and category:
                levels.append(LevelDef(name, key, category, tuple(fields)))
        counts = []
        for name, count in spec["counts"].items():
            p = ("metrics", "counts", name)
            parts = {}
            for part, expect in (("at", DATETIME), ("where", BOOL), ("exclude", BOOL)):
                if part in count:
                    parts[part] = self.expr(p + (part,), count[part], record_scope, expect, f"'{part}'")
            counts.append(CountDef(name, parts.get("at"), parts.get("where"), parts.get("exclude")))
        case_scope = Scope(schema_to_type(case_schema, label=self.defs.produces), self.functions, dict(params))
        rates = []
        for name, rate in spec["rates"].items():
            p = ("metrics", "rates", name)
            scope = self.lets(rate.get("let"), p + ("let",), case_scope)
            value = self.expr(p + ("value",), rate["value"], scope, None, "a rate")
            if value is not None:
                rates.append(RateDef(name, value))
        if self.errors:
            raise ErrorList(in_order(self.errors))
        return MetricPlan(self.defs.produces, start, window_end, tuple(levels), tuple(counts), tuple(rates))


def load_metric_definitions(path: Path | str) -> MetricDefinitions:
    """Read and validate a definitions file (structure only; :meth:`MetricDefinitions.plan` checks conditions)."""
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyLoadError(f"cannot read metric definitions: {exc.strerror}", file=shown) from None
    data, positions = load_yaml(raw, shown)
    validator = jsonschema.Draft202012Validator(_metrics_schema())
    errors: list[PolicyError] = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = tuple(err.absolute_path)
        line, column = positions.where(where, key=True)
        errors.append(PolicyLoadError(f"{'.'.join(map(str, where)) or 'the file'}: {err.message}", file=shown,
                                      line=line, column=column, source_line=positions.line_text(line)))
    if errors:
        raise ErrorList(in_order(errors))
    spec = data["metrics"]
    try:
        parse_duration(str(spec["window"]))
    except ValueError as exc:
        line, column = positions.where(("metrics", "window"))
        raise PolicyLoadError(f"metrics.window: {exc}", file=shown, line=line, column=column,
                              source_line=positions.line_text(line)) from None
    return MetricDefinitions(shown, data, positions)


def bundled_metric_definitions() -> Path:
    return bundled_policies() / "metrics" / "order_metrics.yaml"

"""Policy files → checked, compiled policy versions.

Input: a policy YAML file (loaded by :mod:`policy_eval.rulebook.yamlload`), the case
types and the function registry. Output: a :class:`PolicyVersion` whose rules
hold compiled conditions, or located errors -- all of them, not just the
first. Every error points into the YAML file, a condition error at its place
inside the condition.

Two passes: the file is validated against ``schemas/policy.schema.json``;
then every part the schema found well-formed is checked and compiled (parts
with schema errors are skipped, so one mistake is not reported twice).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError, PolicyNameError, PolicyTypeError
from policy_eval.lang import ir
from policy_eval.lang.ast import Span
from policy_eval.lang.checker import Scope, check
from policy_eval.lang.codegen import compile_fast
from policy_eval.lang.compiler import Compiled, remember_let
from policy_eval.lang.cost import CASE_LIST_ITEMS, DEFAULT_CEILING, Estimate, estimate
from policy_eval.lang.cost import remember_let as remember_let_cost
from policy_eval.lang.functions import FunctionRegistry, assignable
from policy_eval.lang.interpreter import interpret
from policy_eval.lang.parser import parse
from policy_eval.lang.types import (
    ANY,
    BOOL,
    DATETIME,
    MONEY,
    STRING,
    Type,
    list_of,
    parse_type_name,
    record,
    unify,
)
from policy_eval.lang.values import SHANGHAI, UNKNOWN, parse_date, parse_datetime, render
from policy_eval.resources import policy_schema
from policy_eval.rulebook.yamlhints import condition_hint
from policy_eval.rulebook.yamlload import Positions

__all__ = ["Condition", "Template", "Remedy", "Rule", "Waiver", "PolicyVersion", "load_policy_file",
           "parse_instant", "inputs_of"]

SEVERITIES = ("info", "low", "medium", "high", "critical")

Path_ = tuple[Any, ...]  # a JSON path into the policy document


@dataclass
class Condition:
    """A compiled condition with its source and where it stands in the file."""

    text: str
    node: ir.IR
    fn: Compiled
    line: int
    column: int
    cost: Estimate | None = None  # the static estimate (lang.cost), checked against the loader's ceiling

    @property
    def type(self) -> Type:
        return self.node.type


@dataclass
class Template:
    """A message with ``{expression}`` placeholders."""

    parts: list[str | Condition]

    def render(self, values: Callable[[Condition], str]) -> str:
        return "".join(p if isinstance(p, str) else values(p) for p in self.parts)


@dataclass
class Remedy:
    kind: str
    to: str | None
    description: str | None
    form: str | None
    amount: Condition | None
    when: Condition | None


@dataclass
class Rule:
    id: str
    policy_id: str
    title: str
    clause: str
    severity: str
    when: Condition | None
    condition: Condition
    mode: str  # "require" or "forbid"
    message: Template
    remedies: list[Remedy]
    lets: dict[str, Condition]
    reading: str | None
    tags: list[str]
    line: int
    inputs: list[str] = field(default_factory=list)  # the case paths its when and condition read
    readers: dict[str, Callable[[Any], Any] | None] = field(default_factory=dict)  # path → raw JSON → value

    @property
    def full_id(self) -> str:
        return f"{self.policy_id}/{self.id}"


@dataclass
class Waiver:
    id: str
    rules: list[str] | None
    scope: Condition
    reason: str
    approved_by: str
    start: _dt.datetime | None
    until: _dt.datetime

    def in_force(self, at: _dt.datetime) -> bool:
        return (self.start is None or self.start <= at) and at < self.until


@dataclass
class Location:
    """Where a part of a policy file stands, for errors found later (across versions)."""

    line: int
    column: int
    source_line: str | None = None


@dataclass
class PolicyVersion:
    id: str
    title: str
    version: str
    source: dict[str, str]
    effective_from: _dt.datetime
    effective_until: _dt.datetime | None
    applies_to: str
    reference_time: Condition
    notes: str | None
    params: dict[str, ir.IR]
    rules: list[Rule]
    waivers: list[Waiver]
    file: str
    digest: str = ""
    locations: dict[str, Location] = field(default_factory=dict)  # keys of ``policy:`` → where they stand

    def in_force(self, at: _dt.datetime) -> bool:
        return self.effective_from <= at and (self.effective_until is None or at < self.effective_until)

    def error(self, message: str, where: str) -> PolicyLoadError:
        loc = self.locations.get(where, Location(1, 1))
        return PolicyLoadError(message, file=self.file, line=loc.line, column=loc.column,
                               source_line=loc.source_line)


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_instant(text: str) -> _dt.datetime:
    """A date (its 00:00 Asia/Shanghai) or an ISO datetime (no offset = Asia/Shanghai)."""
    text = text.strip()
    if _DATE_ONLY.fullmatch(text):
        d = parse_date(text)
        return _dt.datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)
    return parse_datetime(text.replace(" ", "T", 1))


def load_policy_file(path: Path | str, data: Any, positions: Positions, case_types: Mapping[str, Type],
                     functions: FunctionRegistry, max_cost: int | None = DEFAULT_CEILING) -> PolicyVersion:
    """Validate and compile one loaded policy document; raise ErrorList with every error found."""
    if not isinstance(data, dict):
        raise PolicyLoadError("a policy file must be a YAML mapping with 'policy:' and 'rules:'",
                              file=str(path), line=1, column=1)
    schema_errors = _schema_errors(data, positions)
    builder = _Builder(data, positions, case_types, functions, broken=[p for p, _ in schema_errors],
                       max_cost=max_cost)
    version = builder.build()
    errors = [e for _, e in schema_errors] + builder.errors
    if errors or version is None:
        errors.sort(key=lambda e: (e.line or 0, e.column or 0))
        raise ErrorList(errors or [PolicyLoadError("policy could not be built", file=str(path))])
    return version


# --- schema validation ------------------------------------------------------------------------------------
@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(policy_schema())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    return {str: "text", list: "a list", dict: "a mapping", type(None): "nothing (null)"}.get(type(value), "?")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _schema_errors(data: Any, positions: Positions) -> list[tuple[Path_, PolicyError]]:
    """Every schema violation as (path of the broken part, located error)."""
    out: list[tuple[Path_, PolicyError]] = []
    seen: set[tuple[Path_, str]] = set()
    for err in _validator().iter_errors(data):
        for path, message, key in _describe(err):
            if (path, message) in seen:
                continue
            seen.add((path, message))
            line, column = positions.where(path, key=key)
            out.append((path, PolicyLoadError(message, file=positions.file, line=line, column=column,
                                              source_line=positions.line_text(line))))
    return out


def _describe(err: jsonschema.ValidationError) -> list[tuple[Path_, str, bool]]:
    """Readable messages for one schema error: (path, message, point at the key rather than the value)."""
    path: Path_ = tuple(err.absolute_path)
    where = ".".join(map(str, path)) or "the file"
    schema = err.schema if isinstance(err.schema, dict) else {}
    value: Any = err.instance
    expected: Any = err.validator_value
    if err.validator == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties") or {})
        return [(path + (extra,),
                 f"unknown key '{extra}'" + (_suggest(str(extra), allowed) or f" (allowed: {', '.join(allowed)})"),
                 True)
                for extra in value if extra not in allowed]
    if err.validator == "required" and isinstance(value, dict):
        return [(path + (name,), f"'{name}' is required (in {where})", False)
                for name in expected if name not in value]
    if err.validator == "oneOf" and path[:1] == ("rules",) and isinstance(value, dict):
        if "require" in value and "forbid" in value:
            return [(path + ("forbid",), "a rule has both 'require' and 'forbid'; keep one", True)]
        return [(path, "a rule needs 'require' (what must hold) or 'forbid' (what must not)", False)]
    if err.validator == "oneOf" and path[:1] == ("params",) and isinstance(value, dict):
        if "value" in value and "values" in value:
            return [(path + ("values",), "a parameter has either 'value' or dated 'values', not both", True)]
        return [(path, "a parameter in long form needs 'value' (or dated 'values')", False)]
    if err.validator == "anyOf" and err.context:
        # Report the branch meant for this kind of value (the one without a type mismatch at this level).
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in err.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        for subs in branches.values():
            if not any(s.validator == "type" and tuple(s.absolute_path) == path for s in subs):
                return [d for s in subs for d in _describe(s)]
    if "propertyNames" in err.schema_path:
        return [(path + (value,), f"{where}: name {_short(value)} is not allowed "
                 f"(letters, digits and _; not starting with a digit)", True)]
    if err.validator == "enum":
        choices = [str(c) for c in expected]
        return [(path, f"{where}: {_short(value)} is not one of {', '.join(choices)}"
                 f"{_suggest(str(value), choices)}", False)]
    if err.validator == "type":
        types = expected if isinstance(expected, list) else [expected]
        hint = "; write it in quotes" if types == ["string"] and _json_type(value) in ("a number", "a boolean") \
            else ""
        return [(path, f"{where}: expected {' or '.join(types)}, got {_json_type(value)}{hint}", False)]
    if err.validator == "pattern" and schema.get("pattern") == policy_schema()["$defs"]["instant"]["pattern"]:
        return [(path, f"{where}: {_short(value)} is not a date (2021-01-01) or datetime "
                 f"(2021-01-01T08:00:00+08:00)", False)]
    if err.validator == "maxLength":
        return [(path, f"{where}: too long ({len(value)} characters; at most {expected})", False)]
    if err.validator == "minLength":
        return [(path, f"{where}: must not be empty", False)]
    if err.validator == "minItems":
        return [(path, f"{where}: needs at least {expected} item(s)", False)]
    if err.validator == "pattern" and path[:1] == ("params",) and path[-1] == "type":
        return [(path, f"{where}: unknown type {_short(value)} (use bool, int, decimal, string, money, date, "
                 "datetime, duration or list<...> of one of them)", False)]
    if err.validator == "pattern":
        return [(path, f"{where}: {_short(value)} does not match {expected}", False)]
    message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
    return [(path, f"{where}: {message}" if path else message, False)]


# --- checking and compiling ---------------------------------------------------------------------------------
class _Builder:
    """Builds one PolicyVersion, collecting every error it finds.

    ``broken`` lists the paths where the schema found errors: parts at or under them are skipped.
    """

    def __init__(self, data: dict[str, Any], positions: Positions, case_types: Mapping[str, Type],
                 functions: FunctionRegistry, broken: Iterable[Path_] = (), max_cost: int | None = DEFAULT_CEILING) -> None:
        self.data = data
        self.max_cost = max_cost
        self.pos = positions
        self.case_types = case_types
        self.functions = functions
        self.broken = list(broken)
        self.errors: list[PolicyError] = []
        self.param_paths: dict[str, Path_] = {}  # where each constant parameter's value stands
        self.checked_items: set[tuple[str, int, str, int]] = set()

    # --- helpers --------------------------------------------------------------------------------------
    def ok(self, path: Path_) -> bool:
        """Whether the part at ``path`` exists and has no schema error at, under or above it."""
        try:
            self.get(path)
        except (KeyError, IndexError, TypeError):
            return False
        return not any(b[: len(path)] == path or path[: len(b)] == b for b in self.broken)

    def fail(self, message: str, path: Path_, cls: type[PolicyError] = PolicyLoadError, key: bool = False) -> None:
        line, column = self.pos.where(path, key=key)
        self.errors.append(cls(message, file=self.pos.file, line=line, column=column,
                               source_line=self.pos.line_text(line)))

    def location(self, path: Path_) -> Location:
        line, column = self.pos.where(path)
        return Location(line, column, self.pos.line_text(line))

    def relocate(self, exc: PolicyError, path: Path_, offset: tuple[int, int] = (0, 0)) -> None:
        """Place an error located inside a condition (line/column of its text) in the file."""
        line, column = exc.line or 1, exc.column or 1
        width = exc.end_column - column if exc.end_column is not None and exc.end_column > column else None
        if line == 1:
            column += offset[1]
        line, column = self.pos.expression_position(path, line + offset[0], column)
        exc.relocate(file=self.pos.file, line=line, column=column, source_line=self.pos.line_text(line))
        exc.end_column = column + width if width is not None else None
        self.errors.append(exc)

    def expression(self, path: Path_, scope: Scope, expect: Type | None = None, what: str = "condition",
                   text: str | None = None, offset: tuple[int, int] = (0, 0)) -> Condition | None:
        raw = self.get(path) if text is None else text
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if not isinstance(raw, str):
            self.fail(f"{what} must be text", path)
            return None
        try:
            node = check(parse(raw), scope, raw)
        except PolicyError as exc:
            exc.message += condition_hint(raw) if exc.kind == "syntax" else ""
            self.relocate(exc, path, offset)
            return None
        if expect is not None and not assignable(node.type, expect):
            self.relocate(PolicyTypeError(f"{what} must be {expect}, got {node.type}", line=1, column=1),
                          path, offset)
            return None
        self.check_parameter_items(node)
        cost = estimate(node)
        if self.max_cost is not None and cost.cost > self.max_cost:
            hot = cost.hot or node
            s = hot.span
            self.relocate(PolicyLoadError(
                f"{what}: estimated cost {cost.cost:,} items is above the ceiling {self.max_cost:,}; "
                f"`{hot.text[:80]}` may visit {max(cost.hot_cost, cost.cost):,} items (a list read from a case "
                f"counts as {CASE_LIST_ITEMS:,} items; see docs/language.md, Cost)",
                line=s.line, column=s.column), path, offset)
            return None
        line, column = self.pos.expression_position(path, 1 + offset[0], 1 + offset[1])
        return Condition(raw, node, compile_fast(node, raw), line, column, cost)

    def check_parameter_items(self, node: ir.IR) -> None:
        """Check, at load time, arguments taken one by one from a list parameter through a quantifier.

        A function may check constant arguments when a condition is loaded (``matches`` compiles its
        pattern). The checker does so for constants in the condition; here the items of a list parameter
        a quantifier walks (``any p in patterns: matches(m.text, p)``) are checked too, each at its place.
        """
        stack: list[tuple[ir.IR, dict[str, ir.Const]]] = [(node, {})]
        while stack:
            n, bound = stack.pop()
            if isinstance(n, ir.LetRef):
                continue  # a let-binding is checked where it is defined
            if isinstance(n, ir.Quant):
                inner = {k: v for k, v in bound.items() if k != n.var}
                coll = n.collection
                if isinstance(coll, ir.Const) and coll.name in self.param_paths and isinstance(coll.value, list):
                    inner[n.var] = coll
                stack += [(coll, bound), (n.body, inner)]
                continue
            fn = self.functions.get(n.name) if isinstance(n, ir.Call) else None
            if fn is not None and fn.check_constant is not None:
                for i, arg in enumerate(ir.children(n)):
                    param = bound.get(arg.name) if isinstance(arg, ir.Var) else None
                    if param is not None:
                        self.check_items(fn.name, fn.check_constant, i, param)
            stack += [(c, bound) for c in ir.children(n)]

    def check_items(self, function: str, check: Callable[[int, Any], None], i: int, param: ir.Const) -> None:
        name = str(param.name)
        for j, item in enumerate(param.value):
            if (function, i, name, j) in self.checked_items:
                continue
            self.checked_items.add((function, i, name, j))
            try:
                check(i, item)
            except ValueError as exc:
                self.fail(f"{exc} (item {j + 1} of parameter '{name}', argument {i + 1} of {function}())",
                          self.param_paths[name] + (j,), PolicyTypeError)

    def get(self, path: Path_) -> Any:
        node: Any = self.data
        for p in path:
            node = node[p]
        return node

    def instant(self, path: Path_, *, key: bool = False) -> _dt.datetime | None:
        """The date or datetime at ``path`` (or, with ``key``, the one that is the last key of ``path``)."""
        text = str(path[-1] if key else self.get(path))
        try:
            return parse_instant(text)
        except ValueError:  # ValueParseError included
            self.fail(f"'{text}' is not a valid date (2021-01-01) or datetime (2021-01-01T08:00:00+08:00)", path,
                      key=key)
            return None

    # --- sections ---------------------------------------------------------------------------------------
    def build(self) -> PolicyVersion | None:
        meta = self.data.get("policy")
        if not isinstance(meta, dict):
            return None
        case_type = self.case_type()
        start = self.instant(("policy", "effective_from")) if self.ok(("policy", "effective_from")) else None
        until = self.instant(("policy", "effective_until")) if self.ok(("policy", "effective_until")) else None
        if start and until and until <= start:
            self.fail("effective_until must be later than effective_from "
                      f"({render(until)} is not after {render(start)})", ("policy", "effective_until"))
        params = self.params(case_type, start)
        base_scope = Scope(case_type, self.functions, params)
        ref = self.expression(("policy", "reference_time"), base_scope, DATETIME, "reference_time") \
            if self.ok(("policy", "reference_time")) else None
        rules = self.rules(case_type, params, str(meta.get("id")))
        waivers = self.waivers(base_scope)
        if self.errors or self.broken or start is None or ref is None:
            return None
        return PolicyVersion(
            id=meta["id"], title=meta["title"], version=meta["version"], source=dict(meta.get("source", {})),
            effective_from=start, effective_until=until, applies_to=meta["applies_to"], reference_time=ref,
            notes=meta.get("notes"), params=params, rules=rules, waivers=waivers, file=self.pos.file,
            locations={**{k: self.location(("policy", k)) for k in ("version", "applies_to", "effective_from")},
                       "reference_time": Location(ref.line, ref.column, self.pos.line_text(ref.line))},
        )

    def case_type(self) -> Type:
        """The record type of the case kind the policy applies to (ANY if unknown: nothing cascades)."""
        path = ("policy", "applies_to")
        if not self.ok(path):
            return ANY
        kind = self.get(path)
        case_type = self.case_types.get(kind)
        if case_type is None:
            known = sorted(self.case_types)
            hint = _suggest(kind, known) or f" (schemas found for: {', '.join(known) or 'none'})"
            self.fail(f"unknown case kind '{kind}'{hint}", path)
            return ANY
        return case_type

    def params(self, case_type: Type, effective_from: _dt.datetime | None) -> dict[str, ir.IR]:
        out: dict[str, ir.IR] = {}
        consts = Scope(record({}, "params"), self.functions)
        specs = self.data.get("params")
        for name, spec in (specs.items() if isinstance(specs, dict) else ()):
            path = ("params", name)
            value: ir.IR | None = None
            if case_type.field_type(name) is not None:
                self.fail(f"parameter '{name}' hides the case field '{name}'; rename it", path,
                          PolicyNameError, key=True)
            elif self.ok(path):
                value = self.param(name, spec, path, consts, effective_from)
            # a stand-in for a parameter already reported, so its uses do not repeat the error
            out[name] = value if value is not None else ir.Const(ANY, _span(*self.pos.where(path)), name, UNKNOWN,
                                                                 name=name)
        return out

    def param(self, name: str, spec: Any, path: Path_, scope: Scope,
              effective_from: _dt.datetime | None) -> ir.IR | None:
        if not isinstance(spec, dict):  # short form
            self.param_paths[name] = path
            return self.constant(name, spec, path, scope, None)
        try:
            declared = parse_type_name(spec["type"])
        except ValueError as exc:
            self.fail(str(exc), path + ("type",), PolicyTypeError)
            return None
        if "values" in spec:
            return self.dated_param(name, spec["values"], declared, path + ("values",), scope, effective_from)
        self.param_paths[name] = path + ("value",)
        return self.constant(name, spec["value"], path + ("value",), scope, declared)

    def constant(self, name: str, raw: Any, path: Path_, scope: Scope, declared: Type | None) -> ir.Const | None:
        """A parameter's value: a literal of the language, or a YAML list of them (strings taken as text)."""
        span = _span(*self.pos.where(path))
        if isinstance(raw, list):
            if declared is not None and declared.name != "list":
                self.fail(f"parameter '{name}' is declared {declared} but its value is a list", path, PolicyTypeError)
                return None
            item_declared = declared.item if declared is not None else \
                (STRING if all(isinstance(x, str) for x in raw) else None)
            item_type: Type | None = item_declared or ANY
            values = []
            for i, item in enumerate(raw):
                c = self.constant(f"{name}[{i}]", item, path + (i,), scope, item_declared)
                if c is None:
                    return None
                item_type = unify(item_type, c.type) if item_type is not None else None
                if item_type is None:
                    self.fail(f"the items of parameter '{name}' must have one type", path + (i,), PolicyTypeError)
                    return None
                values.append(c.value)
            return ir.Const(list_of(item_type or ANY), span, name, values, name=name)
        if declared == STRING and isinstance(raw, str):
            return ir.Const(STRING, span, name, raw, name=name)
        text = raw if isinstance(raw, str) else ("true" if raw is True else "false" if raw is False else str(raw))
        what = f"parameter '{name.split('[')[0]}'"
        cond = self.expression(path, scope, declared, what, text=text)
        if cond is None:
            return None
        value = interpret(cond.node, {})
        if value is UNKNOWN:
            self.fail(f"{what} must be a constant", path, PolicyTypeError)
            return None
        return ir.Const(cond.type if declared is None else declared, cond.node.span, name, value, name=name)

    def dated_param(self, name: str, values: dict[str, Any], declared: Type, path: Path_, scope: Scope,
                    effective_from: _dt.datetime | None) -> ir.DatedParam | None:
        pairs = []
        for key, raw in values.items():
            start = self.instant(path + (key,), key=True)
            c = self.constant(name, raw, path + (key,), scope, declared)
            if start is not None and c is not None:
                pairs.append((start, c.value))
        if len(pairs) != len(values):
            return None
        pairs.sort(key=lambda p: p[0])
        if effective_from is not None and pairs[0][0] > effective_from:
            self.fail(f"parameter '{name}' has no value from {render(effective_from)} (effective_from) until its "
                      f"first date {render(pairs[0][0])}", path, PolicyTypeError)
            return None
        return ir.DatedParam(declared, _span(*self.pos.where(path)), name, name, tuple(p[0] for p in pairs),
                             tuple(p[1] for p in pairs))

    def rules(self, case_type: Type, params: dict[str, ir.IR], policy_id: str) -> list[Rule]:
        out: list[Rule] = []
        seen: dict[str, int] = {}
        raw_rules = self.data.get("rules")
        for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else ()):
            path = ("rules", i)
            rid = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(rid, str) and rid in seen:
                self.fail(f"duplicate rule id '{rid}' (first at rule #{seen[rid] + 1}, line "
                          f"{self.pos.where(('rules', seen[rid]))[0]})", path + ("id",))
                continue
            if isinstance(rid, str):
                seen[rid] = i
            if self.ok(path):
                rule = self.rule(raw, path, case_type, params, policy_id)
                if rule is not None:
                    out.append(rule)
        return out

    def rule(self, raw: dict[str, Any], path: Path_, case_type: Type, params: dict[str, ir.IR],
             policy_id: str) -> Rule | None:
        lets: dict[str, Condition] = {}
        let_irs: dict[str, ir.IR] = {}
        for name in raw.get("let") or {}:
            cond = None
            hidden = "case field" if case_type.field_type(name) is not None else "parameter" if name in params else None
            if hidden:
                self.fail(f"let-binding '{name}' hides the {hidden} '{name}'; rename it", path + ("let", name),
                          PolicyNameError, key=True)
            else:
                cond = self.expression(path + ("let", name), Scope(case_type, self.functions, params, let_irs),
                                       None, f"let '{name}'")
            if cond is not None:
                lets[name] = cond
                let_irs[name] = cond.node
                remember_let(cond.node, cond.fn)  # every use calls this one function
                if cond.cost is not None:
                    remember_let_cost(cond.node, cond.cost)
            else:  # already reported; stand-in so later uses do not repeat the error
                let_irs[name] = ir.Const(ANY, _span(1, 1), name, UNKNOWN, name=name)
        scope = Scope(case_type, self.functions, params, let_irs)
        when = self.expression(path + ("when",), scope, BOOL, "when") if "when" in raw else None
        mode = "require" if "require" in raw else "forbid"
        cond = self.expression(path + (mode,), scope, BOOL, mode)
        message = self.template(path + ("message",), scope)
        remedies = []
        for j, rem in enumerate(raw.get("remedies") or []):
            rpath = path + ("remedies", j)
            amount = self.expression(rpath + ("amount",), scope, MONEY, "remedy amount") if "amount" in rem else None
            rwhen = self.expression(rpath + ("when",), scope, BOOL, "remedy condition") if "when" in rem else None
            remedies.append(Remedy(rem["kind"], rem.get("to"), rem.get("description"), rem.get("form"), amount, rwhen))
        if cond is None or message is None or ("when" in raw and when is None):
            return None
        rule = Rule(raw["id"], policy_id, raw["title"], raw["clause"], raw["severity"], when, cond, mode, message,
                    remedies, lets, raw.get("reading"), list(raw.get("tags") or []), self.pos.where(path)[0])
        for node in (cond.node, when.node) if when else (cond.node,):
            rule.readers.update(_reads(node))
        rule.inputs = sorted(rule.readers)
        return rule

    def template(self, path: Path_, scope: Scope) -> Template | None:
        """Split a message into text and ``{expression}`` placeholders (``{{``/``}}`` are literal braces)."""
        text = self.get(path)
        parts: list[str | Condition] = []
        buf: list[str] = []
        i = 0
        ok = True
        while i < len(text):
            ch = text[i]
            if text.startswith("{{", i) or text.startswith("}}", i):
                buf.append(ch)
                i += 2
                continue
            if ch == "{":
                end = text.find("}", i)
                brace = (text.count("\n", 0, i), i - (text.rfind("\n", 0, i) + 1))  # 0-based line, column
                if end < 0:
                    self.relocate(PolicyLoadError("unclosed '{' in message (write '{{' for a literal brace)",
                                                  line=1, column=1), path, brace)
                    return None
                if buf:
                    parts.append("".join(buf))
                    buf = []
                cond = self.expression(path, scope, None, "placeholder", text=text[i + 1:end],
                                       offset=(brace[0], brace[1] + 1))
                ok = ok and cond is not None
                if cond is not None:
                    parts.append(cond)
                i = end + 1
                continue
            buf.append(ch)
            i += 1
        if buf:
            parts.append("".join(buf))
        return Template(parts) if ok else None

    def waivers(self, scope: Scope) -> list[Waiver]:
        rules = self.data.get("rules")
        rule_ids = [r["id"] for r in rules if isinstance(r, dict) and isinstance(r.get("id"), str)] \
            if isinstance(rules, list) else []
        out = []
        raw_waivers = self.data.get("waivers")
        for i, raw in enumerate(raw_waivers if isinstance(raw_waivers, list) else ()):
            path = ("waivers", i)
            if not self.ok(path):
                continue
            for j, rid in enumerate(raw.get("rules") or []):
                if rid not in rule_ids:
                    self.fail(f"waiver names unknown rule '{rid}'{_suggest(rid, rule_ids)}", path + ("rules", j),
                              PolicyNameError)
            cond = self.expression(path + ("scope",), scope, BOOL, "waiver scope")
            until = self.instant(path + ("until",))
            start = self.instant(path + ("from",)) if "from" in raw else None
            if start is not None and until is not None and until <= start:
                self.fail("a waiver's 'until' must be later than its 'from'", path + ("until",))
            if cond is None or until is None:
                continue
            out.append(Waiver(raw["id"], raw.get("rules"), cond, raw["reason"], raw["approved_by"], start, until))
        return out


def _span(line: int, column: int) -> Span:
    return Span(line, column, line, column, 0, 0)


# --- what a condition reads ---------------------------------------------------------------------------------
def inputs_of(node: ir.IR) -> Iterator[str]:
    """The case paths a condition reads (``messages[].text`` for items of a list)."""
    for path, _ in _reads(node):
        yield path


def _reads(node: ir.IR) -> Iterator[tuple[str, Callable[[Any], Any] | None]]:
    """:func:`_inputs` of a condition and of every let-binding it uses, each let walked once."""
    seen: set[int] = set()
    todo: list[ir.IR] = [node]
    lets: list[ir.IR] = []
    while todo:
        n = todo.pop()
        if id(n) not in seen:
            seen.add(id(n))
            yield from _inputs(n, {}, lets)
            todo += lets
            lets.clear()


def _static_path(node: ir.IR, variables: dict[str, str]) -> str | None:
    if isinstance(node, ir.Field):
        if node.base is None:
            return node.key
        base = _static_path(node.base, variables)
        return f"{base}.{node.key}" if base is not None else None
    if isinstance(node, ir.Var):
        return variables.get(node.name)
    if isinstance(node, ir.Index):
        base = _static_path(node.base, variables)
        return f"{base}[]" if base is not None else None
    return None


def _inputs(node: ir.IR, variables: dict[str, str], lets: list[ir.IR]
            ) -> Iterator[tuple[str, Callable[[Any], Any] | None]]:
    """(case path, reader of its raw JSON value) for every field a condition reads; let-bindings go to ``lets``."""
    if isinstance(node, ir.LetRef):
        lets.append(node.expr)  # a let has no free variables: walked once, by _reads
        return
    if isinstance(node, ir.Field) and node.type.name != "record":
        p = _static_path(node, variables)
        if p is not None:
            yield p, node.convert
            return
    if isinstance(node, ir.Quant):
        coll = _static_path(node.collection, variables)
        yield from _inputs(node.collection, variables, lets)
        inner = dict(variables)
        inner[node.var] = f"{coll}[]" if coll is not None else "?"
        yield from _inputs(node.body, inner, lets)
        return
    for child in ir.children(node):
        yield from _inputs(child, variables, lets)

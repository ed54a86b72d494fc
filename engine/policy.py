"""Policy files → checked, compiled policy versions.

Input: a policy YAML file (bytes), the case schemas and the function
registry. Output: a :class:`PolicyVersion` whose rules hold compiled
conditions, or located errors (all of them, not just the first). Every
condition error is reported at its place in the YAML file.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from . import ir
from .checker import Scope, check
from .compiler import Compiled, compile_ir
from .errors import ErrorList, PolicyError, PolicyLoadError, PolicyNameError, PolicyTypeError
from .functions import FunctionRegistry, assignable
from .interpreter import interpret
from .ltypes import ANY, BOOL, DATETIME, MONEY, STRING, Type, list_of, parse_type_name, record
from .parser import parse
from .resources import policy_schema
from .values import SHANGHAI, UNKNOWN, ValueParseError, parse_date, parse_datetime

__all__ = ["Condition", "Template", "Remedy", "Rule", "Waiver", "PolicyVersion", "load_policy_file",
           "parse_instant", "inputs_of"]

SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass
class Condition:
    """A compiled condition with its source and where it stands in the file."""

    text: str
    node: ir.IR
    fn: Compiled
    line: int
    column: int

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
    inputs: list[str] = field(default_factory=list)

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
    from_line: int = 1

    def in_force(self, at: _dt.datetime) -> bool:
        return self.effective_from <= at and (self.effective_until is None or at < self.effective_until)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(text: str) -> _dt.datetime:
    """A date (its 00:00 Asia/Shanghai) or an ISO datetime (no offset = Asia/Shanghai)."""
    text = text.strip().replace(" ", "T", 1) if " " in text.strip() else text.strip()
    if _DATE_ONLY.match(text):
        d = parse_date(text)
        return _dt.datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)
    return parse_datetime(text)


class _Builder:
    """Builds one PolicyVersion, collecting every error it finds."""

    def __init__(self, data: dict[str, Any], positions: Any, case_types: Mapping[str, Type],
                 functions: FunctionRegistry) -> None:
        self.data = data
        self.pos = positions
        self.case_types = case_types
        self.functions = functions
        self.errors: list[PolicyError] = []

    # --- helpers --------------------------------------------------------------------------------------
    def fail(self, message: str, path: tuple[Any, ...], cls: type[PolicyError] = PolicyLoadError,
             key: bool = False) -> None:
        line, column = self.pos.where(path, key=key)
        self.errors.append(cls(message, file=self.pos.file, line=line, column=column,
                               source_line=self.pos.line_text(line)))

    def relocate(self, exc: PolicyError, path: tuple[Any, ...], offset: tuple[int, int] = (0, 0)) -> None:
        line, column = exc.line or 1, exc.column or 1
        if line == 1:
            column += offset[1]
        line, column = self.pos.expression_position(path, line + offset[0], column)
        exc.relocate(file=self.pos.file, line=line, column=column, source_line=self.pos.line_text(line))
        exc.end_column = None
        self.errors.append(exc)

    def expression(self, path: tuple[Any, ...], scope: Scope, expect: Type | None = None,
                   what: str = "condition", text: str | None = None,
                   offset: tuple[int, int] = (0, 0)) -> Condition | None:
        raw = self.get(path) if text is None else text
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if not isinstance(raw, str):
            self.fail(f"{what} must be text", path)
            return None
        try:
            node = check(parse(raw), scope, raw)
        except PolicyError as exc:
            self.relocate(exc, path, offset)
            return None
        if expect is not None and not (assignable(node.type, expect) or node.type == ANY):
            exc = PolicyTypeError(f"{what} must be {expect}, got {node.type}", line=1, column=1)
            self.relocate(exc, path, offset)
            return None
        line, column = self.pos.expression_position(path, 1 + offset[0], 1 + offset[1])
        return Condition(raw, node, compile_ir(node), line, column)

    def get(self, path: tuple[Any, ...]) -> Any:
        node: Any = self.data
        for p in path:
            node = node[p]
        return node

    def instant(self, path: tuple[Any, ...]) -> _dt.datetime | None:
        try:
            return parse_instant(str(self.get(path)))
        except (ValueParseError, ValueError) as exc:
            self.fail(f"not a date or datetime: {exc}", path)
            return None

    # --- sections ---------------------------------------------------------------------------------------
    def build(self) -> PolicyVersion | None:
        meta = self.data["policy"]
        kind = meta["applies_to"]
        case_type = self.case_types.get(kind)
        if case_type is None:
            known = ", ".join(sorted(self.case_types)) or "none"
            self.fail(f"unknown case kind '{kind}' (schemas found for: {known})", ("policy", "applies_to"))
            case_type = record({}, "case")
        start = self.instant(("policy", "effective_from"))
        until = self.instant(("policy", "effective_until")) if "effective_until" in meta else None
        if start and until and until <= start:
            self.fail("effective_until must be later than effective_from", ("policy", "effective_until"))
        params = self.params(case_type)
        base_scope = Scope(case_type, self.functions, params)
        ref = self.expression(("policy", "reference_time"), base_scope, DATETIME, "reference_time")
        rules = self.rules(case_type, params)
        waivers = self.waivers(base_scope, {r.id for r in rules})
        if self.errors or start is None or ref is None:
            return None
        return PolicyVersion(
            id=meta["id"], title=meta["title"], version=str(meta["version"]), source=dict(meta.get("source", {})),
            effective_from=start, effective_until=until, applies_to=kind, reference_time=ref,
            notes=meta.get("notes"), params=params, rules=rules, waivers=waivers, file=self.pos.file,
            from_line=self.pos.where(("policy", "effective_from"))[0],
        )

    def params(self, case_type: Type) -> dict[str, ir.IR]:
        out: dict[str, ir.IR] = {}
        consts = Scope(record({}, "params"), self.functions)
        for name, spec in (self.data.get("params") or {}).items():
            path = ("params", name)
            if case_type.field_type(name) is not None:
                self.fail(f"parameter '{name}' hides the case field of the same name; rename it", path,
                          PolicyNameError, key=True)
                continue
            if isinstance(spec, dict):
                try:
                    declared = parse_type_name(spec["type"])
                except ValueError as exc:
                    self.fail(str(exc), path + ("type",), PolicyTypeError)
                    continue
                if "values" in spec:
                    dated = self.dated_param(name, spec["values"], declared, path + ("values",), consts)
                    if dated is not None:
                        out[name] = dated
                    continue
                value = self.constant(name, spec["value"], path + ("value",), consts, declared)
            else:
                value = self.constant(name, spec, path, consts, None)
            if value is not None:
                out[name] = value
        return out

    def constant(self, name: str, raw: Any, path: tuple[Any, ...], scope: Scope,
                 declared: Type | None) -> ir.Const | None:
        if isinstance(raw, list):
            items = []
            for i, item in enumerate(raw):
                if isinstance(item, str) and (declared is None or declared == list_of(STRING)):
                    items.append(item)
                    continue
                c = self.constant(f"{name}[{i}]", item, path + (i,), scope,
                                  declared.item if declared is not None and declared.item else None)
                if c is None:
                    return None
                items.append(c.value)
            item_type = declared.item if declared is not None and declared.item else (
                STRING if all(isinstance(x, str) for x in raw) else ANY)
            if item_type == ANY and raw:
                c0 = self.constant(name, raw[0], path + (0,), scope, None)
                item_type = c0.type if c0 is not None else ANY
            line, column = self.pos.where(path)
            span = _span(line, column)
            return ir.Const(list_of(item_type), span, name, items, name=name)
        if declared == STRING and isinstance(raw, str):
            line, column = self.pos.where(path)
            return ir.Const(STRING, _span(line, column), name, raw, name=name)
        text = raw if isinstance(raw, str) else ("true" if raw is True else "false" if raw is False else str(raw))
        cond = self.expression(path, scope, declared, f"parameter '{name}'", text=text)
        if cond is None:
            return None
        value = interpret(cond.node, {})
        if value is UNKNOWN:
            self.fail(f"parameter '{name}' must be a constant", path, PolicyTypeError)
            return None
        return ir.Const(cond.type if declared is None else declared, cond.node.span, name, value, name=name)

    def dated_param(self, name: str, values: dict[str, Any], declared: Type, path: tuple[Any, ...],
                    scope: Scope) -> ir.DatedParam | None:
        pairs = []
        for key, raw in values.items():
            try:
                start = parse_instant(str(key))
            except (ValueParseError, ValueError) as exc:
                self.fail(f"not a date: {exc}", path + (key,), key=True)
                continue
            c = self.constant(name, raw, path + (key,), scope, declared)
            if c is not None:
                pairs.append((start, c.value))
        if len(pairs) != len(values):
            return None
        pairs.sort(key=lambda p: p[0])
        line, column = self.pos.where(path)
        return ir.DatedParam(declared, _span(line, column), name, name, tuple(p[0] for p in pairs),
                             tuple(p[1] for p in pairs))

    def rules(self, case_type: Type, params: dict[str, ir.IR]) -> list[Rule]:
        out: list[Rule] = []
        seen: dict[str, int] = {}
        policy_id = self.data["policy"]["id"]
        for i, raw in enumerate(self.data["rules"]):
            path = ("rules", i)
            rid = raw["id"]
            if rid in seen:
                self.fail(f"duplicate rule id '{rid}' (first at rule #{seen[rid] + 1})", path + ("id",))
                continue
            seen[rid] = i
            lets: dict[str, Condition] = {}
            let_irs: dict[str, ir.IR] = {}
            for name in (raw.get("let") or {}):
                if case_type.field_type(name) is not None or name in params:
                    self.fail(f"let-binding '{name}' hides a case field or parameter; rename it",
                              path + ("let", name), PolicyNameError, key=True)
                    continue
                cond = self.expression(path + ("let", name), Scope(case_type, self.functions, params, let_irs),
                                       None, f"let '{name}'")
                if cond is not None:
                    lets[name] = cond
                    let_irs[name] = cond.node
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
                amount = self.expression(rpath + ("amount",), scope, MONEY, "remedy amount") \
                    if "amount" in rem else None
                rwhen = self.expression(rpath + ("when",), scope, BOOL, "remedy condition") if "when" in rem else None
                remedies.append(Remedy(rem["kind"], rem.get("to"), rem.get("description"), rem.get("form"),
                                       amount, rwhen))
            if cond is None or message is None:
                continue
            rule = Rule(rid, policy_id, raw["title"], raw["clause"], raw["severity"], when, cond, mode, message,
                        remedies, lets, raw.get("reading"), list(raw.get("tags") or []),
                        self.pos.where(path)[0])
            rule.inputs = sorted(set(inputs_of(cond.node)) | set(inputs_of(when.node) if when else ()))
            out.append(rule)
        return out

    def template(self, path: tuple[Any, ...], scope: Scope) -> Template | None:
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
                if end < 0:
                    self.relocate(PolicyLoadError("unclosed '{' in message", line=1, column=i + 1), path)
                    return None
                if buf:
                    parts.append("".join(buf))
                    buf = []
                before = text[: i + 1]
                offset = (before.count("\n"), len(before) - (before.rfind("\n") + 1))
                cond = self.expression(path, scope, None, "placeholder", text=text[i + 1:end], offset=offset)
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

    def waivers(self, scope: Scope, rule_ids: set[str]) -> list[Waiver]:
        out = []
        for i, raw in enumerate(self.data.get("waivers") or []):
            path = ("waivers", i)
            for j, rid in enumerate(raw.get("rules") or []):
                if rid not in rule_ids:
                    self.fail(f"waiver names unknown rule '{rid}'", path + ("rules", j), PolicyNameError)
            cond = self.expression(path + ("scope",), scope, BOOL, "waiver scope")
            until = self.instant(path + ("until",))
            start = self.instant(path + ("from",)) if "from" in raw else None
            if cond is None or until is None:
                continue
            out.append(Waiver(raw["id"], raw.get("rules"), cond, raw["reason"], raw["approved_by"], start, until))
        return out


def _span(line: int, column: int) -> Any:
    from .ast import Span

    return Span(line, column, line, column, 0, 0)


def inputs_of(node: ir.IR) -> Iterator[str]:
    """The case paths a condition reads (``messages[].text`` for items of a list)."""
    yield from _inputs(node, {})


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


def _inputs(node: ir.IR, variables: dict[str, str]) -> Iterator[str]:
    if isinstance(node, ir.Field) and node.type.name != "record":
        p = _static_path(node, variables)
        if p is not None:
            yield p
            return
    if isinstance(node, ir.Quant):
        coll = _static_path(node.collection, variables)
        yield from _inputs(node.collection, variables)
        inner = dict(variables)
        inner[node.var] = f"{coll}[]" if coll is not None else "?"
        yield from _inputs(node.body, inner)
        return
    for child in ir.children(node):
        yield from _inputs(child, variables)


_SCHEMA_VALIDATOR: jsonschema.protocols.Validator | None = None


def _validator() -> jsonschema.protocols.Validator:
    global _SCHEMA_VALIDATOR
    if _SCHEMA_VALIDATOR is None:
        _SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(policy_schema())
    return _SCHEMA_VALIDATOR


def _schema_errors(data: Any, positions: Any) -> list[PolicyError]:
    errors: list[PolicyError] = []
    for err in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set((err.schema.get("properties") or {}).keys())
            extras = [k for k in err.instance if k not in allowed]
            for extra in extras:
                import difflib

                close = difflib.get_close_matches(str(extra), sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(sorted(allowed))})"
                line, column = positions.where(path + (extra,), key=True)
                errors.append(PolicyLoadError(f"unknown key '{extra}'{hint}", file=positions.file, line=line,
                                              column=column, source_line=positions.line_text(line)))
            continue
        if err.validator == "oneOf" and path and path[0] == "rules":
            msg = "a rule needs exactly one of 'require' or 'forbid'"
        elif err.validator == "required":
            msg = err.message.replace("is a required property", "is required")
            where = ".".join(map(str, path)) or "the file"
            msg = f"{msg} (in {where})"
        else:
            where = ".".join(map(str, path))
            msg = f"{where}: {err.message}" if where else err.message
        line, column = positions.where(path)
        errors.append(PolicyLoadError(msg, file=positions.file, line=line, column=column,
                                      source_line=positions.line_text(line)))
    return errors


def load_policy_file(path: Path | str, data: Any, positions: Any, case_types: Mapping[str, Type],
                     functions: FunctionRegistry) -> PolicyVersion:
    """Validate and compile one loaded policy document; raise ErrorList with every error found."""
    if not isinstance(data, dict):
        raise PolicyLoadError("a policy file must be a YAML mapping with 'policy:' and 'rules:'",
                              file=str(path), line=1, column=1)
    errors = _schema_errors(data, positions)
    if errors:
        raise ErrorList(errors)
    builder = _Builder(data, positions, case_types, functions)
    version = builder.build()
    if builder.errors or version is None:
        raise ErrorList(builder.errors or [PolicyLoadError("policy could not be built", file=str(path))])
    return version

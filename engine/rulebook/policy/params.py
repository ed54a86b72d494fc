"""The ``params:`` section: constants, typed values and dated values, each within its declared range.

A declaration may bound its values (``minimum:`` / ``maximum:``, literals of the parameter's type; of each
item for a list type). Without a ``minimum``, a duration, an int or a money amount must not be negative:
parameters are limits, windows, counts and amounts. Every value is checked where it is written: the policy
file, a dated value, a deployment overlay (docs/policies.md, "Parameter ranges").
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policy_eval.errors import PolicyNameError, PolicyTypeError
from policy_eval.lang import ir
from policy_eval.lang.checker import Scope
from policy_eval.lang.interpreter import interpret
from policy_eval.lang.types import ANY, STRING, Type, list_of, parse_type_name, record, unify
from policy_eval.lang.values import UNKNOWN, Money, WrittenDuration, render
from policy_eval.rulebook.policy.base import BuilderBase, Entry, span_at
from policy_eval.rulebook.policy.model import EARLIEST, ParamInfo
from policy_eval.rulebook.policy.schema import Path_


class ParamsSection(BuilderBase):
    def params(self, entries: dict[str, Entry], case_type: Type, effective_from: _dt.datetime | None,
               overlay: Mapping[str, Entry]) -> dict[str, ir.IR]:
        out: dict[str, ir.IR] = {}
        consts = Scope(record({}, "params"), self.functions)
        for name, entry in entries.items():
            with self.at(entry.src):
                path = entry.path
                spec = self.get(path)
                value: ir.IR | None = None
                if case_type.field_type(name) is not None:
                    self.fail(f"parameter '{name}' hides the case field '{name}'; rename it", path,
                              PolicyNameError, key=True)
                elif self.ok(path):
                    if isinstance(spec, dict) and "value" not in spec and "values" not in spec:
                        value = self.deployment_param(name, spec, path, consts, effective_from, overlay.get(name))
                    else:
                        value = self.param(name, spec, path, consts, effective_from)
                        self.note_param(name, spec, path, value)
                # a stand-in for a parameter already reported, of its declared type (else of any type), so its
                # uses do not repeat the error nor report a false one
                out[name] = value if value is not None else ir.Const(_declared(spec), span_at(*self.pos.where(path)),
                                                                     name, UNKNOWN, name=name)
        return out

    def note_param(self, name: str, spec: Any, path: Path_, value: ir.IR | None) -> None:
        clause = spec.get("clause") if isinstance(spec, dict) else None
        self.param_info[name] = ParamInfo(name, str(value.type) if value is not None else "?",
                                          _shown(value), "text", clause, self.pos.file, self.pos.where(path)[0],
                                          isinstance(value, ir.DatedParam))

    def deployment_param(self, name: str, spec: dict[str, Any], path: Path_, scope: Scope,
                         effective_from: _dt.datetime | None, given: Entry | None) -> ir.IR | None:
        """A parameter the text leaves to the platform: the deployment's value, or unknown (unset)."""
        try:
            declared = parse_type_name(spec["type"])
        except ValueError as exc:
            self.fail(str(exc), path + ("type",), PolicyTypeError)
            return None
        bounds = self.declared_range(name, spec, path, scope, declared)
        clause = spec.get("clause")
        if given is None:
            self.param_info[name] = ParamInfo(name, str(declared), None, "unset", clause, self.pos.file,
                                              self.pos.where(path)[0])
            return ir.DatedParam(declared, span_at(*self.pos.where(path)), name, name, (EARLIEST,), (UNKNOWN,))
        with self.at(given.src):
            raw = self.get(given.path)
            value: ir.IR | None
            if isinstance(raw, dict) and "values" in raw:
                value = self.dated_param(name, raw["values"], declared, given.path + ("values",), scope,
                                         effective_from, bounds)
            else:
                inner = given.path + ("value",) if isinstance(raw, dict) and "value" in raw else given.path
                value = self.constant(name, self.get(inner), inner, scope, declared, bounds)
                if value is not None:
                    self.param_paths[name] = Entry(self.src, inner)
            if value is not None:
                self.param_info[name] = ParamInfo(name, str(declared), _shown(value), "deployment", clause,
                                                  self.pos.file, self.pos.where(given.path)[0],
                                                  isinstance(value, ir.DatedParam))
                return value
        # reported; a stand-in of the declared type, so the rules' uses do not repeat the error
        return ir.DatedParam(declared, span_at(*self.pos.where(path)), name, name, (EARLIEST,), (UNKNOWN,))

    def param(self, name: str, spec: Any, path: Path_, scope: Scope,
              effective_from: _dt.datetime | None) -> ir.IR | None:
        if not isinstance(spec, dict):  # short form
            self.param_paths[name] = Entry(self.src, path)
            return self.constant(name, spec, path, scope, None)
        try:
            declared = parse_type_name(spec["type"])
        except ValueError as exc:
            self.fail(str(exc), path + ("type",), PolicyTypeError)
            return None
        bounds = self.declared_range(name, spec, path, scope, declared)
        if "values" in spec:
            return self.dated_param(name, spec["values"], declared, path + ("values",), scope, effective_from,
                                    bounds)
        self.param_paths[name] = Entry(self.src, path + ("value",))
        return self.constant(name, spec["value"], path + ("value",), scope, declared, bounds)

    def constant(self, name: str, raw: Any, path: Path_, scope: Scope, declared: Type | None,
                 bounds: Bounds | None = None) -> ir.Const | None:
        """A parameter's value: a literal of the language, or a YAML list of them (strings taken as text), within
        ``bounds`` (each item of a list; None: the rule for a type without a declared range)."""
        span = span_at(*self.pos.where(path))
        if raw is None:  # (YAML's null: in a list it would be Python's None, a value to `in`, not unknown)
            self._null(name, path, "")
            return None
        if isinstance(raw, list):
            if declared is not None and declared.name != "list":
                self.fail(f"parameter '{name}' is declared {declared} but its value is a list", path, PolicyTypeError)
                return None
            item_declared = declared.item if declared is not None else \
                (STRING if all(isinstance(x, str) for x in raw) else None)
            item_type: Type | None = item_declared or ANY
            values = []
            for i, item in enumerate(raw):
                if item is None:
                    self._null(name, path + (i,), f"item {i + 1} of ")
                    return None
                c = self.constant(f"{name}[{i}]", item, path + (i,), scope, item_declared, bounds)
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
        what = f"parameter '{name.split('[')[0]}'"
        cond = self.expression(path, scope, declared, what, text=_text(raw))
        if cond is None:
            return None
        value = interpret(cond.node, {})
        if value is UNKNOWN:
            self.fail(f"{what} must be a constant", path, PolicyTypeError)
            return None
        typ = cond.type if declared is None else declared
        self.within(name, value, typ, path, bounds or Bounds())  # out of range: reported, its type kept for its uses
        return ir.Const(typ, cond.node.span, name, value, name=name)

    def _null(self, name: str, path: Path_, item: str) -> None:
        self.fail(f"{item}parameter '{name.split('[')[0]}' is null: a parameter holds values; give one, or leave the "
                  "item out of a list", path, PolicyTypeError)

    def declared_range(self, name: str, spec: dict[str, Any], path: Path_, scope: Scope,
                       declared: Type) -> Bounds:
        """The range a declaration states (``minimum:`` / ``maximum:``, literals of its type, or of its items' for
        a list type). A wrong one is reported, at the key or value at fault, and the values are then checked as
        if none were declared (they keep their type, so their uses report nothing more)."""
        keys = [k for k in ("minimum", "maximum") if k in spec]
        line, _ = self.pos.where(path, key=True)
        none = Bounds(file=self.pos.file, line=line)
        if not keys:
            return none
        item = declared.item if declared.name == "list" and declared.item is not None else declared
        if item.name not in _ORDERED:
            self.fail(f"parameter '{name}' is {declared}: '{keys[0]}' bounds a parameter of type int, decimal, money, "
                      "duration, date or datetime (or a list of them)", path + (keys[0],), PolicyTypeError, key=True)
            return none
        found: dict[str, Any] = {}
        for key in keys:
            what = f"the {key} of parameter '{name}'"
            cond = self.expression(path + (key,), scope, item, what, text=_text(spec[key]))
            value = interpret(cond.node, {}) if cond is not None else UNKNOWN
            if cond is not None and value is UNKNOWN:
                self.fail(f"{what} must be a constant", path + (key,), PolicyTypeError)
            if value is not UNKNOWN:
                found[key] = value
        if len(found) != len(keys):
            return none
        low, high = found.get("minimum"), found.get("maximum")
        if low is not None and high is not None and not _compares(low, "<=", high):
            self.fail(f"parameter '{name}': its maximum {render(high)} is below its minimum {render(low)}"
                      if _compares(high, "<", low) else
                      f"parameter '{name}': its maximum {render(high)} is in another currency than its minimum "
                      f"{render(low)}", path + ("maximum",), PolicyTypeError)
            return none
        return Bounds(low, high, self.pos.file, line)

    def within(self, name: str, value: Any, typ: Type, path: Path_, bounds: Bounds) -> bool:
        """Whether ``value`` (each item of a list) is in ``bounds``; else an error at ``path`` naming the range."""
        if isinstance(value, list):
            item = typ.item if typ.item is not None else ANY
            return all(self.within(f"{name}[{i}]", v, item, path, bounds) for i, v in enumerate(value))
        low, floor = bounds.low, False
        if low is None and typ.name in _NOT_NEGATIVE:
            low, floor = _zero(bounds.high if bounds.high is not None else value), True
        if low is None and bounds.high is None:
            return True
        below = low is not None and not _compares(value, ">=", low)
        above = bounds.high is not None and not _compares(value, "<=", bounds.high)
        if not (below or above):
            return True
        shown = (f"between {render(low)} and {render(bounds.high)}" if low is not None and bounds.high is not None
                 else f"at least {render(low)}" if low is not None else f"at most {render(bounds.high)}")
        if isinstance(value, Money) and not (_compares(value, "<", low) or _compares(value, ">", bounds.high)):
            note = " (another currency than its range)"
        elif below and floor:
            note = f" (no minimum declared: {_KIND[typ.name]} must not be negative)"
        elif bounds.file != self.pos.file:
            note = f" (range declared at {bounds.file}:{bounds.line})"
        else:
            note = ""
        self.fail(f"{self.policy_id}.{name} must be {shown}, got {render(value)}{note}", path)
        return False

    def dated_param(self, name: str, values: dict[str, Any], declared: Type, path: Path_, scope: Scope,
                    effective_from: _dt.datetime | None, bounds: Bounds) -> ir.DatedParam | None:
        pairs = []
        for key, raw in values.items():
            start = self.instant(path + (key,), key=True)
            c = self.constant(name, raw, path + (key,), scope, declared, bounds)
            if start is not None and c is not None:
                pairs.append((start, c.value))
        if len(pairs) != len(values):
            return None
        pairs.sort(key=lambda p: p[0])
        # (a version whose start is unstated may get a value from a date on: before it, rules that read the
        # parameter are undetermined, naming it, as the evaluator says of a date before the first value)
        if effective_from is not None and effective_from != EARLIEST and pairs[0][0] > effective_from:
            self.fail(f"parameter '{name}' has no value from {render(effective_from)} (effective_from) until its "
                      f"first date {render(pairs[0][0])}", path, PolicyTypeError)
            return None
        return ir.DatedParam(declared, span_at(*self.pos.where(path)), name, name, tuple(p[0] for p in pairs),
                             tuple(p[1] for p in pairs))


@dataclass(frozen=True)
class Bounds:
    """A declaration's range (None: no such bound), and where the declaration stands."""

    low: Any = None
    high: Any = None
    file: str = ""
    line: int = 0


_ORDERED = frozenset({"int", "decimal", "money", "duration", "date", "datetime"})  # the types a range bounds
_NOT_NEGATIVE = frozenset({"int", "duration", "money"})  # limits, windows, counts, amounts: at least 0 by default
_KIND = {"int": "an int", "duration": "a duration", "money": "a money amount"}


def _declared(spec: Any) -> Type:
    """The type a parameter declares (``type:``), or any where it declares none or a wrong one."""
    try:
        return parse_type_name(spec["type"]) if isinstance(spec, dict) and isinstance(spec.get("type"), str) else ANY
    except ValueError:
        return ANY


def _text(raw: Any) -> str:
    """A YAML scalar as the language reads it."""
    return raw if isinstance(raw, str) else ("true" if raw is True else "false" if raw is False else str(raw))


def _zero(value: Any) -> Any:
    """The zero of a value's type (money in its currency, a duration shown as 0m)."""
    if isinstance(value, Money):
        return Money(Decimal("0.00"), value.currency)
    return WrittenDuration(0, "0m") if isinstance(value, _dt.timedelta) else 0


def _compares(a: Any, op: str, b: Any) -> bool:
    """``a op b``; false where the two do not compare (money in two currencies)."""
    if a is None or b is None:
        return False
    try:
        return bool(a <= b if op == "<=" else a >= b if op == ">=" else a < b if op == "<" else a > b)
    except (ArithmeticError, TypeError):
        return False


def _shown(value: ir.IR | None) -> str | None:
    if isinstance(value, ir.Const):
        return render(value.value)
    if isinstance(value, ir.DatedParam):
        return "; ".join(f"from {render(s)}: {render(v)}" for s, v in zip(value.starts, value.values, strict=True))
    return None

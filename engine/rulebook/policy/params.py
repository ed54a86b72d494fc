"""The ``params:`` section: constants, typed values and dated values."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from policy_eval.errors import PolicyNameError, PolicyTypeError
from policy_eval.lang import ir
from policy_eval.lang.checker import Scope
from policy_eval.lang.interpreter import interpret
from policy_eval.lang.types import ANY, STRING, Type, list_of, parse_type_name, record, unify
from policy_eval.lang.values import UNKNOWN, render
from policy_eval.rulebook.policy.base import BuilderBase, span_at
from policy_eval.rulebook.policy.schema import Path_


class ParamsSection(BuilderBase):
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
            out[name] = value if value is not None else ir.Const(ANY, span_at(*self.pos.where(path)), name, UNKNOWN,
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
        span = span_at(*self.pos.where(path))
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
        return ir.DatedParam(declared, span_at(*self.pos.where(path)), name, name, tuple(p[0] for p in pairs),
                             tuple(p[1] for p in pairs))


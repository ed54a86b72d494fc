"""The ``params:`` section: constants, typed values and dated values."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from policy_eval.errors import PolicyNameError, PolicyTypeError
from policy_eval.lang import ir
from policy_eval.lang.checker import Scope
from policy_eval.lang.interpreter import interpret
from policy_eval.lang.types import ANY, STRING, Type, list_of, parse_type_name, record, unify
from policy_eval.lang.values import UNKNOWN, render
from policy_eval.rulebook.policy.base import BuilderBase, Entry, span_at
from policy_eval.rulebook.policy.model import ParamInfo
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
                # a stand-in for a parameter already reported, so its uses do not repeat the error
                out[name] = value if value is not None else ir.Const(ANY, span_at(*self.pos.where(path)), name,
                                                                     UNKNOWN, name=name)
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
        clause = spec.get("clause")
        if given is None:
            self.param_info[name] = ParamInfo(name, str(declared), None, "unset", clause, self.pos.file,
                                              self.pos.where(path)[0])
            return ir.DatedParam(declared, span_at(*self.pos.where(path)), name, name, (_EARLIEST,), (UNKNOWN,))
        with self.at(given.src):
            raw = self.get(given.path)
            value: ir.IR | None
            if isinstance(raw, dict) and "values" in raw:
                value = self.dated_param(name, raw["values"], declared, given.path + ("values",), scope,
                                         effective_from)
            else:
                inner = given.path + ("value",) if isinstance(raw, dict) and "value" in raw else given.path
                value = self.constant(name, self.get(inner), inner, scope, declared)
                if value is not None:
                    self.param_paths[name] = Entry(self.src, inner)
            if value is not None:
                self.param_info[name] = ParamInfo(name, str(declared), _shown(value), "deployment", clause,
                                                  self.pos.file, self.pos.where(given.path)[0],
                                                  isinstance(value, ir.DatedParam))
                return value
        # reported; a stand-in of the declared type, so the rules' uses do not repeat the error
        return ir.DatedParam(declared, span_at(*self.pos.where(path)), name, name, (_EARLIEST,), (UNKNOWN,))

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
        if "values" in spec:
            return self.dated_param(name, spec["values"], declared, path + ("values",), scope, effective_from)
        self.param_paths[name] = Entry(self.src, path + ("value",))
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



_EARLIEST = _dt.datetime(1, 1, 2, tzinfo=_dt.UTC)  # an unset parameter is unknown at every time


def _shown(value: ir.IR | None) -> str | None:
    if isinstance(value, ir.Const):
        return render(value.value)
    if isinstance(value, ir.DatedParam):
        return "; ".join(f"from {render(s)}: {render(v)}" for s, v in zip(value.starts, value.values, strict=True))
    return None

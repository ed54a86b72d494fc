"""The ``rules:`` section: a rule's lets, when, require/forbid, message template and remedies."""

from __future__ import annotations

from typing import Any

from policy_eval.errors import PolicyLoadError, PolicyNameError
from policy_eval.lang import ir
from policy_eval.lang.checker import Scope, written_below
from policy_eval.lang.compiler import remember_let
from policy_eval.lang.cost import remember_let as remember_let_cost
from policy_eval.lang.types import ANY, BOOL, DURATION, MONEY, Type
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook.policy.base import BuilderBase, Entry, span_at
from policy_eval.rulebook.policy.inherit import shown_beside
from policy_eval.rulebook.policy.inputs import condition_inputs, params_used
from policy_eval.rulebook.policy.model import Condition, Remedy, Rule, Template
from policy_eval.rulebook.policy.schema import Path_
from policy_eval.rulebook.templates import UNCLOSED, split_template


class RulesSection(BuilderBase):
    def rules(self, entries: list[Entry], case_type: Type, params: dict[str, ir.IR], policy_id: str,
              definitions: dict[str, ir.IR]) -> list[Rule]:
        out: list[Rule] = []
        seen: dict[str, Entry] = {}
        for entry in entries:
            with self.at(entry.src):
                path = entry.path
                raw = self.get(path)
                rid = raw.get("id") if isinstance(raw, dict) else None
                if isinstance(rid, str) and rid in seen:
                    first = seen[rid]
                    self.fail(f"duplicate rule id '{rid}' (first at rule #{first.path[1] + 1}, line "
                              f"{first.src.pos.where(first.path)[0]})", path + ("id",))
                    continue
                if isinstance(rid, str):
                    seen[rid] = entry
                if self.ok(path):
                    rule = self.rule(raw, path, case_type, params, policy_id, definitions)
                    if rule is not None:
                        out.append(rule)
        return out

    def rule(self, raw: dict[str, Any], path: Path_, case_type: Type, params: dict[str, ir.IR],
             policy_id: str, definitions: dict[str, ir.IR]) -> Rule | None:
        lets: dict[str, Condition] = {}
        let_irs: dict[str, ir.IR] = dict(definitions)
        names = list(raw.get("let") or {})
        for i, name in enumerate(names):
            cond = None
            hidden = "case field" if case_type.field_type(name) is not None else "parameter" if name in params \
                else "definition" if name in definitions else None
            if hidden:
                self.fail(f"let-binding '{name}' hides the {hidden} '{name}'; rename it", path + ("let", name),
                          PolicyNameError, key=True)
            else:
                later = written_below("let", name, [(n, self.let_line(path, n)) for n in names[i + 1:]])
                cond = self.expression(path + ("let", name), Scope(case_type, self.functions, params, let_irs,
                                                                   later=later), None, f"let '{name}'")
                if cond is not None and not self.let_chain_ok(name, cond, path + ("let", name)):
                    cond = None
            if cond is not None:
                lets[name] = cond
                let_irs[name] = cond.node
                remember_let(cond.node, cond.fn)  # every use calls this one function
                if cond.cost is not None:
                    remember_let_cost(cond.node, cond.cost)
            else:  # already reported; stand-in so later uses do not repeat the error
                let_irs[name] = ir.Const(ANY, span_at(1, 1), name, UNKNOWN, name=name)
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
            duration = self.expression(rpath + ("duration",), scope, DURATION, "remedy duration") \
                if "duration" in rem else None
            remedies.append(Remedy(rem["kind"], rem.get("to"), rem.get("description"), rem.get("form"), amount, rwhen,
                                   duration))
        if cond is None or message is None or ("when" in raw and when is None):
            return None
        rule = Rule(raw["id"], policy_id, raw["title"], raw["clause"], raw["severity"], when, cond, mode, message,
                    remedies, lets, raw.get("reading"), list(raw.get("tags") or []), self.pos.where(path)[0],
                    file=self.pos.file)
        for node in (cond.node, when.node) if when else (cond.node,):
            rule.readers.update(condition_inputs(node, {}))
        rule.inputs = sorted(rule.readers)
        # one walk over everything the rule holds: a let used by many others is visited once (issue 13)
        nodes = [c.node for c in (cond, when, *lets.values()) if c is not None] + rule.shown_nodes()
        rule.params = sorted(set(params_used(nodes, params)))
        rule.depends_on = self.dependencies(raw, path)
        return rule

    def let_line(self, path: Path_, name: str) -> str:
        """Where the let ``name`` of the rule at ``path`` is written: ``line 12``, or ``v1.yaml:12`` for one an
        amended rule inherits from another file."""
        origin = (self.src.origins or {}).get(("let", name))
        if origin is not None and origin[0] != self.pos.file:
            return f"{shown_beside(origin[0], self.pos.file or '')}:{origin[1]}"
        return f"line {origin[1] if origin is not None else self.pos.where(path + ('let', name), key=True)[0]}"

    def dependencies(self, raw: dict[str, Any], path: Path_) -> dict[str, tuple[str, ...]]:
        """``depends_on`` as written (names are checked once every rule is known, in :mod:`.depends`)."""
        out: dict[str, tuple[str, ...]] = {}
        for name, wanted in (raw.get("depends_on") or {}).items():
            out[str(name)] = tuple(wanted) if isinstance(wanted, list) else (str(wanted),)
        return out

    def template(self, path: Path_, scope: Scope) -> Template | None:
        """Split a message into text and ``{expression}`` placeholders (``{{``/``}}`` are literal braces)."""
        split, unclosed = split_template(self.get(path))
        parts: list[str | Condition] = []
        ok = True
        for part in split:
            if isinstance(part, str):
                parts.append(part)
                continue
            cond = self.expression(path, scope, None, "placeholder", text=part.text, offset=(part.line, part.column))
            ok = ok and cond is not None
            if cond is not None:
                parts.append(cond)
        if unclosed is not None:
            self.relocate(PolicyLoadError(UNCLOSED, line=1, column=1), path, unclosed)
            return None
        return Template(parts) if ok else None


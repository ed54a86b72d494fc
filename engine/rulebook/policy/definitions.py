"""The ``definitions:`` section: named expressions shared by every rule of a version.

A definition is written once ("in window", "deadline") and used by name in any rule's
``let``, ``when``, ``require``/``forbid``, message or remedy, and in waiver scopes. Each
definition may use the ones before it. It is parsed and checked once; rules refer to
it (a let-reference to the one checked node), they do not re-parse it.
"""

from __future__ import annotations

from policy_eval.errors import PolicyNameError
from policy_eval.lang import ir
from policy_eval.lang.checker import Scope, written_below
from policy_eval.lang.compiler import remember_let
from policy_eval.lang.cost import remember_let as remember_let_cost
from policy_eval.lang.types import ANY, Type
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook.policy.base import BuilderBase, Entry, span_at
from policy_eval.rulebook.policy.inherit import shown_beside
from policy_eval.rulebook.policy.model import Condition


class DefinitionsSection(BuilderBase):
    def definitions(self, entries: dict[str, Entry], case_type: Type, params: dict[str, ir.IR]
                    ) -> tuple[dict[str, Condition], dict[str, ir.IR]]:
        """(name → condition, name → checked node for the rules' scopes)."""
        conds: dict[str, Condition] = {}
        nodes: dict[str, ir.IR] = {}
        names = list(entries)
        for i, name in enumerate(names):
            entry = entries[name]
            with self.at(entry.src):
                if not self.ok(entry.path):
                    cond = None
                elif case_type.field_type(name) is not None or name in params:
                    hidden = "parameter" if name in params else "case field"
                    self.fail(f"definition '{name}' hides the {hidden} '{name}'; rename it", entry.path,
                              PolicyNameError, key=True)
                    cond = None
                else:
                    later = written_below("definition", name, [(n, self.written_at(entries[n])) for n in names[i + 1:]])
                    cond = self.expression(entry.path, Scope(case_type, self.functions, params, nodes, later=later),
                                           None, f"definition '{name}'")
                    if cond is not None and not self.let_chain_ok(name, cond, entry.path):
                        cond = None
            if cond is not None:
                conds[name] = cond
                nodes[name] = cond.node
                remember_let(cond.node, cond.fn)  # compiled once: every rule's use calls this one function
                if cond.cost is not None:
                    remember_let_cost(cond.node, cond.cost)
            else:  # already reported; a stand-in so later uses do not repeat the error
                nodes[name] = ir.Const(ANY, span_at(1, 1), name, UNKNOWN, name=name)
        return conds, nodes

    def written_at(self, entry: Entry) -> str:
        """Where a definition is written: ``line 12``, or ``v1.yaml:12`` for one inherited from another file."""
        line = entry.src.pos.where(entry.path, key=True)[0]
        if entry.src.pos.file == self.pos.file:
            return f"line {line}"
        return f"{shown_beside(entry.src.pos.file, self.pos.file or '')}:{line}"

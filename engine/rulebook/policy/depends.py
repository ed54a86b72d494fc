"""Rules that depend on rules: ``depends_on`` checked once every rule of the version is known.

A rule may name other rules of the same (resolved) version and the outcomes under which
it applies (``depends_on: {refund-only-window: complied}``). Checked at load: every name
is a rule of this version (not of another policy or version), and the dependencies form
no cycle. The result is an evaluation order (each rule after the rules it depends on),
and each rule's inputs and parameters include what its dependencies read, so
``rules --inputs`` and the recorded inputs show them.
"""

from __future__ import annotations

from typing import Any

from policy_eval.errors import PolicyNameError
from policy_eval.rulebook.policy.base import BuilderBase, Entry
from policy_eval.rulebook.policy.model import Rule
from policy_eval.rulebook.policy.schema import suggest


class DependsSection(BuilderBase):
    def withdrawn(self) -> set[str]:
        """The rule ids the document being built withdraws (a revision's ``withdraw:``)."""
        own: Any = getattr(self, "own", None) or self.src
        listed = own.data.get("withdraw") if isinstance(own.data, dict) else None
        return {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()

    def check_dependencies(self, rules: list[Rule], entries: dict[str, Entry]) -> list[str]:
        """Report unknown, cross-version and cyclic dependencies; return the evaluation order of rule ids."""
        by_id = {r.id: r for r in rules}
        for rule in rules:
            where = entries.get(rule.id)
            for name in list(rule.depends_on):
                problem = None
                if "/" in name or "@" in name:
                    problem = (f"'{name}' is a rule of another policy or version: a rule depends only on rules "
                               "of its own version")
                elif name == rule.id:
                    problem = f"rule '{name}' depends on itself"
                elif name not in by_id and name in self.withdrawn():
                    problem = (f"depends on rule '{name}', which this version withdraws: keep the rule, or amend "
                               f"'{rule.id}' to depend on another")
                elif name not in by_id:
                    problem = f"depends on unknown rule '{name}'{suggest(name, sorted(by_id))}"
                if problem is not None:
                    del rule.depends_on[name]
                    if where is not None:
                        with self.at(where.src):
                            self.fail(problem, where.path + ("depends_on", name), PolicyNameError, key=True)
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done

        def visit(rid: str, trail: list[str]) -> None:
            if state.get(rid) == 2:
                return
            if state.get(rid) == 1:
                cycle = trail[trail.index(rid):] + [rid]
                where = entries.get(trail[-1])
                if where is not None:
                    with self.at(where.src):
                        self.fail("rules depend on each other in a cycle: " + " → ".join(cycle),
                                  where.path + ("depends_on", rid), PolicyNameError, key=True)
                by_id[trail[-1]].depends_on.pop(rid, None)  # break it, so the rest can be checked
                return
            state[rid] = 1
            for dep in list(by_id[rid].depends_on):
                visit(dep, trail + [rid])
            state[rid] = 2
            order.append(rid)

        for rule in rules:
            visit(rule.id, [])
        for rid in order:  # dependencies first: their inputs and parameters are complete already
            rule = by_id[rid]
            for dep in rule.depends_on:
                for path, read in by_id[dep].readers.items():
                    rule.readers.setdefault(path, read)
                rule.params = sorted(set(rule.params) | set(by_id[dep].params))
            rule.inputs = sorted(rule.readers)
        return order

"""The ``waivers:`` section: time-limited exemptions from named rules."""

from __future__ import annotations

from policy_eval.errors import PolicyNameError
from policy_eval.lang.checker import Scope
from policy_eval.lang.types import BOOL
from policy_eval.rulebook.policy.base import BuilderBase, Entry
from policy_eval.rulebook.policy.model import Waiver
from policy_eval.rulebook.policy.schema import Path_, suggest


class WaiversSection(BuilderBase):
    def waivers(self, entries: list[Entry], rule_ids: list[str], scope: Scope) -> list[Waiver]:
        out = []
        for entry in entries:
            with self.at(entry.src):
                waiver = self.waiver(entry.path, rule_ids, scope)
            if waiver is not None:
                out.append(waiver)
        return out

    def waiver(self, path: Path_, rule_ids: list[str], scope: Scope) -> Waiver | None:
        if not self.ok(path):
            return None
        raw = self.get(path)
        for j, rid in enumerate(raw.get("rules") or []):
            if rid not in rule_ids:
                self.fail(f"waiver names unknown rule '{rid}'{suggest(rid, rule_ids)}", path + ("rules", j),
                          PolicyNameError)
        cond = self.expression(path + ("scope",), scope, BOOL, "waiver scope")
        until = self.instant(path + ("until",))
        start = self.instant(path + ("from",)) if "from" in raw else None
        if start is not None and until is not None and until <= start:
            self.fail("a waiver's 'until' must be later than its 'from'", path + ("until",))
        if cond is None or until is None:
            return None
        return Waiver(raw["id"], raw.get("rules"), cond, raw["reason"], raw["approved_by"], start, until)

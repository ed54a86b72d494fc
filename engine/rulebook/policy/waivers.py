"""The ``waivers:`` section: time-limited exemptions from named rules."""

from __future__ import annotations

from policy_eval.errors import PolicyNameError
from policy_eval.lang.checker import Scope
from policy_eval.lang.types import BOOL
from policy_eval.rulebook.policy.base import BuilderBase
from policy_eval.rulebook.policy.model import Waiver
from policy_eval.rulebook.policy.schema import suggest


class WaiversSection(BuilderBase):
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
                    self.fail(f"waiver names unknown rule '{rid}'{suggest(rid, rule_ids)}", path + ("rules", j),
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


"""One policy document → a :class:`PolicyVersion`: the ``policy:`` header, then each section in turn."""

from __future__ import annotations

from policy_eval.lang.checker import Scope
from policy_eval.lang.types import ANY, DATETIME, Type
from policy_eval.lang.values import render
from policy_eval.rulebook.policy.model import Location, PolicyVersion
from policy_eval.rulebook.policy.params import ParamsSection
from policy_eval.rulebook.policy.rules import RulesSection
from policy_eval.rulebook.policy.schema import suggest
from policy_eval.rulebook.policy.waivers import WaiversSection


class Builder(ParamsSection, RulesSection, WaiversSection):
    """Builds one PolicyVersion, collecting every error it finds.

    ``broken`` lists the paths where the schema found errors: parts at or under them are skipped.
    """

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
            hint = suggest(kind, known) or f" (schemas found for: {', '.join(known) or 'none'})"
            self.fail(f"unknown case kind '{kind}'{hint}", path)
            return ANY
        return case_type


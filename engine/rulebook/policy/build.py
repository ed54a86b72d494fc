"""One policy document → a :class:`PolicyVersion`: the ``policy:`` header, then each section in turn.

The document is first laid out (:mod:`.inherit`): a plain file as written, a revision
resolved against the version it revises, so every part is read in the file it comes from.
An error in a part the revision inherits is the revision's doing (the part checked where it is
written): it is placed at the revision's entry that changed what the part reads
(:func:`.inherit.blame`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

from policy_eval.errors import PolicyError, PolicyLoadError
from policy_eval.lang.checker import Scope
from policy_eval.lang.cost import DEFAULT_CEILING
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.types import ANY, DATETIME, Type
from policy_eval.lang.values import render
from policy_eval.rulebook.policy.base import Entry, Source
from policy_eval.rulebook.policy.definitions import DefinitionsSection
from policy_eval.rulebook.policy.depends import DependsSection
from policy_eval.rulebook.policy.inherit import Layout, blame, layout_of, shown_beside
from policy_eval.rulebook.policy.model import EARLIEST, UNSTATED, Condition, Location, PolicyVersion
from policy_eval.rulebook.policy.params import ParamsSection
from policy_eval.rulebook.policy.rules import RulesSection
from policy_eval.rulebook.policy.schema import Path_, suggest
from policy_eval.rulebook.policy.waivers import WaiversSection
from policy_eval.rulebook.yamlload import Positions


class Builder(ParamsSection, DefinitionsSection, RulesSection, DependsSection, WaiversSection):
    """Builds one PolicyVersion, collecting every error it finds.

    ``layout``: the resolved parts (default: the document as written); ``overlay``: the
    deployment's values for this policy's parameters, by name.
    """

    def __init__(self, data: dict[str, Any], positions: Positions, case_types: Mapping[str, Type],
                 functions: FunctionRegistry, broken: Iterable[Path_] = (), *, layout: Layout | None = None,
                 overlay: Mapping[str, Entry] | None = None, max_cost: int | None = DEFAULT_CEILING) -> None:
        super().__init__(data, positions, case_types, functions, broken)
        self.max_cost = max_cost
        self.layout = layout if layout is not None else layout_of(self.src)
        self.overlay = dict(overlay or {})
        self.own = self.src

    # Every error is reported through these two; one found in an inherited part is moved to the revision.
    def fail(self, message: str, path: Path_, cls: type[PolicyError] = PolicyLoadError, key: bool = False) -> None:
        n = len(self.errors)
        super().fail(message, path, cls, key)
        self.inherited(n, path)

    def relocate(self, exc: PolicyError, path: Path_, offset: tuple[int, int] = (0, 0)) -> None:
        n = len(self.errors)
        super().relocate(exc, path, offset)
        self.inherited(n, path)

    def inherited(self, n: int, path: Path_) -> None:
        """Place the errors from ``n`` on, found at ``path`` of the document being read, in the revision when
        that document is one the revision inherits from (not the revision, not a deployment overlay)."""
        origins = self.src.origins
        if origins is not None and self.src.pos.file == self.own.pos.file:
            # a rule this revision amends (inherit.amended): it stands in the revision already
            part = tuple(path[2:4]) if path[2:3] == ("let",) else tuple(path[2:3])
            origin = origins.get(part)
            if origin is not None:  # a part it inherits: say which, and where it is written
                written = shown_beside(origin[0], self.own.pos.file)
                rid = self.src.data["rules"][0].get("id")
                for i in range(n, len(self.errors)):
                    self.errors[i].message = (f"{' '.join(part)} of rule {rid}, inherited from {written}:{origin[1]}:"
                                              f"{origin[2]} and unchanged by this amendment: {self.errors[i].message}")
                    self.errors[i].end_column = None  # (its width was measured in the other file)
            return
        if self.src.pos is self.own.pos or self.src.pos.file not in self.layout.files:
            return
        for i in range(n, len(self.errors)):
            self.errors[i] = blame(self.layout, self.own, self.src, path, self.errors[i])

    def meta(self, key: str) -> Any:
        entry = self.layout.meta.get(key)
        if entry is None:
            return None
        with self.at(entry.src):
            return self.get(entry.path) if self.ok(entry.path) else None

    def meta_instant(self, key: str) -> _dt.datetime | None:
        entry = self.layout.meta.get(key)
        if entry is None:
            return None
        with self.at(entry.src):
            return self.instant(entry.path) if self.ok(entry.path) else None

    def start(self) -> _dt.datetime | None:
        """``effective_from``: its instant, or the earliest one for ``unstated`` (the text gives no date)."""
        entry = self.layout.meta.get("effective_from")
        if entry is not None:
            with self.at(entry.src):
                if self.ok(entry.path) and self.get(entry.path) == UNSTATED:
                    return EARLIEST
        return self.meta_instant("effective_from")

    def meta_location(self, key: str) -> Location:
        entry = self.layout.meta.get(key)
        if entry is None:
            return self.location(("policy",))
        with self.at(entry.src):
            return self.location(entry.path)

    def build(self) -> PolicyVersion | None:
        if not isinstance(self.data.get("policy"), dict):
            return None
        self.policy_id = str(self.meta("id"))
        case_type = self.case_type()
        start = self.start()
        until = self.meta_instant("effective_until")
        if start and until and until <= start:
            self.fail("effective_until must be later than effective_from "
                      f"({render(until)} is not after {render(start)})", ("policy", "effective_until"))
        params = self.params(self.layout.params, case_type, start, self.overlay)
        definitions, nodes = self.definitions(self.layout.definitions, case_type, params)
        ref = self.reference_time(Scope(case_type, self.functions, params))
        rules = self.rules(self.layout.rules, case_type, params, self.policy_id, nodes)
        order = self.check_dependencies(rules, self.layout.rule_entries())
        waivers = self.waivers(self.layout.waivers, list(self.layout.rule_entries()),
                               Scope(case_type, self.functions, params, nodes))
        if self.errors or self.broken or start is None or ref is None:
            return None
        source = self.meta("source")
        return PolicyVersion(
            id=self.policy_id, title=self.meta("title"), version=self.meta("version"),
            source=dict(source) if isinstance(source, dict) else {}, effective_from=start, effective_until=until,
            applies_to=self.meta("applies_to"), reference_time=ref, notes=self.meta("notes"), params=params,
            rules=rules, waivers=waivers, file=self.pos.file,
            locations={**{k: self.meta_location(k) for k in ("version", "applies_to", "effective_from")},
                       "reference_time": self.meta_location("reference_time")},
            definitions=definitions, order=order, param_info=dict(self.param_info), revises=self.meta("revises"),
        )

    def reference_time(self, scope: Scope) -> Condition | None:
        entry = self.layout.meta.get("reference_time")
        if entry is None:
            return None
        with self.at(entry.src):
            if not self.ok(entry.path):
                return None
            return self.expression(entry.path, scope, DATETIME, "reference_time")

    def case_type(self) -> Type:
        """The record type of the case kind the policy applies to (ANY if unknown: nothing cascades)."""
        entry = self.layout.meta.get("applies_to")
        if entry is None:
            return ANY
        with self.at(entry.src):
            if not self.ok(entry.path):
                return ANY
            kind = self.get(entry.path)
            case_type = self.case_types.get(kind)
            if case_type is None:
                known = sorted(self.case_types)
                hint = suggest(kind, known) or f" (schemas found for: {', '.join(known) or 'none'})"
                self.fail(f"unknown case kind '{kind}'{hint}", entry.path)
                return ANY
            return case_type


__all__ = ["Builder", "Source"]

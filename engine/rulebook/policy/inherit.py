"""Versions that inherit: a file that ``revises`` another version states only what changes.

A document's parts are laid out as a :class:`Layout` (each part with the file it comes
from). A revision starts from the layout of the version it revises and applies its own
parts: ``policy:`` keys it gives replace the inherited ones (``effective_until`` is never
inherited); ``params`` and ``definitions`` it gives are replaced or added by name; a rule
with the id of an inherited rule replaces it in place, a new id is added at the end;
``withdraw: [ids]`` drops inherited rules; waivers are inherited and added to. Errors are
located in the file that caused them: an inherited rule's in the file it is written in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import PolicyError, PolicyNameError
from policy_eval.rulebook.policy.base import Entry, Source
from policy_eval.rulebook.policy.schema import suggest

__all__ = ["Layout", "layout_of", "revise"]


@dataclass
class Layout:
    meta: dict[str, Entry] = field(default_factory=dict)
    params: dict[str, Entry] = field(default_factory=dict)
    definitions: dict[str, Entry] = field(default_factory=dict)
    rules: list[Entry] = field(default_factory=list)
    waivers: list[Entry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # the chain of files, the revised ones first

    def rule_entries(self) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for e in self.rules:
            rid = _rule_id(e)
            if rid is not None:
                out.setdefault(rid, e)
        return out


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rule_id(e: Entry) -> str | None:
    raw = e.src.data["rules"][e.path[1]]
    rid = raw.get("id") if isinstance(raw, dict) else None
    return rid if isinstance(rid, str) else None


def _error(src: Source, message: str, path: tuple[Any, ...]) -> PolicyError:
    line, column = src.pos.where(path)
    return PolicyNameError(message, file=src.pos.file, line=line, column=column, source_line=src.pos.line_text(line))


def layout_of(src: Source) -> Layout:
    """The parts of one document as written."""
    d = _mapping(src.data)
    return Layout(
        meta={k: Entry(src, ("policy", k)) for k in _mapping(d.get("policy"))},
        params={k: Entry(src, ("params", k)) for k in _mapping(d.get("params"))},
        definitions={k: Entry(src, ("definitions", k)) for k in _mapping(d.get("definitions"))},
        rules=[Entry(src, ("rules", i)) for i in range(len(_list(d.get("rules"))))],
        waivers=[Entry(src, ("waivers", i)) for i in range(len(_list(d.get("waivers"))))],
        files=[src.pos.file],
    )


def revise(base: Layout, src: Source) -> tuple[Layout, list[PolicyError]]:
    """The layout of a revision: ``base`` (already resolved) with the revision's changes applied."""
    own = layout_of(src)
    errors: list[PolicyError] = []
    meta = {k: e for k, e in base.meta.items() if k not in ("effective_until", "revises")}
    meta.update(own.meta)
    inherited = base.rule_entries()
    replaced: dict[str, Entry] = {}
    added: list[Entry] = []
    for e in own.rules:
        rid = _rule_id(e)
        if rid is not None and rid in inherited and rid not in replaced:
            replaced[rid] = e
        else:
            added.append(e)
    withdrawn: set[str] = set()
    for j, rid in enumerate(_list(_mapping(src.data).get("withdraw"))):
        path = ("withdraw", j)
        if not isinstance(rid, str):
            continue
        if rid not in inherited:
            errors.append(_error(src, f"withdraws rule '{rid}', which the revised version does not have"
                                      f"{suggest(rid, sorted(inherited))}", path))
        elif rid in replaced:
            errors.append(_error(src, f"rule '{rid}' is both replaced and withdrawn; keep one", path))
        withdrawn.add(rid)
    rules = [replaced.get(rid, e) if rid is not None else e for rid, e in ((_rule_id(e), e) for e in base.rules)
             if rid not in withdrawn]
    return Layout(meta=meta, params={**base.params, **own.params},
                  definitions={**base.definitions, **own.definitions}, rules=rules + added,
                  waivers=base.waivers + own.waivers, files=base.files + own.files), errors

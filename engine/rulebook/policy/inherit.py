"""Versions that inherit: a file that ``revises`` another version states only what changes.

A document's parts are laid out as a :class:`Layout` (each part with the file it comes
from). A revision starts from the layout of the version it revises and applies its own
parts: ``policy:`` keys it gives replace the inherited ones (``effective_until`` is never
inherited); ``params`` and ``definitions`` it gives are replaced or added by name; a rule
with the id of an inherited rule replaces it in place, a new id is added at the end;
``withdraw: [ids]`` drops inherited rules; ``amend:`` changes some keys of inherited rules
(:func:`amended`); waivers are inherited and added to. Errors are
located in the file that caused them: the revision's own parts in the revision; an inherited
part that checked in the version it comes from but fails in the revision (a parameter that
became money where a rule adds it to a time) at the revision's entry that changed what it
reads (:func:`blame`), naming where the part is written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import PolicyError, PolicyNameError
from policy_eval.rulebook.policy.base import Entry, Source
from policy_eval.rulebook.policy.schema import suggest
from policy_eval.rulebook.yamlpos import Positions

__all__ = ["Layout", "layout_of", "revise", "amended", "blame", "shown_beside"]


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


def _not_inherited(src: Source, verb: str, rid: str, inherited: dict[str, Entry], at: tuple[Any, ...]) -> PolicyError:
    """A revision names a rule the version it revises does not have (with the closest id suggested)."""
    return _error(src, f"{verb} rule '{rid}', which the revised version does not have{suggest(rid, sorted(inherited))}",
                  at)


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
            errors.append(_not_inherited(src, "withdraws", rid, inherited, path))
        elif rid in replaced:
            errors.append(_error(src, f"rule '{rid}' is both replaced and withdrawn; keep one", path))
        withdrawn.add(rid)
    amends: set[str] = set()
    nodes = _amend_nodes(src.pos) if _list(_mapping(src.data).get("amend")) else {}
    for j, raw in enumerate(_list(_mapping(src.data).get("amend"))):
        rid = _mapping(raw).get("id")
        at: tuple[Any, ...] = ("amend", j, "id")
        if not isinstance(rid, str):
            continue
        if rid not in inherited:
            errors.append(_not_inherited(src, "amends", rid, inherited, at))
        elif rid in amends:
            errors.append(_error(src, f"rule '{rid}' is amended twice; merge the two entries", at))
        elif rid in replaced:
            errors.append(_error(src, f"rule '{rid}' is both replaced and amended; keep one (an entry under "
                                      "rules: restates the whole rule)", at))
        elif rid in withdrawn:
            errors.append(_error(src, f"rule '{rid}' is both amended and withdrawn; keep one", at))
        else:
            amends.add(rid)
            replaced[rid] = amended(inherited[rid], src, j, nodes)
    rules = [replaced.get(rid, e) if rid is not None else e for rid, e in ((_rule_id(e), e) for e in base.rules)
             if rid not in withdrawn]
    return Layout(meta=meta, params={**base.params, **own.params},
                  definitions={**base.definitions, **own.definitions}, rules=rules + added,
                  waivers=base.waivers + own.waivers, files=base.files + own.files), errors


_Nodes = dict[int, tuple[list[tuple[tuple[Any, ...], Any]], list[tuple[tuple[Any, ...], Any]]]]


def _amend_nodes(pos: Positions) -> _Nodes:
    """The revision's YAML nodes under each ``amend`` entry, by entry: (value nodes, key nodes), each with its
    path below the entry (one pass over the file's nodes, however many entries)."""
    out: _Nodes = {}
    for which, table in enumerate((pos.nodes, pos.key_nodes)):
        for path, node in table.items():
            if len(path) >= 2 and path[0] == "amend" and isinstance(path[1], int):
                out.setdefault(path[1], ([], []))[which].append((path[2:], node))
    return out


def amended(base: Entry, src: Source, j: int, nodes: _Nodes | None = None) -> Entry:
    """The inherited rule ``base`` with the keys of the revision's ``amend[j]`` entry (docs/policies.md): a key
    given replaces the inherited one whole, except ``let``, whose bindings are replaced or added by name;
    ``require`` replaces an inherited ``forbid`` and the reverse.

    The rule becomes a document of its own, written in the revision: its data is the merged rule, its
    positions the amendment's (a part it inherits has none there, so an error in one lands on the amendment,
    and :attr:`Source.origins` says where that part is written)."""
    raw = base.src.data["rules"][base.path[1]]
    change = src.data["amend"][j]
    merged = {k: v for k, v in raw.items() if not (k in ("require", "forbid") and ("require" in change or
                                                                                    "forbid" in change))}
    for key, value in change.items():
        merged[key] = _lets(_mapping(raw.get("let")), value) if key == "let" and isinstance(value, dict) else value
    origins: dict[tuple[str, ...], tuple[str, int, int]] = {}
    for key in merged:
        parts = [(key, name) for name in _mapping(merged[key]) if name not in _mapping(change.get(key))] \
            if key == "let" else [(key,)] if key not in change else []
        for part in parts:
            inherited = (base.src.origins or {}).get(part)
            if inherited is None:
                line, column = base.src.pos.where(base.path + part)
                inherited = (base.src.pos.file, line, column)
            origins[part] = inherited
    own, at = src.pos, ("amend", j)
    pos = Positions(own.file, own.lines, text=own.text, line_starts=own.line_starts)
    values, keys = (nodes if nodes is not None else _amend_nodes(own)).get(j, ([], []))
    for found, into in ((values, pos.nodes), (keys, pos.key_nodes)):
        for below, node in found:
            into[("rules", 0) + below] = node
    entry = own.nodes.get(at)
    if entry is not None:  # where an error in an inherited part lands
        pos.nodes[()] = entry
    return Entry(Source({"rules": [merged]}, pos, origins=origins), ("rules", 0))


def _lets(inherited: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """An amended rule's let bindings: the inherited ones in their order, those the amendment gives replaced in
    place, and the new ones, in the amendment's order, just before the first binding that reads one of them (a
    binding may use only the ones before it), else at the end. One pass over the bindings' texts."""
    merged = {name: given.get(name, text) for name, text in inherited.items()}
    new = {name: text for name, text in given.items() if name not in merged}
    if not new:
        return merged
    at = next((other for other, text in merged.items() if any(n in new for n in _names(text))), None)
    out: dict[str, Any] = {}
    for other, text in merged.items():
        if other == at:
            out.update(new)
        out[other] = text
    if at is None:
        out.update(new)
    return out


# --- errors of inherited parts --------------------------------------------------------------------------
_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}]*)\}")


def _names(text: Any) -> list[str]:
    """The names an expression text may read (string literals and attributes left out)."""
    return _NAME.findall(_STRING.sub(" ", text)) if isinstance(text, str) else []


def _reads(raw: Any, part: tuple[Any, ...]) -> tuple[list[str], list[str]]:
    """(names its expressions read, rule ids it refers to) of a part as written."""
    if part[0] in ("definitions", "policy"):
        return _names(raw), []
    if not isinstance(raw, dict):
        return [], []
    if part[0] == "waivers":
        return _names(raw.get("scope")), [r for r in _list(raw.get("rules")) if isinstance(r, str)]
    texts = [*_mapping(raw.get("let")).values(), raw.get("when"), raw.get("require"), raw.get("forbid")]
    if isinstance(raw.get("message"), str):
        texts += _PLACEHOLDER.findall(raw["message"])
    for rem in _list(raw.get("remedies")):
        texts += [_mapping(rem).get(k) for k in ("amount", "when", "duration")]
    return [n for t in texts for n in _names(t)], [str(k) for k in _mapping(raw.get("depends_on"))]


def _changed(layout: Layout, own: Source, src: Source, part: tuple[Any, ...]) -> Entry | None:
    """The first entry of the revision ``own`` that the inherited part reads: a parameter or definition it
    gives (read directly or through inherited definitions), or a rule it replaces or withdraws that the
    part depends on or waives."""
    names, rules = _reads(_at(src.data, part), part)
    seen: set[str] = set()
    while names:
        name = names.pop(0)
        if name in seen:
            continue
        seen.add(name)
        entry = layout.params.get(name) or layout.definitions.get(name)
        if entry is None:
            continue
        if entry.src.pos is own.pos:
            return entry
        if entry.path[0] == "definitions":  # inherited as well: what it reads
            names += _names(_at(entry.src.data, entry.path))
    replaced = layout.rule_entries()
    withdrawn = {rid: j for j, rid in enumerate(_list(_mapping(own.data).get("withdraw"))) if isinstance(rid, str)}
    for rid in rules:
        if rid in withdrawn:
            return Entry(own, ("withdraw", withdrawn[rid]))
        entry = replaced.get(rid)
        if entry is not None and entry.src.pos is own.pos:
            return Entry(own, entry.path + ("id",))
    return None


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    try:
        for p in path:
            data = data[p]
    except (KeyError, IndexError, TypeError):
        return None
    return data


def _label(src: Source, part: tuple[Any, ...]) -> str:
    raw = _at(src.data, part)
    if part[0] in ("rules", "waivers"):
        rid = raw.get("id") if isinstance(raw, dict) else None
        return f"{part[0][:-1]} {rid if isinstance(rid, str) else '#' + str(part[1] + 1)}"
    if part[0] in ("definitions", "params"):
        return f"{part[0][:-1].replace('param', 'parameter')} {part[1]}"
    return str(part[-1])  # a key of ``policy:`` (reference_time)


def shown_beside(file: str | None, beside: str) -> str:
    """A file's name as a message about ``beside`` shows it: the name alone when both are in one folder."""
    file = file or "?"
    return os.path.basename(file) if os.path.dirname(file) == os.path.dirname(beside) else file


def blame(layout: Layout, own: Source, src: Source, path: tuple[Any, ...], exc: PolicyError) -> PolicyError:
    """An error found in a part the revision ``own`` inherits from ``src`` (at ``path`` there), placed at the
    revision's entry that changed what the part reads (else at its ``revises``), naming the part and where it is
    written: ``rule r in v1.yaml:21:84 (inherited): cannot add money to datetime``.

    The part checked in the version it comes from (a revision of a version with errors is not built), so the
    revision's change is the cause.
    """
    part = path[:2]
    where = _changed(layout, own, src, part)
    if where is None:
        given = next((k for k in ("applies_to", "reference_time") if k in layout.meta
                      and layout.meta[k].src.pos is own.pos), "revises")
        where = Entry(own, ("policy", given))
    written = shown_beside(src.pos.file, own.pos.file)
    line, column = own.pos.where(where.path)
    exc.message = f"{_label(src, part)} in {written}:{exc.line}:{exc.column} (inherited): {exc.message}"
    exc.relocate(file=own.pos.file, line=line, column=column, source_line=own.pos.line_text(line))
    exc.end_column = None
    return exc

"""What a revision inherits, for the editor (:mod:`.outline`): the names its conditions may use and the rule an
amendment changes.

Input: a :class:`~policy_eval.authoring.outline.Document` of a policy file. Output: the parameters, definitions
and lets visible at a place: the file's own, and a revision's inherited ones, from the version loaded with the
files beside it or, while the revision does not load (a condition half typed), from the revised versions'
files as written (:func:`based_on`); and where an inherited name is defined (:func:`inherited_key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policy_eval.errors import PolicyError
from policy_eval.rulebook.yamlload import Positions, load_yaml

Document = Any  # (policy_eval.authoring.outline.Document, which imports this module)

__all__ = ["based_on", "inherited_key", "entry_at", "inherited_rule", "visible_lets", "visible_params",
           "visible_definitions"]


def based_on(data: Any, others: Mapping[Path, str]) -> list[tuple[Any, Positions, Path]]:
    """The documents of the versions a revision revises, nearest first (each read as written), each with its
    positions and its file."""
    by_version: dict[str, tuple[Any, Positions, Path]] = {}
    for path, text in others.items():
        try:
            other, positions = load_yaml(text, str(path))
        except PolicyError:
            continue
        version = other.get("policy", {}).get("version") if isinstance(other, dict) and isinstance(
            other.get("policy"), dict) else None
        if isinstance(version, str):
            by_version[version] = (other, positions, path)
    out: list[tuple[Any, Positions, Path]] = []
    wanted = data.get("policy", {}).get("revises") if isinstance(data.get("policy"), dict) else None
    while isinstance(wanted, str) and wanted in by_version and len(out) < len(by_version):
        out.append(by_version[wanted])
        wanted = by_version[wanted][0]["policy"].get("revises")
    return out


def inherited_key(doc: Document, name: str, entry: tuple[str, int] | None) -> tuple[Path, int, int] | None:
    """Where a name a revision inherits is defined, in the nearest version that writes it: (its file, 1-based line
    and column of the key): an amendment's let of the amended rule, else a definition, else a parameter."""
    rid = doc.raw(*entry, "id") if entry is not None and entry[0] == "amend" else None
    for data, positions, path in doc.based:
        paths: list[tuple[Any, ...]] = []
        for section in ("rules", "amend") if isinstance(rid, str) else ():
            for i, raw in enumerate(data.get(section) or []):
                if isinstance(raw, dict) and raw.get("id") == rid and isinstance(raw.get("let"), dict):
                    paths.append((section, i, "let", name))
        paths += [("definitions", name), ("params", name)]
        for where in paths:
            key = positions.key_nodes.get(where)  # (the key is written there)
            if key is not None:
                return path, key.start_mark.line + 1, key.start_mark.column + 1
    return None


def entry_at(doc: Document, line: int) -> tuple[str, int] | None:
    """The rule entry a line is in: ``("rules", i)``, or ``("amend", i)`` in a revision's amendments."""
    for section in ("rules", "amend"):
        entries = doc.raw(section)
        if doc.positions is None or not isinstance(entries, list):
            continue
        for i in range(len(entries)):
            node = doc.positions.nodes.get((section, i))
            if node is not None and node.start_mark.line <= line <= node.end_mark.line - (node.end_mark.column == 0):
                return section, i
    return None


def inherited_rule(doc: Document, entry: tuple[str, int] | None) -> Any:
    """The resolved rule an amendment changes (its inherited lets and keys), from the loaded version."""
    rid = doc.raw(*entry, "id") if entry is not None and entry[0] == "amend" else None
    if doc.version is None or not isinstance(rid, str):
        return None
    return next((r for r in doc.version.rules if r.id == rid), None)


def visible_lets(doc: Document, entry: tuple[str, int] | None) -> dict[str, str]:
    """The let bindings visible in a rule entry: its own, and in an amendment those it inherits."""
    out: dict[str, str] = {}
    rule = inherited_rule(doc, entry)
    if rule is not None:
        out.update({k: c.text for k, c in rule.lets.items()})
    elif entry is not None and entry[0] == "amend":  # (the revision does not load yet: the bases as written)
        rid = doc.raw(*entry, "id")
        for base in reversed(doc.bases):
            for section in ("rules", "amend"):
                for raw in base.get(section) or []:
                    if isinstance(raw, dict) and raw.get("id") == rid and isinstance(raw.get("let"), dict):
                        out.update({str(k): str(v) for k, v in raw["let"].items()})
    lets = doc.raw(*entry, "let") if entry is not None else None
    out.update({str(k): str(v) for k, v in (lets.items() if isinstance(lets, dict) else ())})
    return out


def visible_params(doc: Document) -> dict[str, Any]:
    """The parameters a condition of the file may name: its own, and those a revision inherits (as a long-form
    spec, from the loaded version)."""
    out: dict[str, Any] = {}
    if doc.version is not None:
        for name, info in doc.version.param_info.items():
            out[name] = {"type": info.type, "value": info.value if info.value is not None else "unset",
                         "clause": info.clause, "description": f"inherited from {Path(info.file).name}:{info.line}"}
    else:
        for base in reversed(doc.bases):
            out.update(base["params"] if isinstance(base.get("params"), dict) else {})
    own = doc.raw("params")
    out.update(own if isinstance(own, dict) else {})
    return out


def visible_definitions(doc: Document) -> dict[str, str]:
    """The policy-level definitions: the file's own, and those a revision inherits."""
    out = {k: c.text for k, c in doc.version.definitions.items()} if doc.version is not None else {}
    for base in reversed(doc.bases) if doc.version is None else ():
        out.update({str(k): str(v) for k, v in (base["definitions"].items()
                                                   if isinstance(base.get("definitions"), dict) else ())})
    own = doc.raw("definitions")
    out.update({str(k): str(v) for k, v in (own.items() if isinstance(own, dict) else ())})
    return out

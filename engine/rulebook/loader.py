"""A rulebook: every policy version under a folder, checked together.

Input: a policy folder (recursively, ``*.yaml``/``*.yml`` files that have a
top-level ``policy:`` key) and a folder of case schemas
(``cases/<kind>.schema.json``). Output: a :class:`Rulebook` indexed by case
kind, with versions of each policy ordered and checked for overlaps, and a
content hash recorded in every result for reproducibility.

The content hash is a sha256 over every policy file and case schema (their
paths relative to their folder, their lengths and their bytes): it does not
depend on where the rulebook is, and changes whenever a file that can change
a verdict changes. Every error of every file is collected before anything
is raised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.lang.cost import DEFAULT_CEILING
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.types import Type, schema_to_type
from policy_eval.lang.values import render
from policy_eval.resources import bundled_policies, bundled_schemas, load_json
from policy_eval.rulebook.policy import PolicyVersion, load_policy_file
from policy_eval.rulebook.yamlload import MAX_FILE_BYTES, load_yaml

__all__ = ["Rulebook", "load_rulebook", "find_schema_dir", "policy_files", "load_case_schemas"]


@dataclass
class PolicyHistory:
    """All versions of one policy id, oldest first."""

    id: str
    applies_to: str
    versions: list[PolicyVersion] = field(default_factory=list)

    def at(self, when: Any) -> PolicyVersion | None:
        """The version in force at an instant, if any."""
        return next((v for v in self.versions if v.in_force(when)), None)

    def latest(self) -> PolicyVersion:
        return self.versions[-1]


@dataclass
class Rulebook:
    root: Path
    schema_dir: Path
    policies: dict[str, PolicyHistory]
    case_schemas: dict[str, Any]
    functions: FunctionRegistry
    digest: str

    def for_kind(self, kind: str) -> list[PolicyHistory]:
        return [p for p in self.policies.values() if p.applies_to == kind]

    def versions(self) -> Iterable[PolicyVersion]:
        for history in self.policies.values():
            yield from history.versions


def find_schema_dir(policy_dir: Path) -> Path:
    """Case schemas for a policy folder: a sibling ``schemas/``, one inside it, or the bundled ones."""
    for candidate in (policy_dir / "schemas", policy_dir.parent / "schemas"):
        if (candidate / "cases").is_dir():
            return candidate
    return bundled_schemas()


def policy_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _case_schema_files(schema_dir: Path) -> list[Path]:
    return sorted((schema_dir / "cases").glob("*.schema.json"))


def load_case_schemas(schema_dir: Path) -> dict[str, Any]:
    return {path.name[: -len(".schema.json")]: load_json(str(path)) for path in _case_schema_files(schema_dir)}


def _hash_file(digest: Any, name: str, raw: bytes) -> None:
    digest.update(f"{name}\0{len(raw)}\0".encode() + raw)


def load_rulebook(root: Path | str | None = None, *, schema_dir: Path | str | None = None,
                  functions: FunctionRegistry | None = None, max_cost: int | None = DEFAULT_CEILING,
                  follow_links: bool = False) -> Rulebook:
    """Load and check every policy under ``root`` (default: the bundled rulebook).

    ``max_cost``: the ceiling on each condition's static cost estimate (docs/language.md, Cost).
    ``follow_links``: read policy files that are (or sit under) symbolic links resolving outside the policy
    folder; by default they are refused, each with an error (a link to /proc/self/environ would otherwise
    be read and quoted)."""
    from policy_eval.expression import default_functions

    root = Path(root) if root is not None else bundled_policies()
    if not root.exists():
        raise PolicyLoadError(f"no such policy folder or file: {root}", file=str(root))
    schema_path = Path(schema_dir) if schema_dir is not None else find_schema_dir(root if root.is_dir() else root.parent)
    registry = functions if functions is not None else default_functions()
    schemas = load_case_schemas(schema_path)
    case_types: dict[str, Type] = {k: schema_to_type(s, label=k) for k, s in schemas.items()}
    errors: list[PolicyError] = []
    histories: dict[str, PolicyHistory] = {}
    digest = hashlib.sha256()
    for path in _case_schema_files(schema_path):
        _hash_file(digest, f"schemas/cases/{path.name}", path.read_bytes())
    base = root if root.is_dir() else root.parent
    inside = base.resolve()
    if root.is_dir() and not follow_links:
        # sub-folders that are links are not walked (rglob does not follow them); one leading outside
        # the folder is reported rather than silently skipped
        for linked in sorted(p for p in root.rglob("*") if p.is_symlink() and p.is_dir()):
            if not linked.resolve().is_relative_to(inside):
                errors.append(PolicyLoadError("a symbolic link to a folder outside the policy folder; its files "
                                              "are not read", file=_display(linked), line=1, column=1))
    for path in policy_files(root):
        shown = _display(path)
        if not follow_links and path != root and not path.resolve().is_relative_to(inside):
            errors.append(PolicyLoadError(
                "a symbolic link to a file outside the policy folder; refused (--follow-links or "
                "load_rulebook(follow_links=True) reads it)", file=shown, line=1, column=1))
            continue
        try:
            raw = _read(path, shown)
            data, positions = load_yaml(raw, shown)
        except PolicyError as exc:
            errors.append(exc)
            continue
        if not (isinstance(data, dict) and "policy" in data):
            continue  # a test file or another YAML document
        _hash_file(digest, "policies/" + path.relative_to(base).as_posix(), raw)
        try:
            version = load_policy_file(path, data, positions, case_types, registry, max_cost)
        except ErrorList as exc:
            errors.extend(exc.errors)
            continue
        except PolicyError as exc:
            errors.append(exc)
            continue
        version.digest = hashlib.sha256(raw).hexdigest()[:16]
        history = histories.setdefault(version.id, PolicyHistory(version.id, version.applies_to))
        if version.applies_to != history.applies_to:
            errors.append(version.error(
                f"policy '{version.id}' applies to '{version.applies_to}' here but to '{history.applies_to}' "
                f"in {history.versions[0].file}", "applies_to"))
            continue
        history.versions.append(version)
    for history in histories.values():
        errors.extend(_check_versions(history))
    if errors:
        raise ErrorList(errors)
    return Rulebook(root, schema_path, histories, schemas, registry, "sha256:" + digest.hexdigest())


def _check_versions(history: PolicyHistory) -> list[PolicyError]:
    """Versions of one policy: distinct version names, one reference_time, periods that do not overlap."""
    errors: list[PolicyError] = []
    history.versions.sort(key=lambda v: v.effective_from)
    seen: dict[str, PolicyVersion] = {}
    for v in history.versions:
        if v.version in seen:
            errors.append(v.error(f"version '{v.version}' of policy '{v.id}' is defined twice "
                                  f"(also in {seen[v.version].file})", "version"))
        seen[v.version] = v
    for prev, nxt in zip(history.versions, history.versions[1:], strict=False):
        if prev.effective_until is None or prev.effective_until > nxt.effective_from:
            until = render(prev.effective_until) if prev.effective_until else "open-ended"
            errors.append(nxt.error(
                f"effective period of '{nxt.id}' version '{nxt.version}' (from {render(nxt.effective_from)}) "
                f"overlaps version '{prev.version}' in {prev.file} (until {until})", "effective_from"))
        if " ".join(prev.reference_time.text.split()) != " ".join(nxt.reference_time.text.split()):
            errors.append(nxt.error(
                f"all versions of '{nxt.id}' must use the same reference_time "
                f"('{prev.reference_time.text}' in {prev.file})", "reference_time"))
    return errors


def _read(path: Path, shown: str) -> bytes:
    """A file's bytes; a file over the size limit is refused without being read."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PolicyLoadError(f"file too large ({size} bytes; at most {MAX_FILE_BYTES})", file=shown, line=1,
                              column=1)
    return path.read_bytes()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.types import Type, schema_to_type
from policy_eval.resources import bundled_policies, bundled_schemas, load_json
from policy_eval.rulebook.policy import PolicyVersion, load_policy_file
from policy_eval.rulebook.policy.versions import PolicyHistory, check_versions
from policy_eval.rulebook.yamlload import MAX_FILE_BYTES, load_yaml

__all__ = ["Rulebook", "PolicyHistory", "load_rulebook", "find_schema_dir", "policy_files", "load_case_schemas"]


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
                  functions: FunctionRegistry | None = None) -> Rulebook:
    """Load and check every policy under ``root`` (default: the bundled rulebook)."""
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
    for path in policy_files(root):
        shown = _display(path)
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
            version = load_policy_file(path, data, positions, case_types, registry)
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
        errors.extend(check_versions(history))
    if errors:
        raise ErrorList(errors)
    return Rulebook(root, schema_path, histories, schemas, registry, "sha256:" + digest.hexdigest())


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

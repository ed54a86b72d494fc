"""A rulebook: every policy version under a folder, checked together.

Input: a policy folder (recursively, ``*.yaml``/``*.yml`` files that have a top-level ``policy:`` key) and a
folder of case schemas (``cases/<kind>.schema.json``). Output: a :class:`Rulebook` indexed by case kind, with
versions of each policy ordered and checked for overlaps, and a content hash recorded in every result.

The content hash is a sha256 over every policy file, every metric-definitions file (top-level ``metrics:``,
e.g. ``policies/metrics/order_metrics.yaml``), the case schemas and the deployment overlay (their paths relative
to their folder, their lengths and their bytes): it does not depend on where the rulebook is, and changes
whenever a file that can change a verdict changes. Every error of every file is collected before anything is
raised. A chain of revisions is at most MAX_REVISIONS deep: each builds every part it inherits.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError, PolicyNameError
from policy_eval.lang.cost import DEFAULT_CEILING
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.types import Type, schema_to_type
from policy_eval.lang.values import SHANGHAI, render
from policy_eval.resources import bundled_policies, bundled_schemas, load_json
from policy_eval.rulebook.errororder import in_order
from policy_eval.rulebook.overlay import Overlay, load_overlay
from policy_eval.rulebook.policy import PolicyVersion, Rule, load_policy_file, prepare
from policy_eval.rulebook.policy.base import Entry, Source
from policy_eval.rulebook.policy.inherit import Layout, layout_of, revise
from policy_eval.rulebook.policy.schema import suggest
from policy_eval.rulebook.policy.versions import PolicyHistory, check_versions
from policy_eval.rulebook.policyfiles import is_test_file, misspelt_policy, unread_files
from policy_eval.rulebook.schemacheck import check_case_schemas
from policy_eval.rulebook.yamlload import MAX_FILE_BYTES, load_yaml

MAX_REVISIONS = 64

__all__ = ["Rulebook", "PolicyHistory", "load_rulebook", "find_schema_dir", "policy_files", "load_case_schemas"]


@dataclass
class Rulebook:
    root: Path
    schema_dir: Path
    policies: dict[str, PolicyHistory]
    case_schemas: dict[str, Any]
    functions: FunctionRegistry
    digest: str
    params_file: str | None = None  # the deployment overlay the parameters' values come from, if any
    newest_only: bool = False  # made by run.diff.latest_only: each policy's newest version, in force always

    def for_kind(self, kind: str) -> list[PolicyHistory]:
        return [p for p in self.policies.values() if p.applies_to == kind]

    def versions(self) -> Iterable[PolicyVersion]:
        for history in self.policies.values():
            yield from history.versions

    def rule(self, rule_id: str, as_of: Any = None) -> Rule:
        """A rule (``policy/rule``) of the version in force at ``as_of`` (default: the latest version)."""
        policy, _, name = rule_id.partition("/")
        history = self.policies.get(policy)
        version = (history.at(as_of) if as_of is not None else history.latest()) if history is not None else None
        for r in version.rules if version is not None else ():
            if r.id == name:
                return r
        raise KeyError(rule_id if version is not None or history is None else f"{rule_id}: no version of {policy} "
                       f"in force at {render(as_of)}")

    def inputs(self, rule_id: str, as_of: Any = None) -> list[str]:
        """The case paths a rule reads in the version in force at ``as_of`` (default: now, Asia/Shanghai, as
        :meth:`policy_eval.api.Rulebook.inputs`), including what the rules it depends on read.
        KeyError: no such rule in that version, or no version in force then."""
        return list(self.rule(rule_id, as_of if as_of is not None else _dt.datetime.now(SHANGHAI)).inputs)


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
    """The case schemas by kind, with the unknown-value convention applied (see :func:`accept_null`)."""
    return {path.name[: -len(".schema.json")]: accept_null(load_json(str(path)))
            for path in _case_schema_files(schema_dir)}


def accept_null(schema: Any) -> Any:
    """Let every optional field outside lists be null: the case record's way to say "unknown".

    One convention for every case kind (docs/policies.md): a key left out means nothing is recorded
    (an event has not happened as of the snapshot); an explicit null means the source does not know.
    Applied when the schemas are loaded, so the schema files state it once, in their descriptions.
    """
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    props = schema.get("properties")
    if isinstance(props, dict):
        required = set(schema.get("required") or ())
        new_props = {}
        for name, sub in props.items():
            sub = accept_null(sub)
            if name not in required and isinstance(sub, dict):
                sub = dict(sub)
                kind = sub.get("type")
                if isinstance(kind, str) and kind != "null":
                    sub["type"] = [kind, "null"]
                elif isinstance(kind, list) and "null" not in kind:
                    sub["type"] = [*kind, "null"]
                if isinstance(sub.get("enum"), list) and None not in sub["enum"]:
                    sub["enum"] = [*sub["enum"], None]  # with a type too: the enum must not refuse the null
                if "const" in sub and sub["const"] is not None:
                    sub["enum"] = [sub.pop("const"), None]
            new_props[name] = sub
        out["properties"] = new_props
    return out


def _hash_file(digest: Any, name: str, raw: bytes) -> None:
    digest.update(f"{name}\0{len(raw)}\0".encode() + raw)


@dataclass
class _Doc:
    """A policy file read, with its schema check done once."""

    path: Path
    shown: str
    raw: bytes
    data: dict[str, Any]
    src: Source
    schema_errors: list[PolicyError]

    @property
    def key(self) -> tuple[str, str] | None:
        meta = self.data.get("policy")
        if isinstance(meta, dict) and isinstance(meta.get("id"), str) and isinstance(meta.get("version"), str):
            return meta["id"], meta["version"]
        return None

    @property
    def revises(self) -> str | None:
        meta = self.data.get("policy")
        rev = meta.get("revises") if isinstance(meta, dict) else None
        return rev if isinstance(rev, str) else None


def load_rulebook(root: Path | str | None = None, *, schema_dir: Path | str | None = None,
                  functions: FunctionRegistry | None = None,
                  params: Path | str | Mapping[str, Any] | None = None,
                  max_cost: int | None = DEFAULT_CEILING, follow_links: bool = False) -> Rulebook:
    """Load and check every policy under ``root`` (default: the bundled rulebook).

    ``params``: a deployment overlay (a file, or a mapping ``{policy: {parameter: value}}``) with
    values for the parameters the texts leave to the platform. ``max_cost``: the ceiling on each
    condition's static cost estimate (docs/language.md, Cost). ``follow_links``: read policy files that
    are (or sit under) symbolic links resolving outside the policy folder, and a ``params`` file linked from
    outside its folder; by default they are refused, each with an error (a link to /proc/self/environ
    would otherwise be read and quoted).
    """
    from policy_eval.expression import default_functions

    root = Path(root) if root is not None else bundled_policies()
    if not root.exists():
        raise PolicyLoadError(f"no such policy folder or file: {root}", file=str(root))
    schema_path = Path(schema_dir) if schema_dir is not None else find_schema_dir(root if root.is_dir() else root.parent)
    if schema_dir is not None and not (schema_path / "cases").is_dir():  # (else: every policy's kind unknown)
        raise PolicyLoadError(f"no such schema folder, or it holds no cases/ folder: {schema_path}", file=str(schema_path))
    registry = functions if functions is not None else default_functions()
    schema_errors = check_case_schemas(_case_schema_files(schema_path), _display)
    if schema_errors:  # policies cannot be checked against schemas that are not valid
        raise ErrorList(in_order(schema_errors))
    schemas = load_case_schemas(schema_path)
    case_types: dict[str, Type] = {k: schema_to_type(s, label=k) for k, s in schemas.items()}
    errors: list[PolicyError] = []
    histories: dict[str, PolicyHistory] = {}
    digest = hashlib.sha256()
    for path in _case_schema_files(schema_path):
        _hash_file(digest, f"schemas/cases/{path.name}", path.read_bytes())
    overlay = load_overlay(params, follow_links=follow_links)
    if overlay.file is not None:
        _hash_file(digest, "params", overlay.raw)
    base = root if root.is_dir() else root.parent
    docs: list[_Doc] = []
    errors.extend(unread_files(root, _display))
    inside = base.resolve()
    if root.is_dir() and not follow_links:
        # sub-folders that are links are not walked (rglob does not follow them); one leading outside
        # the folder is reported rather than silently skipped
        for linked in sorted(p for p in root.rglob("*") if p.is_symlink() and p.is_dir()):
            if not linked.resolve().is_relative_to(inside):
                errors.append(PolicyLoadError("a symbolic link to a folder outside the policy folder; its files "
                                              "are not read", file=_display(linked), line=1, column=1))
    others: list[str] = []  # YAML files that are not policies (tests, other documents)
    read: list[str | None] = [e.file for e in errors]  # the files in the order they are met: errors in that order
    for path in policy_files(root):
        shown = _display(path)
        read.append(shown)
        if not follow_links and path != root and not path.resolve().is_relative_to(inside):
            errors.append(PolicyLoadError(
                "a symbolic link to a file outside the policy folder; refused (--follow-links or "
                "load_rulebook(follow_links=True) reads it)", file=shown, line=1, column=1))
            continue
        try:
            raw = _read(path, shown)
            data, positions = load_yaml(raw, shown)
        except PolicyError as exc:  # (a test file's own errors are for `policy-eval test` to report)
            errors.extend([] if is_test_file(path) else [exc])
            continue
        if isinstance(data, dict) and "metrics" in data and "policy" not in data:
            # metric definitions (docs/metrics.md) change the figures the rules judge: part of the hash
            _hash_file(digest, "policies/" + path.relative_to(base).as_posix(), raw)
            others.append(shown)
            continue
        if not (isinstance(data, dict) and "policy" in data):
            mistake = misspelt_policy(data, positions)
            if mistake is not None:
                errors.append(mistake)
            others.append(shown)
            continue  # a test file or another YAML document
        _hash_file(digest, "policies/" + path.relative_to(base).as_posix(), raw)
        src, found = prepare(data, positions)
        docs.append(_Doc(path, shown, raw, data, src, found))
    resolver = _Resolver(docs)
    built: dict[int, bool] = {}
    for doc in sorted(docs, key=resolver.depth):  # a revised version before its revisions
        layout = resolver.layout(doc)
        if doc.revises is not None and (layout is None or not built.get(id(resolver.base(doc)), False)):
            errors.extend(doc.schema_errors)
            built[id(doc)] = False
            continue  # its base failed (reported there) or the revision could not be resolved (reported)
        key = doc.key
        try:
            version = load_policy_file(doc.path, doc.data, doc.src.pos, case_types, registry,
                                       prepared=(doc.src, doc.schema_errors), layout=layout,
                                       overlay=overlay.for_policy(key[0]) if key else None, max_cost=max_cost)
        except PolicyError as exc:
            errors.extend(exc.errors if isinstance(exc, ErrorList) else [exc])
            built[id(doc)] = False
            continue
        built[id(doc)] = True
        version.digest = hashlib.sha256(doc.raw).hexdigest()[:16]
        history = histories.setdefault(version.id, PolicyHistory(version.id, version.applies_to))
        if version.applies_to != history.applies_to:
            errors.append(version.error(
                f"policy '{version.id}' applies to '{version.applies_to}' here but to '{history.applies_to}' "
                f"in {history.versions[0].file}", "applies_to"))
            continue
        history.versions.append(version)
    errors.extend(resolver.errors)
    failed = {d.key[0] for d in docs if d.key and not built.get(id(d), False)}
    errors.extend(_check_overlay(overlay, histories, {d.key[0] for d in docs if d.key}, failed))
    for history in histories.values():
        errors.extend(check_versions(history))
    if errors:
        raise ErrorList(in_order(errors, read))
    if not histories:  # a wrong folder: every case would be "clean" against no rules
        held = (f": {len(others)} YAML file{'s' if len(others) != 1 else ''} here, none with a top-level 'policy:' "
                "mapping") if others else " (a policy file is YAML with a top-level 'policy:' mapping)"
        raise PolicyLoadError(f"no policy files in {_display(root)}{held}; see docs/policies.md",
                              file=others[0] if others else _display(root), line=1 if others else None,
                              column=1 if others else None)
    return Rulebook(root, schema_path, histories, schemas, registry, "sha256:" + digest.hexdigest(),
                    params_file=overlay.file)


class _Resolver:
    """Versions that revise versions: each file's resolved layout, computed once, errors located."""

    def __init__(self, docs: list[_Doc]) -> None:
        self.by_key = {d.key: d for d in docs if d.key is not None}
        self.errors: list[PolicyError] = []
        self.done: dict[int, Layout | None] = {}
        self.active: set[int] = set()

    def base(self, doc: _Doc) -> _Doc | None:
        key = doc.key
        return self.by_key.get((key[0], doc.revises)) if key is not None and doc.revises is not None else None

    def depth(self, doc: _Doc) -> int:
        seen: set[int] = set()
        while doc.revises is not None and id(doc) not in seen and (base := self.base(doc)) is not None:
            seen.add(id(doc))
            doc = base
        return len(seen)

    def layout(self, doc: _Doc) -> Layout | None:
        if id(doc) in self.done:
            return self.done[id(doc)]
        if doc.revises is None:
            result: Layout | None = layout_of(doc.src)
        elif id(doc) in self.active:
            self.fail(doc, "versions revise each other in a cycle")
            result = None
        else:
            self.active.add(id(doc))
            result = self.revision(doc)
            self.active.discard(id(doc))
        self.done[id(doc)] = result
        return result

    def revision(self, doc: _Doc) -> Layout | None:
        deep = self.depth(doc)
        if deep == MAX_REVISIONS + 1:  # (one error, at the first revision too deep; those above it fail silently)
            self.fail(doc, f"more than {MAX_REVISIONS} revisions in a chain (each builds every part it inherits); "
                      "start a version without 'revises'")
        if doc.schema_errors or deep > MAX_REVISIONS:
            return None
        base = self.base(doc)
        if base is None:
            key = doc.key
            known = sorted(k[1] for k in self.by_key if key is not None and k[0] == key[0])
            others = sorted({k[0] for k in self.by_key if key is not None and k[0] != key[0] and k[1] == doc.revises})
            close = difflib.get_close_matches(key[0], others, n=1) if key is not None else []
            self.fail(doc, f"policy '{key[0] if key else '?'}' has no version '{doc.revises}' to revise "
                      f"(versions: {', '.join(known) or 'none'})"
                      + (f"; did you mean policy id '{close[0]}', which has one?" if close else ""))
            return None
        if base.schema_errors:
            return None
        base_layout = self.layout(base)
        if base_layout is None:
            return None
        layout, errors = revise(base_layout, doc.src)
        self.errors.extend(errors)  # reported; the rest of the revision is still checked
        return layout

    def fail(self, doc: _Doc, message: str) -> None:
        line, column = doc.src.pos.where(("policy", "revises"))
        self.errors.append(PolicyLoadError(message, file=doc.shown, line=line, column=column,
                                           source_line=doc.src.pos.line_text(line)))


def _check_overlay(overlay: Overlay, histories: dict[str, PolicyHistory], ids: set[str],
                   failed: set[str]) -> list[PolicyError]:
    """Every value of the overlay sets a deployment parameter of some version of a known policy (``failed``:
    policies with a version that did not load, which may declare it: its errors are reported already)."""
    errors: list[PolicyError] = []
    for pid, where in overlay.policies.items():
        if pid not in ids:
            errors.append(_at(where, f"no policy '{pid}'{suggest(pid, sorted(ids)) or ' (policies: ' + ', '.join(sorted(ids)) + ')'}", key=True))
            continue
        history = histories.get(pid)
        if history is None:
            continue  # its files have errors, reported already
        for name, entry in overlay.for_policy(pid).items():
            infos = [(v.version, v.param_info[name]) for v in history.versions if name in v.param_info]
            if not infos:
                if pid in failed:
                    continue  # a version that did not load may declare it (a value of the wrong type, say)
                known = sorted({n for v in history.versions for n in v.param_info})
                errors.append(_at(entry, f"policy '{pid}' has no parameter '{name}'{suggest(name, known)}", key=True))
            elif all(i.source == "text" for _, i in infos):  # each version's clause (a revision cites its own)
                said = " | ".join(dict.fromkeys(f"v{ver}: {i.clause or i.file}" if len(infos) > 1 else i.clause or i.file
                                               for ver, i in infos))
                errors.append(_at(entry, f"the source text sets '{name}' of '{pid}' ({said}); a deployment sets "
                                  "only parameters declared without a value", key=True))
    return errors


def _at(entry: Entry, message: str, *, key: bool = False) -> PolicyError:
    pos = entry.src.pos
    line, column = pos.where(entry.path, key=key)
    return PolicyNameError(message, file=pos.file, line=line, column=column, source_line=pos.line_text(line))


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

"""Facts about a policy document for an editor: its errors, and what is at a position.

Input: a policy file's path and (possibly unsaved) text. Output: a :class:`Document` with the same
errors ``check`` gives for that file (YAML, schema, conditions, types), and, for a 0-based (line,
column), what the name there is (:func:`hover`), what may be typed there (:func:`complete`), where a
name is defined (:func:`definition`), and the document's symbols (:func:`symbols`). The language server
(:mod:`policy_eval.lsp`) only turns these into LSP messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_eval.authoring.folder import policy_id, resolve_together, siblings
from policy_eval.authoring.inherited import (
    based_on,
    entry_at,
    inherited_key,
    inherited_rule,
    visible_definitions,
    visible_lets,
    visible_params,
)
from policy_eval.authoring.schemapath import describe, enum_of
from policy_eval.errors import ErrorList, PolicyError
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.types import ANY, Type, schema_to_type
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook.loader import load_case_schemas
from policy_eval.rulebook.policy import PolicyVersion, load_policy_file
from policy_eval.rulebook.yamlload import Positions, load_yaml

__all__ = ["Document", "analyse", "hover", "complete", "definition", "inherited_definition", "symbols", "schema_dir_for",
           "Item"]

_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_RULE_ID = re.compile(r"[\w-]+(?:/[\w-]+)?")  # a rule id (with '-') as named by depends_on or a waiver's rules
KEYWORDS = ("and", "or", "not", "in", "if", "then", "else", "true", "false", "null", "any", "all", "count",
            "sum", "filter", "collect")


@dataclass
class Document:
    file: str
    text: str
    data: Any = None
    positions: Positions | None = None
    case_schema: dict[str, Any] = field(default_factory=dict)
    case_type: Type = ANY
    functions: FunctionRegistry = field(default_factory=FunctionRegistry)
    errors: list[PolicyError] = field(default_factory=list)
    version: PolicyVersion | None = None
    # a revision: the documents of the versions it revises, nearest first, as written, each with its positions
    # and its file (what it inherits when the revision does not load while being typed; where an inherited name
    # is defined: inherited.inherited_key)
    based: list[Any] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @property
    def bases(self) -> list[Any]:
        """The documents of the versions it revises, nearest first, as written."""
        return [data for data, _, _ in self.based]

    def raw(self, *path: Any) -> Any:
        node = self.data
        for p in path:
            try:
                node = node[p]
            except (KeyError, IndexError, TypeError):
                return None
        return node


@dataclass(frozen=True)
class Item:
    """A completion candidate."""

    label: str
    kind: str  # "field", "parameter", "let", "function", "keyword", "value"
    detail: str = ""
    doc: str = ""


def schema_dir_for(path: Path) -> Path:
    """The case schemas a policy file is checked against: the nearest ``schemas/cases`` above it, else bundled."""
    for folder in [path.parent, *path.parent.parents][:5]:
        if (folder / "schemas" / "cases").is_dir():
            return folder / "schemas"
    return bundled_schemas()


def analyse(path: Path, text: str, functions: FunctionRegistry, schema_dir: Path | None = None,
            open_texts: Mapping[str, str] | None = None) -> Document:
    """Load one policy text as ``check`` would, keeping every error and whatever could be read.

    A file with other versions of its policy beside it (or one that revises another) is checked with them,
    as ``check`` checks the folder (:mod:`.folder`); ``open_texts`` (path -> text) are the documents open in
    the editor, read in preference to the files on disk. Only this file's errors are kept."""
    doc = Document(str(path), text, functions=functions)
    try:
        doc.data, doc.positions = load_yaml(text, str(path))
    except PolicyError as exc:
        doc.errors = [exc]
        return doc
    if not (isinstance(doc.data, dict) and "policy" in doc.data):
        return doc
    schemas_at = schema_dir or schema_dir_for(path)
    schemas = load_case_schemas(schemas_at)
    case_types = {k: schema_to_type(s, label=k) for k, s in schemas.items()}
    kind = doc.raw("policy", "applies_to")
    if isinstance(kind, str) and kind in schemas:
        doc.case_schema, doc.case_type = schemas[kind], case_types[kind]
    pid = policy_id(doc.data)
    others = siblings(path, pid, open_texts) if pid is not None else {}
    if others or doc.raw("policy", "revises") is not None:
        doc.errors, doc.version = resolve_together(path, text, others, schemas_at, functions)
        doc.based = based_on(doc.data, others)
        inherited = doc.version.applies_to if doc.version is not None else next(
            (b["policy"]["applies_to"] for b in doc.bases if isinstance(b["policy"].get("applies_to"), str)), None)
        if not doc.case_schema and inherited in schemas:
            # a revision that inherits applies_to: the case fields are those of its kind all the same
            doc.case_schema, doc.case_type = schemas[inherited], case_types[inherited]
        return doc
    try:
        doc.version = load_policy_file(path, doc.data, doc.positions, case_types, functions)
    except ErrorList as exc:
        doc.errors = list(exc.errors)
    except PolicyError as exc:
        doc.errors = [exc]
    return doc


def _word(doc: Document, line: int, column: int) -> tuple[str, str, int, int] | None:
    """(dotted name up to the segment under the cursor, the whole dotted name, start, end) at a place."""
    text = doc.lines[line] if 0 <= line < len(doc.lines) else ""
    for m in _NAME.finditer(text):
        if m.start() <= column <= m.end():
            end = text.find(".", column)
            upto = m.group(0) if end < 0 or end >= m.end() else text[m.start():end]
            return upto, m.group(0), m.start(), m.end()
    return None


def _rule_index(doc: Document, line: int) -> int | None:
    rules = doc.raw("rules")
    if doc.positions is None or not isinstance(rules, list):
        return None
    for i in range(len(rules)):
        node = doc.positions.nodes.get(("rules", i))
        if node is not None and node.start_mark.line <= line <= node.end_mark.line - (node.end_mark.column == 0):
            return i
    return None


def _field_type(doc: Document, path: str) -> Type | None:
    t: Type | None = doc.case_type
    for part in path.split("."):
        if t is None:
            return None
        while t.name == "list" and t.item is not None:
            t = t.item
        t = t.field_type(part)
    return t


def _param_doc(name: str, spec: Any) -> str:
    if not isinstance(spec, dict):
        return f"**parameter** `{name}` = `{spec}`"
    out = [f"**parameter** `{name}`: `{spec.get('type', '?')}`"]
    if "values" in spec and isinstance(spec["values"], dict):
        out.append("| from | value |\n| --- | --- |")
        out.append("\n".join(f"| {k} | `{v}` |" for k, v in spec["values"].items()))
    elif "value" in spec:
        out.append(f"value: `{spec['value']}`")
    if spec.get("clause"):
        out.append(f"clause: {spec['clause']}")
    if spec.get("description"):
        out.append(str(spec["description"]))
    return "\n\n".join(out)


def hover(doc: Document, line: int, column: int) -> str | None:
    """Markdown about the name at a place: parameter, let, function, case field, or the rule itself."""
    found = _word(doc, line, column)
    text = doc.lines[line] if 0 <= line < len(doc.lines) else ""
    entry = entry_at(doc, line)
    rule = doc.raw(*entry) if entry is not None else None
    key = text.strip().split(":")[0].lstrip("- ").strip()
    if isinstance(rule, dict) and key in ("id", "clause", "title") and ":" in text and column > text.find(":") \
            and column < len(text.rstrip()):  # the value of a rule's id, clause or title (any text, e.g. "2.1")
        inherited = inherited_rule(doc, entry)  # (an amendment: what it leaves is the inherited rule's)
        title = rule.get("title", inherited.title if inherited is not None else "")
        clause = rule.get("clause", inherited.clause if inherited is not None else "?")
        return f"**rule** `{rule.get('id')}`: {title}\n\nclause: {clause}" + (
            "\n\n(amended: the keys not written here are inherited)" if inherited is not None else "")
    if found is None:
        return None
    upto, whole, start, end = found
    head = upto.split(".")[0]
    fn = doc.functions.get(head)
    if fn is not None and "." not in upto and text[end:].lstrip().startswith("("):
        return f"```\n{fn.signature()}\n```\n\n{fn.doc}".rstrip()
    params = visible_params(doc)
    if head in params and upto == head:
        return _param_doc(head, params[head])
    lets = visible_lets(doc, entry_at(doc, line))
    if head in lets and upto == head:
        return f"**let** `{head}` = `{' '.join(lets[head].split())}`"
    shared = visible_definitions(doc)
    if head in shared and upto == head:
        return f"**definition** `{head}` = `{' '.join(shared[head].split())}`"
    t = _field_type(doc, upto)
    if t is not None:
        out = f"**case field** `{upto}`: `{t}`"
        desc = describe(doc.case_schema, upto)
        values = enum_of(doc.case_schema, upto)
        if desc:
            out += f"\n\n{desc}"
        if values:
            out += "\n\none of: " + ", ".join(f"`{v}`" for v in values)
        return out
    return None


def complete(doc: Document, line: int, column: int) -> list[Item]:
    """What may be typed at a place: fields after '.', enum values after '== "', else names."""
    text = doc.lines[line] if 0 <= line < len(doc.lines) else ""
    before = text[:column]
    m = re.search(r"([A-Za-z_][\w.]*?)\s*(?:==|!=)\s*\"(\w*)$", before)
    if m:
        return [Item(v, "value", f"{m.group(1)} value") for v in enum_of(doc.case_schema, m.group(1)) or []]
    m = re.search(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.(\w*)$", before)
    if m:
        t = _field_type(doc, m.group(1))
        while t is not None and t.name == "list" and t.item is not None:
            t = t.item
        if t is None or t.fields is None:
            return []
        return [Item(k, "field", str(ft), describe(doc.case_schema, f"{m.group(1)}.{k}") or "")
                for k, ft in t.fields]
    items = [Item(k, "field", str(ft), describe(doc.case_schema, k) or "") for k, ft in doc.case_type.fields or ()]
    items += [Item(k, "parameter", str(v.get("type", "")) if isinstance(v, dict) else str(v),
                   _param_doc(k, v)) for k, v in visible_params(doc).items()]
    items += [Item(k, "let", " ".join(v.split())) for k, v in visible_lets(doc, entry_at(doc, line)).items()]
    items += [Item(k, "definition", " ".join(v.split())) for k, v in visible_definitions(doc).items()]
    items += [Item(fn.name, "function", fn.signature(), fn.doc) for fn in doc.functions]
    items += [Item(k, "keyword") for k in KEYWORDS]
    return items


def definition(doc: Document, line: int, column: int) -> tuple[int, int] | None:
    """0-based (line, column) where the parameter, let, policy-level definition or rule named at a place is
    defined (a rule's own let before a definition of the same name)."""
    if doc.positions is None:
        return None
    rule_i = _rule_index(doc, line)
    named = _rule_named(doc, line, column)
    if named is not None and named != rule_i:
        ln, col = doc.positions.where(("rules", named, "id"), key=False)
        return ln - 1, col - 1
    found = _word(doc, line, column)
    if found is None:
        return None
    head = found[0].split(".")[0]
    if found[0] != head:
        return None
    target: tuple[Any, ...] | None = None
    if rule_i is not None and isinstance(doc.raw("rules", rule_i, "let"), dict) and head in doc.raw("rules", rule_i, "let"):
        target = ("rules", rule_i, "let", head)
    elif isinstance(doc.raw("definitions"), dict) and head in doc.raw("definitions"):
        target = ("definitions", head)
    elif isinstance(doc.raw("params"), dict) and head in doc.raw("params"):
        target = ("params", head)
    else:
        for j, rule in enumerate(doc.raw("rules") or []):
            if isinstance(rule, dict) and rule.get("id") == found[1] and j != rule_i:
                target = ("rules", j, "id")
    if target is None:
        return None
    ln, col = doc.positions.where(target, key=target[-1] != "id")
    return ln - 1, col - 1


def inherited_definition(doc: Document, line: int, column: int) -> tuple[str, int, int] | None:
    """Where the parameter, definition or (in an amendment) let named at a place is defined when a version this
    revision revises defines it: (that file, 0-based line and column of its key)."""
    found = _word(doc, line, column)
    if found is None or "." in found[0] or doc.positions is None:
        return None
    at = inherited_key(doc, found[0], entry_at(doc, line))
    return (str(at[0]), at[1] - 1, at[2] - 1) if at is not None else None


def _rule_named(doc: Document, line: int, column: int) -> int | None:
    """The index of the rule whose id (``rule-id`` or ``policy/rule-id``, as ``depends_on`` and a waiver's
    ``rules:`` name it) is at a place, when the id has a '-' (a name in a condition cannot)."""
    text = doc.lines[line] if 0 <= line < len(doc.lines) else ""
    for m in _RULE_ID.finditer(text):
        if m.start() <= column <= m.end() and "-" in m.group(0):
            policy, _, name = m.group(0).rpartition("/")
            if policy and policy != doc.raw("policy", "id"):
                return None
            for j, rule in enumerate(doc.raw("rules") or []):
                if isinstance(rule, dict) and rule.get("id") == name:
                    return j
    return None


def symbols(doc: Document) -> list[tuple[str, str, int, int, list[tuple[str, str, int, int]]]]:
    """(name, kind, start line, end line, children) for the policy, its parameters, its policy-level
    definitions and its rules with their lets (0-based lines)."""
    if doc.positions is None or not isinstance(doc.data, dict):
        return []
    pos = doc.positions

    def span(path: tuple[Any, ...]) -> tuple[int, int]:
        node = pos.nodes.get(path)
        if node is None:
            return pos.where(path, key=True)[0] - 1, pos.where(path, key=True)[0] - 1
        return pos.where(path, key=True)[0] - 1, max(node.end_mark.line - (node.end_mark.column == 0), node.start_mark.line)

    out: list[tuple[str, str, int, int, list[tuple[str, str, int, int]]]] = []
    if isinstance(doc.raw("policy"), dict):
        pol = doc.raw("policy")
        out.append((f"{pol.get('id')} v{pol.get('version')}", "policy", *span(("policy",)), []))
    for name in doc.raw("params") or {}:
        out.append((str(name), "parameter", *span(("params", name)), []))
    shared = doc.raw("definitions")
    for name in shared if isinstance(shared, dict) else ():
        out.append((str(name), "definition", *span(("definitions", name)), []))
    for section in ("rules", "amend"):
        entries = doc.raw(section)
        for i, rule in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(rule, dict):
                continue
            lets = rule.get("let")
            if not isinstance(lets, dict):
                lets = {}
            children = [(str(k), "let", *span((section, i, "let", k))) for k in lets]
            name = str(rule.get("id")) + (" (amended)" if section == "amend" else "")
            out.append((name, "rule", *span((section, i)), children))
    return out

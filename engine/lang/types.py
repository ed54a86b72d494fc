"""Static types of the condition language and their derivation from JSON Schema.

Input: a case kind's JSON Schema. Output: a :class:`Type` tree the checker
uses to resolve field paths and operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Type",
    "BOOL",
    "INT",
    "DECIMAL",
    "STRING",
    "MONEY",
    "DATE",
    "DATETIME",
    "DURATION",
    "NULL",
    "ANY",
    "list_of",
    "record",
    "MATCH",
    "is_number",
    "is_ordered",
    "schema_to_type",
    "parse_type_name",
    "unify",
]


@dataclass(frozen=True)
class Type:
    """A type: a scalar name, ``list`` with an item type, or ``record`` with fields."""

    name: str
    item: Type | None = None
    fields: tuple[tuple[str, Type], ...] | None = field(default=None, compare=False)
    label: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.name == "list":
            return f"list<{self.item}>"
        if self.name == "record":
            return self.label or "record"
        return self.name

    def field_type(self, name: str) -> Type | None:
        if self.fields is None:
            return None
        for key, typ in self.fields:
            if key == name:
                return typ
        return None

    def field_names(self) -> list[str]:
        return [k for k, _ in self.fields or ()]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Type):
            return NotImplemented
        if self.name == "record" and other.name == "record":
            return self.fields == other.fields if self.fields is not None and other.fields is not None \
                else self is other
        return self.name == other.name and self.item == other.item

    def __hash__(self) -> int:
        return hash((self.name, self.item))


BOOL = Type("bool")
INT = Type("int")
DECIMAL = Type("decimal")
STRING = Type("string")
MONEY = Type("money")
DATE = Type("date")
DATETIME = Type("datetime")
DURATION = Type("duration")
NULL = Type("null")
ANY = Type("any")
_SCALARS = {t.name: t for t in (BOOL, INT, DECIMAL, STRING, MONEY, DATE, DATETIME, DURATION, NULL, ANY)}


def list_of(item: Type) -> Type:
    return Type("list", item=item)


def record(fields: dict[str, Type], label: str = "record") -> Type:
    return Type("record", fields=tuple(fields.items()), label=label)


MATCH = record({"kind": STRING, "text": STRING, "start": INT, "end": INT}, label="match")


def is_number(t: Type) -> bool:
    return t.name in ("int", "decimal")


def is_ordered(t: Type) -> bool:
    return t.name in ("int", "decimal", "money", "date", "datetime", "duration", "string")


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two branches/items, or None if there is none."""
    if a == b:
        return a
    if a.name == "any" or a.name == "null":
        return b
    if b.name == "any" or b.name == "null":
        return a
    if is_number(a) and is_number(b):
        return DECIMAL
    if a.name == "list" and b.name == "list" and a.item is not None and b.item is not None:
        item = unify(a.item, b.item)
        return list_of(item) if item is not None else None
    return None


def parse_type_name(text: str) -> Type:
    """``"duration"`` → DURATION, ``"list<string>"`` → list_of(STRING)."""
    text = text.strip()
    if text.startswith("list<") and text.endswith(">"):
        return list_of(parse_type_name(text[5:-1]))
    if text in _SCALARS and text not in ("any",):
        return _SCALARS[text]
    if text == "match":
        return MATCH
    raise ValueError(f"unknown type {text!r} (expected one of: {', '.join(sorted(_SCALARS))}, list<T>)")


_MAX_SCHEMA_DEPTH = 32


def schema_to_type(schema: dict[str, Any], root: dict[str, Any] | None = None, label: str = "case",
                   _depth: int = 0) -> Type:
    """Derive the language type of a JSON Schema node (see docs/language.md)."""
    root = root if root is not None else schema
    if _depth > _MAX_SCHEMA_DEPTH:
        return ANY
    if "$ref" in schema:
        ref = schema["$ref"]
        if isinstance(ref, str) and ref.startswith("#/"):
            node: Any = root
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            return schema_to_type(node, root, label, _depth + 1)
        return ANY
    xtype = schema.get("x-policy-type")
    if xtype:
        return parse_type_name(str(xtype))
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [schema_to_type(s, root, label, _depth + 1) for s in schema[combinator]]
            options = [o for o in options if o.name != "null"]
            if options and all(o == options[0] for o in options):
                return options[0]
            return ANY
    typ = schema.get("type")
    if isinstance(typ, list):
        non_null = [t for t in typ if t != "null"]
        typ = non_null[0] if len(non_null) == 1 else None
    fmt = schema.get("format")
    if typ == "string":
        if fmt == "date-time":
            return DATETIME
        if fmt == "date":
            return DATE
        return STRING
    if typ == "integer":
        return INT
    if typ == "number":
        return DECIMAL
    if typ == "boolean":
        return BOOL
    if typ == "array":
        items = schema.get("items")
        return list_of(schema_to_type(items, root, label, _depth + 1) if isinstance(items, dict) else ANY)
    if typ == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return record(
            {k: schema_to_type(v, root, f"{label}.{k}", _depth + 1) for k, v in props.items()
             if isinstance(v, dict)},
            label=label,
        )
    if "const" in schema and isinstance(schema["const"], str):
        return STRING
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"] if v is not None):
        return STRING  # (None: an optional field's "unknown", added by the loader)
    return ANY

"""Cell conversion shared by the loaders: times, money, yes/no, JSON, and the conversion a case schema asks for."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = ["normalize_datetime", "normalize_money"]

# --- value conversion ---------------------------------------------------------------------------------

_DT = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def normalize_datetime(text: str, *, date_only: bool = False) -> str:
    """``2024/10/1 9:05`` → ``2024-10-01T09:05:00+08:00``; text that does not look like a time is returned as is.

    No offset means Asia/Shanghai, written out as ``+08:00``. A date without
    a time becomes ``YYYY-MM-DD`` (which the engine reads as 00:00 of that
    day in a date-time field). With ``date_only`` a value that has a time is
    returned as is, so that validation rejects it.
    """
    m = _DT.match(text.strip())
    if not m:
        return text
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    day = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
    if hh is None:
        return day
    if date_only:
        return text
    if tz is None:
        tz = "+08:00"
    elif tz != "Z" and ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    return f"{day}T{int(hh):02d}:{mi}:{ss or '00'}{frac or ''}{tz}"


_MONEY = re.compile(r"^(-?\d+(?:\.\d+)?)(?:\s*([A-Z]{3}))?$")


def normalize_money(text: str) -> str:
    """``¥1,299.9`` / ``1299.90元`` / ``59.9 CNY`` → ``1299.90`` / ``59.90 CNY``; other text unchanged."""
    raw = str(text).strip().replace(",", "").replace("，", "")
    for sym in ("¥", "￥", "RMB"):
        if raw.startswith(sym):
            raw = raw[len(sym):].strip()
    if raw.endswith("元"):
        raw = raw[:-1].strip()
    m = _MONEY.match(raw)
    if not m:
        return str(text)
    amount = Decimal(m.group(1))
    if amount == amount.quantize(Decimal("0.01")):
        amount = amount.quantize(Decimal("0.01"))
    currency = m.group(2)
    return f"{amount}" if currency is None else f"{amount} {currency}"


_TRUE = {"true", "1", "yes", "y", "t", "是", "有", "√", "✓"}
_FALSE = {"false", "0", "no", "n", "f", "否", "无", "×"}


def _unguard(cell: str) -> str:
    """Remove spreadsheet guards: ``="0123"``, a leading ``'`` or tab before digits, surrounding spaces."""
    text = cell.strip()
    if len(text) >= 3 and text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    elif len(text) >= 2 and text[0] == "'" and text[1].isdigit():
        text = text[1:]
    return text


class _Bad(ValueError):
    pass


def _convert(value: Any, kind: str) -> Any:
    """Convert one cell to the case value ``kind`` wants; raise ``_Bad`` with a reason."""
    if not isinstance(value, str):
        if kind in ("int",) and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "decimal" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return value
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind in ("json",) and isinstance(value, (list, dict)):
            return value
        if kind == "money" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return normalize_money(str(value))
        value = str(value)
    if kind == "str":
        return value
    if kind == "int":
        text = value.replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise _Bad(f"{value!r} is not a whole number")
        return int(text)
    if kind == "decimal":
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            raise _Bad(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise _Bad(f"{value!r} is not a finite number")
        return number
    if kind == "bool":
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _Bad(f"{value!r} is not a yes/no value (true/false, 1/0, yes/no, 是/否)")
    if kind == "json":
        try:
            return json.loads(value, parse_float=Decimal)
        except ValueError as exc:
            raise _Bad(f"not valid JSON ({exc})") from None
    if kind == "money":
        return normalize_money(value)
    if kind == "money_number":
        text = normalize_money(value)
        try:
            return Decimal(text)
        except InvalidOperation:
            raise _Bad(f"{value!r} is not an amount") from None
    if kind == "datetime":
        return normalize_datetime(value)
    if kind == "date":
        return normalize_datetime(value, date_only=True)
    raise _Bad(f"unknown conversion {kind!r}")


_TYPE_ALIASES = {"str": "str", "string": "str", "int": "int", "integer": "int", "decimal": "decimal",
                 "number": "decimal", "bool": "bool", "boolean": "bool", "json": "json", "money": "money",
                 "datetime": "datetime", "date-time": "datetime", "date": "date"}


def _schema_kind(schema: Mapping[str, Any] | None, root: Mapping[str, Any] | None) -> str | None:
    """The conversion a JSON Schema node asks for (None: not known, keep the text)."""
    if not isinstance(schema, Mapping):
        return None
    for _ in range(16):
        ref = schema.get("$ref")
        if not (isinstance(ref, str) and ref.startswith("#/") and root is not None):
            break
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        schema = node
    typ = schema.get("type")
    if isinstance(typ, list):
        non_null = [t for t in typ if t != "null"]
        typ = non_null[0] if len(non_null) == 1 else None
    if schema.get("x-policy-type") == "money":
        return "money_number" if typ in ("number", "integer") else "money"
    if typ == "string":
        return {"date-time": "datetime", "date": "date"}.get(str(schema.get("format")), "str")
    return {"integer": "int", "number": "decimal", "boolean": "bool", "array": "json", "object": "json"}.get(
        str(typ)) if typ else None


def _schema_at(schema: Mapping[str, Any] | None, path: list[str]) -> Mapping[str, Any] | None:
    node: Any = schema
    root = schema
    for part in path:
        for _ in range(16):
            ref = node.get("$ref") if isinstance(node, Mapping) else None
            if not (isinstance(ref, str) and ref.startswith("#/")):
                break
            target: Any = root
            for seg in ref[2:].split("/"):
                target = target.get(seg, {}) if isinstance(target, Mapping) else {}
            node = target
        props = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(props, Mapping) or part not in props:
            return None
        node = props[part]
    return node if isinstance(node, Mapping) else None


class _SchemaSource:
    """Case schemas by kind: a given schema, a folder, or the bundled ones (read once)."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.fixed = options.get("schema") if isinstance(options.get("schema"), Mapping) else None
        self.folder = options.get("schemas")
        self._by_kind: dict[str, Mapping[str, Any] | None] = {}

    def get(self, kind: Any) -> Mapping[str, Any] | None:
        if self.fixed is not None:
            return self.fixed
        if not isinstance(kind, str) or not re.fullmatch(r"[a-z0-9_]+", kind):
            return None
        if kind not in self._by_kind:
            from policy_eval.resources import bundled_schemas

            folder = Path(str(self.folder)) if self.folder else bundled_schemas()
            path = folder / "cases" / f"{kind}.schema.json"
            try:
                with open(path, encoding="utf-8") as fh:
                    self._by_kind[kind] = json.load(fh)
            except (OSError, ValueError):
                self._by_kind[kind] = None
        return self._by_kind[kind]


def _set_path(case: dict[str, Any], path: list[str], value: Any) -> None:
    node = case
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _json_path(path: list[str]) -> str:
    return "$." + ".".join(path) if path else "$"

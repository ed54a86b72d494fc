"""The ``csv`` loader: delimited rows → cases through a column mapping (see the package documentation)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import CaseError
from policy_eval.plugins.loaders.convert import (
    _TYPE_ALIASES,
    _Bad,
    _convert,
    _json_path,
    _schema_at,
    _schema_kind,
    _SchemaSource,
    _set_path,
    _unguard,
)
from policy_eval.plugins.loaders.text import MAX_CELL, Loaded, _csv_rows, text_lines

__all__ = ["load_csv"]

# --- csv ------------------------------------------------------------------------------------------------

def _read_mapping(spec: Any) -> dict[str, str]:
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {str(k): str(v) for k, v in spec.items()}
    path = Path(str(spec))
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from None
    else:
        data = json.loads(text)
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: a column mapping must be an object of column → case path")
    return {str(k): str(v) for k, v in data.items()}


def _target(spec: str) -> tuple[list[str], str | None]:
    """``"order.paid_amount:money"`` → (["order", "paid_amount"], "money")."""
    path, _, typ = spec.strip().partition(":")
    forced = _TYPE_ALIASES.get(typ.strip().lower()) if typ else None
    if typ and forced is None:
        raise ValueError(f"unknown type {typ!r} in {spec!r} (use one of {', '.join(sorted(set(_TYPE_ALIASES)))})")
    parts = path.strip().split(".")
    if not parts or any(not p for p in parts):
        raise ValueError(f"not a dotted case path: {spec!r}")
    return parts, forced



def load_csv(stream: IO[bytes], source: str = "<input>", options: Mapping[str, Any] | None = None) -> Loaded:
    """Delimited rows → cases through a column mapping (see the module documentation)."""
    opts = dict(options or {})
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL))
    try:
        mapping = _read_mapping(opts.get("mapping"))
        targets = {col: _target(spec) for col, spec in mapping.items()}
    except (OSError, ValueError) as exc:
        yield 0, CaseError(f"csv loader: bad 'mapping' option: {exc}", source=source, record=None)
        return
    empty = set(opts.get("empty") or [""])
    kind_default = opts.get("kind")
    defaults = opts.get("defaults") or {}
    schemas = _SchemaSource(opts)
    delimiter = str(opts.get("delimiter") or ",")
    if delimiter in ("tab", "\\t"):
        delimiter = "\t"
    if len(delimiter) != 1:
        yield 0, CaseError(f"csv loader: the delimiter must be one character, got {delimiter!r}", source=source,
                           record=None)
        return
    rows = _csv_rows(text_lines(stream, str(opts.get("encoding") or "auto")), delimiter, source)
    header: list[str] | None = None
    columns: list[tuple[int, str, list[str], str | None]] = []
    try:
        for line, row in rows:
            if isinstance(row, CaseError):
                yield line, row
                if header is None:
                    return
                continue
            if header is None:
                if not any(cell.strip() for cell in row):
                    continue
                header = [h.strip().lstrip("\ufeff") for h in row]
                dup = sorted({h for h in header if h and header.count(h) > 1})
                if dup:
                    yield line, CaseError(f"duplicate column(s) in the header: {', '.join(dup)}", source=source,
                                          record=line)
                    return
                try:
                    columns = _columns(header, targets)
                except ValueError as exc:
                    yield line, CaseError(f"csv loader: {exc}", source=source, record=line)
                    return
                missing = sorted(set(targets) - set(header))
                if missing and not columns:
                    yield line, CaseError(f"none of the mapped columns is in the header (missing: "
                                          f"{', '.join(missing)})", source=source, record=line)
                    return
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                yield line, CaseError(f"row has {len(row)} cells but the header has {len(header)} columns",
                                      source=source, record=line)
                continue
            yield line, _csv_case(row, columns, empty, kind_default, defaults, schemas, source, line)
    except UnicodeDecodeError as exc:
        yield 0, CaseError(
            f"cannot decode the file ({exc.encoding}: {exc.reason}); pass the 'encoding' option",
            source=source, record=None)


def _columns(header: list[str], targets: dict[str, tuple[list[str], str | None]]
             ) -> list[tuple[int, str, list[str], str | None]]:
    out = []
    for i, name in enumerate(header):
        if not name:
            continue
        if targets:
            if name not in targets:
                continue
            path, forced = targets[name]
        else:
            path, forced = _target(name)
        out.append((i, name, path, forced))
    return out


def _csv_case(row: list[str], columns: list[tuple[int, str, list[str], str | None]], empty: set[str],
              kind_default: Any, defaults: Mapping[str, Any], schemas: _SchemaSource, source: str,
              line: int) -> dict[str, Any] | CaseError:
    cells: list[tuple[str, list[str], str | None, str]] = []
    kind = kind_default
    for i, name, path, forced in columns:
        raw = row[i] if i < len(row) else ""
        text = _unguard(raw)
        if text in empty or raw in empty:
            continue
        if path == ["kind"]:
            kind = text
            continue
        cells.append((name, path, forced, text))
    if not kind:
        return CaseError("no case kind: give the 'kind' option or map a column to 'kind'", source=source,
                         record=line, json_path="$.kind")
    case: dict[str, Any] = {"kind": kind}
    schema = schemas.get(kind)
    for dotted, value in defaults.items():
        _set_path(case, str(dotted).split("."), value)
    for name, path, forced, text in cells:
        conv = forced or _schema_kind(_schema_at(schema, path), schema) or "str"
        try:
            _set_path(case, path, _convert(text, conv))
        except _Bad as exc:
            return CaseError(f"column {name!r}: {exc}", source=source, record=line, json_path=_json_path(path))
    return case

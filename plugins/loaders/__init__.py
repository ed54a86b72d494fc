"""Built-in streaming case loaders: ``csv`` and ``pdd-after-sale``.

A loader turns a binary stream into ``(record_number, case_dict_or_CaseError)``
pairs, lazily: one row is read, converted and handed on before the next is
read, so exports of any size stream in bounded memory. A row that cannot be
converted becomes a :class:`~policy_eval.errors.CaseError` naming the source,
the line and the JSON path of the field, and the next row follows.

``csv``
    A delimited file with a header row. ``options``:

    * ``mapping``: CSV column → dotted case path (``"订单号": "order.id"``),
      as a dict or the path of a JSON/YAML file holding one. A path may end
      in ``:TYPE`` (``str``, ``int``, ``decimal``, ``bool``, ``json``,
      ``money``, ``datetime``, ``date``) to force a conversion. Without a
      mapping every header is itself a dotted path (``order.id``); with one,
      unmapped columns are ignored.
    * ``kind``: the case kind of every row (else a column mapped to ``kind``).
    * ``defaults``: dotted path → value for fields no column fills.
    * ``schema`` (a JSON Schema dict) or ``schemas`` (a folder holding
      ``cases/<kind>.schema.json``); default: the bundled case schemas.
      Cells are converted as the kind's schema wants them: ``integer`` →
      int, ``number`` → exact Decimal, ``boolean`` → bool (true/false, 1/0,
      yes/no, 是/否), ``date-time`` → ISO 8601 (``2024-10-01 09:30`` and
      ``2024/10/01 09:30:00`` are accepted; no offset means +08:00),
      ``x-policy-type: money`` → ``"59.90"`` (``¥``, ``元`` and thousands
      separators removed), arrays and objects → JSON text; everything else
      stays a string, so ``订单号 000123`` keeps its zeros.
    * ``delimiter`` (default ``,``), ``encoding`` (default ``auto``: UTF-8,
      with or without BOM, else GB18030, as spreadsheet exports in China
      often are), ``empty`` (cell texts that mean "absent"; default ``[""]``).

    An empty cell leaves the field out (absent = unknown, or "has not
    happened", per the case conventions). Spreadsheet guards such as
    ``="240101-0001"`` or a leading ``'`` or tab before a long number are
    removed.

``pdd-after-sale``
    A Pinduoduo merchant-backend after-sale export (售后列表导出), as CSV
    (UTF-8 or GB18030) or JSON (an array, or one object per line) with the
    Chinese column names, mapped to the ``after_sale`` case
    (``schemas/cases/after_sale.schema.json``). See :data:`PDD_COLUMNS`
    for the columns understood. Every case gets ``source: platform_export``
    and ``case_id`` ``PDD-<售后单号>``; times without an offset are
    Asia/Shanghai; 售后类型 仅退款/退货退款 map to ``refund_only`` /
    ``return_refund`` (换货/补寄/维修 rows are rejected: they are not
    after-sale refund cases); 售后状态 maps to ``request.status``; a
    商家处理结果 of 系统默认同意 (a system agreement) is not a merchant
    response and leaves ``merchant_response`` out. READING: without an
    订单确认时间 column, 成团时间 is also ``order.confirmed_at`` (a 拼多多
    order is confirmed when its group succeeds); option
    ``confirmed_at_from_group: false`` turns that off. ``options``:
    ``snapshot_at`` (the export time, when the file has no 导出时间
    column), ``store_id``, ``case_id_prefix`` (default ``PDD-``),
    ``encoding``, ``delimiter``.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import CaseError
from policy_eval.plugins.hookspecs import hookimpl

__all__ = ["policy_eval_case_loaders", "load_csv", "load_pdd_after_sale", "PDD_COLUMNS", "text_lines",
           "normalize_datetime", "normalize_money", "Loaded"]

Loaded = Iterator[tuple[int, "dict[str, Any] | CaseError"]]

_CHUNK = 1 << 16
MAX_CELL = 1 << 20


# --- text: decoding streams lazily -----------------------------------------------------------------------

def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def text_lines(stream: IO[bytes], encoding: str = "auto") -> Iterator[str]:
    """Decode a binary stream lazily into lines (line ends kept), chunk by chunk.

    ``encoding="auto"`` picks UTF-8 (BOM or not) when the first 64 KiB are
    valid UTF-8, else GB18030. A decoding error raises ``UnicodeDecodeError``.
    """
    head = stream.read(_CHUNK)
    if isinstance(head, str):  # a text stream was passed after all
        raise TypeError("loaders read binary streams (open the file with 'rb')")
    enc = _detect_encoding(head) if encoding in ("auto", "", None) else encoding
    decoder = codecs.getincrementaldecoder(enc)()
    pending = ""
    chunk = head
    while True:
        final = not chunk
        pending += decoder.decode(chunk, final=final)
        if pending:
            lines = pending.splitlines(keepends=True)
            # keep an unterminated last line (and a trailing '\r' that may precede '\n') for the next chunk
            if not final and lines and (not lines[-1].endswith(("\n", "\r")) or lines[-1].endswith("\r")):
                pending = lines.pop()
            else:
                pending = ""
            yield from lines
        if final:
            if pending:
                yield pending
            return
        chunk = stream.read(_CHUNK)


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


def _csv_rows(lines: Iterable[str], delimiter: str, source: str) -> Iterator[tuple[int, list[str] | CaseError]]:
    """Rows with the line each starts on; a malformed row is a CaseError and reading goes on."""
    reader = csv.reader(lines, delimiter=delimiter)
    last = 0
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = reader.line_num
            yield start, CaseError(f"malformed CSV: {exc}", source=source, record=start)
            continue
        last = reader.line_num
        yield start, row


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


# --- Pinduoduo after-sale export ----------------------------------------------------------------------

#: Column of a 拼多多 售后 export → (after_sale case path, conversion). Several spellings map to one field.
PDD_COLUMNS: dict[str, tuple[str, str]] = {
    "订单号": ("order.id", "str"), "订单编号": ("order.id", "str"),
    "售后单号": ("request.id", "str"), "售后编号": ("request.id", "str"), "售后单编号": ("request.id", "str"),
    "店铺ID": ("order.store_id", "str"), "店铺id": ("order.store_id", "str"),
    "商品名称": ("order.goods_title", "str"), "商品标题": ("order.goods_title", "str"),
    "商品类目": ("order.category", "str"), "类目": ("order.category", "str"),
    "成团时间": ("order.group_success_at", "datetime"), "拼单成功时间": ("order.group_success_at", "datetime"),
    "订单确认时间": ("order.confirmed_at", "datetime"),
    "承诺发货时间": ("order.promised_ship_by", "datetime"),
    "发货时间": ("order.shipped_at", "datetime"),
    "确认收货时间": ("order.received_at", "datetime"), "收货时间": ("order.received_at", "datetime"),
    "承诺售后天数": ("order.promised_after_sale_days", "int"),
    "售后有效期(天)": ("order.promised_after_sale_days", "int"),
    "实付金额": ("order.paid_amount", "money"), "用户实付金额": ("order.paid_amount", "money"),
    "订单实付金额": ("order.paid_amount", "money"),
    "申请时间": ("request.submitted_at", "datetime"), "售后申请时间": ("request.submitted_at", "datetime"),
    "售后类型": ("request.type", "type"),
    "售后状态": ("request.status", "status"),
    "售后原因": ("request.reason", "str"), "申请原因": ("request.reason", "str"),
    "退款原因": ("request.reason", "str"),
    "退款金额": ("request.refund_amount", "money"), "申请退款金额": ("request.refund_amount", "money"),
    "商家处理时间": ("request.merchant_response.at", "datetime"),
    "商家处理结果": ("request.merchant_response.action", "response"),
    "商家备注": ("request.merchant_response.note", "str"), "拒绝原因": ("request.merchant_response.note", "str"),
    "平台缩短处理时限": ("request.platform_shortened_deadline", "datetime"),
    "买家退货时间": ("request.return.shipped_at", "datetime"), "退货时间": ("request.return.shipped_at", "datetime"),
    "退货快递单号": ("request.return.tracking_number", "str"),
    "退货物流单号": ("request.return.tracking_number", "str"),
    "退货物流公司": ("request.return.carrier", "str"), "退货快递公司": ("request.return.carrier", "str"),
    "商家收货后处理时间": ("request.merchant_after_return.at", "datetime"),
    "商家收货后处理结果": ("request.merchant_after_return.action", "after_return"),
    "退款成功时间": ("request.refund_succeeded_at", "datetime"), "退款时间": ("request.refund_succeeded_at", "datetime"),
    "撤销时间": ("request.withdrawn_at", "datetime"), "买家撤销时间": ("request.withdrawn_at", "datetime"),
    "导出时间": ("snapshot_at", "datetime"),
}

PDD_TYPES = {"仅退款": "refund_only", "退货退款": "return_refund", "退款退货": "return_refund"}
PDD_OTHER_TYPES = {"换货", "补寄", "维修", "换新"}
PDD_STATUSES = {
    "待商家处理": "pending_merchant", "待处理": "pending_merchant",
    "待买家退货": "awaiting_return", "等待买家退货": "awaiting_return", "商家同意退货": "awaiting_return",
    "买家已退货": "awaiting_merchant_after_return", "待商家收货": "awaiting_merchant_after_return",
    "买家已退货,待商家处理": "awaiting_merchant_after_return",
    "买家已退货，待商家处理": "awaiting_merchant_after_return",
    "商家已拒绝": "merchant_rejected", "商家拒绝": "merchant_rejected", "驳回": "merchant_rejected",
    "平台介入中": "platform_intervention", "平台处理中": "platform_intervention", "平台介入": "platform_intervention",
    "退款中": "refunding",
    "退款成功": "refund_succeeded", "已退款": "refund_succeeded",
    "买家已撤销": "withdrawn", "已撤销": "withdrawn", "用户撤销": "withdrawn",
    "售后关闭": "closed", "已关闭": "closed", "售后取消": "closed",
}
PDD_RESPONSES = {"同意": "agree", "已同意": "agree", "同意退款": "agree", "同意退货": "agree",
                 "拒绝": "reject", "已拒绝": "reject", "拒绝退款": "reject", "驳回": "reject", "商家拒绝": "reject"}
#: Agreements made by the system, not by the merchant: no merchant_response (see the after_sale schema).
PDD_SYSTEM_RESPONSES = {"系统默认同意", "超时自动同意", "系统自动同意", "超时默认同意", "平台同意"}
PDD_AFTER_RETURN = {"确认退款": "refund", "同意退款": "refund", "退款": "refund", "拒绝退款": "reject",
                    "拒绝": "reject"}
PDD_EMPTY = {"", "-", "--", "—", "/", "无", "暂无", "null", "NULL", "None"}


def _pdd_value(name: str, conv: str, text: str) -> Any:
    if conv == "type":
        if text in PDD_TYPES:
            return PDD_TYPES[text]
        if text in PDD_OTHER_TYPES:
            raise _Bad(f"{text!r} requests are not after_sale cases (only 仅退款 and 退货退款 are); "
                       "filter them out of the export")
        raise _Bad(f"unknown 售后类型 {text!r} (known: {', '.join(PDD_TYPES)})")
    if conv == "status":
        key = text.replace(" ", "")
        if key in PDD_STATUSES:
            return PDD_STATUSES[key]
        raise _Bad(f"unknown 售后状态 {text!r} (known: {', '.join(sorted(set(PDD_STATUSES)))})")
    if conv == "response":
        if text in PDD_RESPONSES:
            return PDD_RESPONSES[text]
        raise _Bad(f"unknown 商家处理结果 {text!r} (known: {', '.join(PDD_RESPONSES)}; system agreements such as "
                   f"系统默认同意 are not merchant responses)")
    if conv == "after_return":
        if text in PDD_AFTER_RETURN:
            return PDD_AFTER_RETURN[text]
        raise _Bad(f"unknown 商家收货后处理结果 {text!r} (known: {', '.join(PDD_AFTER_RETURN)})")
    return _convert(text, conv)


def pdd_case(record: Mapping[str, Any], *, source: str, line: int,
             options: Mapping[str, Any] | None = None) -> dict[str, Any] | CaseError:
    """One export row (Chinese column → cell) → an ``after_sale`` case, or a CaseError naming the column."""
    opts = options or {}
    case: dict[str, Any] = {"kind": "after_sale", "source": "platform_export", "order": {}, "request": {}}
    if opts.get("snapshot_at"):
        case["snapshot_at"] = normalize_datetime(str(opts["snapshot_at"]))
    if opts.get("store_id"):
        case["order"]["store_id"] = str(opts["store_id"])
    seen: dict[str, str] = {}
    system_agreement = False
    for column, cell in record.items():
        name = str(column).strip().lstrip("\ufeff")
        if name not in PDD_COLUMNS:
            continue
        path, conv = PDD_COLUMNS[name]
        text = _unguard(cell) if isinstance(cell, str) else cell
        if text is None or (isinstance(text, str) and text in PDD_EMPTY):
            continue
        if conv == "response" and isinstance(text, str) and text in PDD_SYSTEM_RESPONSES:
            system_agreement = True
            continue
        if path in seen:
            return CaseError(f"columns {seen[path]!r} and {name!r} both give {path}", source=source, record=line,
                             json_path="$." + path)
        seen[path] = name
        try:
            value = _pdd_value(name, conv, text) if isinstance(text, str) else _convert(text, conv)
        except _Bad as exc:
            return CaseError(f"column {name!r}: {exc}", source=source, record=line, json_path="$." + path)
        _set_path(case, path.split("."), value)
    request = case["request"]
    for column, path in (("售后单号", "request.id"), ("订单号", "order.id"), ("售后类型", "request.type"),
                         ("申请时间", "request.submitted_at")):
        if path not in seen:
            return CaseError(f"column {column!r} is missing or empty", source=source, record=line,
                             json_path="$." + path)
    response = request.get("merchant_response")
    if response is not None:
        if system_agreement:
            request.pop("merchant_response")
        elif "at" not in response or "action" not in response:
            have, lack = ("商家处理时间", "商家处理结果") if "at" in response else ("商家处理结果", "商家处理时间")
            return CaseError(f"column {have!r} is given but {lack!r} is empty", source=source, record=line,
                             json_path="$.request.merchant_response")
    returned = request.get("return")
    if returned is not None and "shipped_at" not in returned:
        return CaseError("退货快递单号/退货物流公司 given without 买家退货时间: the after_sale case needs the time the "
                         "buyer completed the return", source=source, record=line,
                         json_path="$.request.return.shipped_at")
    after = request.get("merchant_after_return")
    if after is not None and ("at" not in after or "action" not in after):
        return CaseError("商家收货后处理时间 and 商家收货后处理结果 must be given together", source=source,
                         record=line, json_path="$.request.merchant_after_return")
    order = case["order"]
    if "confirmed_at" not in order and "group_success_at" in order and opts.get("confirmed_at_from_group", True):
        # READING: a 拼多多 order is confirmed when its group succeeds (拼单成功; for 单独购买 the
        # export gives the payment time as 成团时间), so without an 订单确认时间 column that is confirmed_at.
        order["confirmed_at"] = order["group_success_at"]
    prefix = str(opts.get("case_id_prefix", "PDD-"))
    case["case_id"] = f"{prefix}{request['id']}"
    if not case["order"].get("store_id"):
        case["order"].pop("store_id", None)
    return case


def load_pdd_after_sale(stream: IO[bytes], source: str = "<input>",
                        options: Mapping[str, Any] | None = None) -> Loaded:
    """A 拼多多 售后 export (CSV, JSON array or JSON Lines with Chinese keys) → after_sale cases."""
    opts = dict(options or {})
    lines = text_lines(stream, str(opts.get("encoding") or "auto"))
    try:
        skipped: list[str] = []
        first = next(lines, None)
        while first is not None and not first.strip():
            skipped.append(first)
            first = next(lines, None)
        if first is None:
            return
        head = first.lstrip("\ufeff").lstrip()
        chained = _chain([*skipped, first], lines)  # record numbers count the blank lines too
        if head.startswith(("[", "{")):
            for number, item in _json_records(chained, source):
                if isinstance(item, CaseError):
                    yield number, item
                elif not isinstance(item, dict):
                    yield number, CaseError(f"an export record must be an object, got {type(item).__name__}",
                                            source=source, record=number)
                else:
                    yield number, pdd_case(item, source=source, line=number, options=opts)
            return
        csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL))
        header: list[str] | None = None
        for line, row in _csv_rows(chained, str(opts.get("delimiter") or ","), source):
            if isinstance(row, CaseError):
                yield line, row
                if header is None:
                    return
                continue
            if header is None:
                if not any(cell.strip() for cell in row):
                    continue
                header = [h.strip().lstrip("\ufeff") for h in row]
                known = [h for h in header if h in PDD_COLUMNS]
                if not known:
                    yield line, CaseError("this does not look like a 拼多多 after-sale export: no known column "
                                          f"(expected e.g. 订单号, 售后单号, 申请时间, 售后类型; got "
                                          f"{', '.join(header[:8])})", source=source, record=line)
                    return
                continue
            if not any(cell.strip() for cell in row):
                continue
            yield line, pdd_case(dict(zip(header, row, strict=False)), source=source, line=line, options=opts)
    except UnicodeDecodeError as exc:
        yield 0, CaseError(f"cannot decode the file ({exc.encoding}: {exc.reason}); pass the 'encoding' option",
                           source=source, record=None)


def _chain(first: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


class _JsonStream:
    """Consecutive JSON values read from whole lines, one at a time, with the line each starts on.

    The buffer only ever holds whole lines, so a value whose decoding fails
    before the end of the buffer is invalid, not merely cut off (JSON strings
    cannot hold raw line breaks).
    """

    _WS = " \t\r\n\ufeff"

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line_base = 1
        self.counted = 0
        self.decoder = json.JSONDecoder(parse_float=Decimal)

    def fill(self) -> None:
        self.line()
        self.buf, self.pos, self.counted = self.buf[self.pos:], 0, 0
        added = 0
        for line in self.lines:
            self.buf += line
            added += len(line)
            if added >= _CHUNK:
                return
        self.eof = True

    def line(self) -> int:
        self.line_base += self.buf.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line_base

    def peek(self) -> str:
        """The next non-blank character ('' at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in self._WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return ""
            self.fill()

    def value(self) -> Any:
        while True:
            try:
                item, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or self.buf[exc.pos:].strip():
                    raise
                self.fill()
                continue
            if end >= len(self.buf) and not self.eof:  # a number may go on in the next line
                self.fill()
                continue
            self.pos = end
            return item

    def skip_line(self) -> None:
        while True:
            nl = self.buf.find("\n", self.pos)
            if nl >= 0:
                self.pos = nl + 1
                return
            if self.eof:
                self.pos = len(self.buf)
                return
            self.fill()


def _json_records(lines: Iterator[str], source: str) -> Iterator[tuple[int, Any]]:
    """Items of a JSON array (numbered by index), or a sequence of JSON values such as JSON Lines
    (numbered by the line each starts on); streamed value by value."""
    js = _JsonStream(lines)
    if js.peek() == "[":
        js.pos += 1
        index = 0
        while True:
            c = js.peek()
            if c == "]":
                return
            if index:
                if c != ",":
                    yield index + 1, CaseError(f"expected ',' or ']' after item {index} of the JSON array, found "
                                               f"{c or 'the end of the file'!r}", source=source, record=index + 1)
                    return
                js.pos += 1
                js.peek()
            index += 1
            try:
                yield index, js.value()
            except json.JSONDecodeError as exc:
                yield index, CaseError(f"invalid JSON in item {index}: {exc.msg} (line {js.line() + exc.lineno - 1})",
                                       source=source, record=index)
                return
    while js.peek():
        number = js.line()
        try:
            yield number, js.value()
        except json.JSONDecodeError as exc:
            yield number, CaseError(f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, record=number)
            js.skip_line()


@hookimpl
def policy_eval_case_loaders() -> dict[str, Callable[..., Loaded]]:
    return {"csv": load_csv, "pdd-after-sale": load_pdd_after_sale}

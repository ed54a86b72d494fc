"""The ``pdd-after-sale`` loader: a 拼多多 售后 export (CSV or JSON, Chinese columns) → ``after_sale`` cases."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import IO, Any

from policy_eval.errors import CaseError
from policy_eval.plugins.loaders.convert import _Bad, _convert, _set_path, _unguard, normalize_datetime
from policy_eval.plugins.loaders.text import MAX_CELL, Loaded, _chain, _csv_rows, _json_records, text_lines

__all__ = ["load_pdd_after_sale", "pdd_case", "PDD_COLUMNS"]

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

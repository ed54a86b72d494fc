"""Built-in case loaders (plugins/loaders/): ``csv`` with a column mapping and ``pdd-after-sale``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy_eval.errors import CaseError
from policy_eval.plugin_manager import PluginManager
from policy_eval.plugins.loaders import load_csv, load_pdd_after_sale, normalize_datetime, normalize_money
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_case_schemas
from policy_eval.rulebook.validation import CaseValidator

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
PDD_CSV = TESTS / "data" / "loaders" / "pdd_after_sale_export.csv"
VALIDATOR = CaseValidator(load_case_schemas(bundled_schemas()))


def load(loader: Any, data: bytes | str, **options: Any) -> list[tuple[int, Any]]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return list(loader(io.BytesIO(raw), source="in.csv", options=options))


def test_registered_as_plugin_loaders() -> None:
    loaders = PluginManager(entry_points=False).loaders()
    assert loaders["csv"] is load_csv and loaders["pdd-after-sale"] is load_pdd_after_sale


# --- csv ---------------------------------------------------------------------------------------------------

ERP_MAPPING = {
    "单据编号": "case_id", "订单号": "order.id", "类目": "order.category", "签收时间": "order.received_at",
    "承诺售后天数": "order.promised_after_sale_days", "实付": "order.paid_amount", "售后单号": "request.id",
    "售后类型": "request.type", "申请时间": "request.submitted_at", "仅平台指定": "order.platform_designated_special",
}
ERP_CSV = """单据编号,订单号,类目,签收时间,承诺售后天数,实付,售后单号,售后类型,申请时间,仅平台指定,备注
ERP-0001,000123,水果,2024-10-02 11:47:05,7,"¥1,299.9",AS-1,refund_only,2024/10/3 9:05,否,不要了
ERP-0002,000124,服饰,,,59.90元,AS-2,return_refund,2024-10-03T10:00:00+08:00,,
"""


def test_csv_mapping_and_schema_types() -> None:
    rows = load(load_csv, ERP_CSV, mapping=ERP_MAPPING, kind="after_sale")
    assert rows == [
        (2, {"kind": "after_sale", "case_id": "ERP-0001",
             "order": {"id": "000123", "category": "水果", "received_at": "2024-10-02T11:47:05+08:00",
                       "promised_after_sale_days": 7, "paid_amount": "1299.90",
                       "platform_designated_special": False},
             "request": {"id": "AS-1", "type": "refund_only", "submitted_at": "2024-10-03T09:05:00+08:00"}}),
        (3, {"kind": "after_sale", "case_id": "ERP-0002",
             "order": {"id": "000124", "category": "服饰", "paid_amount": "59.90"},
             "request": {"id": "AS-2", "type": "return_refund", "submitted_at": "2024-10-03T10:00:00+08:00"}}),
    ]
    for _, case in rows:
        assert VALIDATOR.check(case, "in.csv", 0) is None
    assert isinstance(rows[0][1]["order"]["promised_after_sale_days"], int)  # integer in the schema
    assert isinstance(rows[0][1]["order"]["id"], str)  # a string in the schema: leading zeros kept


def test_csv_mapping_from_a_yaml_file(tmp_path: Path) -> None:
    mapping = tmp_path / "erp.yaml"
    mapping.write_text("".join(f"{k}: {v}\n" for k, v in ERP_MAPPING.items()), encoding="utf-8")
    assert load(load_csv, ERP_CSV, mapping=str(mapping), kind="after_sale") == \
        load(load_csv, ERP_CSV, mapping=ERP_MAPPING, kind="after_sale")


def test_csv_identity_header_with_type_suffixes_and_kind_column() -> None:
    text = ("kind,case_id,order.id,order.items:int,order.weight_kg:decimal,order.tags:json,order.free:bool\n"
            "parcel,P-1,0007,3,2.50,\"[\"\"a\"\",\"\"b\"\"]\",yes\n")
    [(line, case)] = load(load_csv, text)
    assert line == 2
    assert case == {"kind": "parcel", "case_id": "P-1",
                    "order": {"id": "0007", "items": 3, "weight_kg": Decimal("2.50"), "tags": ["a", "b"],
                              "free": True}}


def test_csv_rejects_one_row_and_goes_on() -> None:
    text = ERP_CSV.replace(",7,", ",七天,")
    rows = load(load_csv, text, mapping=ERP_MAPPING, kind="after_sale")
    (line, err), (line2, ok) = rows
    assert isinstance(err, CaseError) and line == 2
    assert (err.source, err.record, err.json_path) == ("in.csv", 2, "$.order.promised_after_sale_days")
    assert err.message == "column '承诺售后天数': '七天' is not a whole number"
    assert line2 == 3 and ok["case_id"] == "ERP-0002"


def test_csv_record_numbers_are_the_lines_rows_start_on() -> None:
    text = 'kind,case_id,order.note\nparcel,P-1,"two\nlines"\n\nparcel,P-2,x\nparcel,P-3,y,extra\n'
    rows = load(load_csv, text)
    assert [(n, c["case_id"]) for n, c in rows[:2]] == [(2, "P-1"), (5, "P-2")]
    assert rows[0][1]["order"]["note"] == "two\nlines"
    assert rows[2][0] == 6 and isinstance(rows[2][1], CaseError)
    assert "3 columns" in rows[2][1].message


@pytest.mark.parametrize("text, message", [
    ("kind,kind\nx,y\n", "duplicate column(s) in the header: kind"),
    ("order.id\n1\n", "no case kind"),
])
def test_csv_errors(text: str, message: str) -> None:
    rows = load(load_csv, text)
    assert rows and isinstance(rows[0][1], CaseError)
    assert message in rows[0][1].message


def test_csv_bad_mapping_option() -> None:
    [(_, err)] = load(load_csv, "a\n1\n", mapping={"a": "order.id:float"})
    assert isinstance(err, CaseError) and "unknown type 'float'" in err.message


def test_csv_gb18030_export_is_detected() -> None:
    data = ERP_CSV.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert load(load_csv, data, mapping=ERP_MAPPING, kind="after_sale") == \
        load(load_csv, ERP_CSV, mapping=ERP_MAPPING, kind="after_sale")
    bom = b"\xef\xbb\xbf" + ERP_CSV.encode("utf-8")
    assert load(load_csv, bom, mapping=ERP_MAPPING, kind="after_sale")[0][1]["case_id"] == "ERP-0001"


def test_csv_spreadsheet_guards_are_removed() -> None:
    text = 'kind,order.id,order.tracking\nparcel,="240101-0001",\'7890123456789\n'
    [(_, case)] = load(load_csv, text, kind="parcel")
    assert case["order"] == {"id": "240101-0001", "tracking": "7890123456789"}


class CountingStream(io.RawIOBase):
    """A large CSV produced on demand; counts the bytes handed out."""

    def __init__(self, rows: int) -> None:
        self.lines: Iterator[bytes] = iter(
            [b"kind,case_id,order.id\n"] + [f"parcel,P-{i},{i:08d}\n".encode() for i in range(rows)])
        self.given = 0
        self.buf = b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        while len(self.buf) < n:
            try:
                self.buf += next(self.lines)
            except StopIteration:
                break
        out, self.buf = self.buf[:n], self.buf[n:]
        self.given += len(out)
        return out


@pytest.mark.parametrize("loader", [load_csv, load_pdd_after_sale])
def test_loaders_stream_lazily(loader: Any) -> None:
    stream = CountingStream(200_000)  # about 5 MB
    records = loader(stream, source="big.csv", options={})
    next(records)
    assert stream.given <= 2 * 65536


# --- value normalisation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2024-10-01 09:05:00", "2024-10-01T09:05:00+08:00"),
    ("2024/10/1 9:05", "2024-10-01T09:05:00+08:00"),
    ("2024年10月01日 09:05:33", "2024-10-01T09:05:33+08:00"),
    ("2024-10-01T01:05:00Z", "2024-10-01T01:05:00Z"),
    ("2024-10-01 09:05:00 +0000", "2024-10-01T09:05:00+00:00"),
    ("2024-10-01 09:05:00.250", "2024-10-01T09:05:00.250+08:00"),
    ("2024/10/01", "2024-10-01"),
    ("昨天", "昨天"),
])
def test_normalize_datetime(text: str, expected: str) -> None:
    assert normalize_datetime(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("¥29.9", "29.90"), ("￥1,299.00", "1299.00"), ("59.90元", "59.90"), ("12", "12.00"),
    ("59.9 USD", "59.90 USD"), ("0.125", "0.125"), ("免费", "免费"),
])
def test_normalize_money(text: str, expected: str) -> None:
    assert normalize_money(text) == expected


# --- Pinduoduo after-sale export ------------------------------------------------------------------------------

def test_pdd_export_csv() -> None:
    rows = list(load_pdd_after_sale(PDD_CSV.open("rb"), source="export.csv", options={}))
    assert [n for n, _ in rows] == [2, 3, 4, 5, 6]
    fruit, shirt = rows[0][1], rows[1][1]
    assert fruit == {
        "kind": "after_sale", "source": "platform_export", "case_id": "PDD-AS2409300001",
        "snapshot_at": "2024-10-08T18:00:00+08:00",
        "order": {"id": "240928-518273650112344", "store_id": "S-88123", "goods_title": "广西沃柑 5斤 新鲜当季",
                  "category": "水果", "group_success_at": "2024-09-28T20:14:33+08:00",
                  "confirmed_at": "2024-09-28T20:14:33+08:00",  # READING: confirmed when the group succeeds
                  "promised_ship_by": "2024-09-30T20:14:33+08:00", "shipped_at": "2024-09-29T16:02:10+08:00",
                  "received_at": "2024-10-02T11:47:05+08:00", "promised_after_sale_days": 2,
                  "paid_amount": "29.90"},
        # 系统默认同意 is the system's agreement, not a merchant response
        "request": {"id": "AS2409300001", "type": "refund_only", "status": "refund_succeeded",
                    "reason": "收到烂果, 坏果约三分之一", "refund_amount": "12.00",
                    "submitted_at": "2024-10-02T12:20:41+08:00", "refund_succeeded_at": "2024-10-04T12:20:45+08:00"},
    }
    assert shirt["order"]["id"] == "241003-100394857612093"  # ="..." guard removed
    assert shirt["order"]["paid_amount"] == "1299.00" and shirt["request"]["refund_amount"] == "1299.00"
    assert shirt["order"]["shipped_at"] == "2024-10-04T10:30:00+08:00"
    assert shirt["request"]["type"] == "return_refund"
    assert shirt["request"]["status"] == "awaiting_merchant_after_return"
    assert shirt["request"]["merchant_response"] == {"at": "2024-10-07T20:00:00+08:00", "action": "agree",
                                                     "note": "同意退货请寄回"}
    assert shirt["request"]["return"] == {"shipped_at": "2024-10-08T14:22:10+08:00", "carrier": "中通快递",
                                          "tracking_number": "78901234567890"}
    for case in (fruit, shirt):
        assert VALIDATOR.check(case, "export.csv", 0) is None
    errors = [(n, e.json_path, e.message) for n, e in rows[2:]]
    assert errors == [
        (4, "$.request.type", "column '售后类型': '换货' requests are not after_sale cases (only 仅退款 and 退货退款 "
                              "are); filter them out of the export"),
        (5, "$.request.merchant_response", "column '商家处理时间' is given but '商家处理结果' is empty"),
        (6, "$.order.promised_after_sale_days", "column '承诺售后天数': '七天' is not a whole number"),
    ]


PDD_RECORD = {"订单号": "240928-518273650112344", "售后单号": "AS2409300001", "申请时间": "2024-10-02 12:20:41",
              "售后类型": "仅退款", "售后状态": "待商家处理", "退款金额": 12.5, "承诺售后天数": 7, "商品类目": "水果"}


def test_pdd_export_json_array_and_lines() -> None:
    array = json.dumps([PDD_RECORD, {**PDD_RECORD, "售后单号": "AS2"}], ensure_ascii=False, indent=2)
    rows = load(load_pdd_after_sale, array, snapshot_at="2024-10-03 08:00:00", store_id="S-1")
    assert [n for n, _ in rows] == [1, 2]  # array items are numbered by position
    case = rows[0][1]
    assert case["request"]["refund_amount"] == "12.50" and case["order"]["promised_after_sale_days"] == 7
    assert case["snapshot_at"] == "2024-10-03T08:00:00+08:00" and case["order"]["store_id"] == "S-1"
    assert case["request"]["status"] == "pending_merchant"
    assert VALIDATOR.check(case, "x", 0) is None
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in (PDD_RECORD, {**PDD_RECORD, "售后单号": "AS2"}))
    as_lines = load(load_pdd_after_sale, "\n" + lines + "\n", snapshot_at="2024-10-03 08:00:00", store_id="S-1")
    assert [n for n, _ in as_lines] == [2, 3]  # JSON Lines records are numbered by line
    assert [c for _, c in as_lines] == [c for _, c in rows]


def test_pdd_json_errors_are_records() -> None:
    good = json.dumps(PDD_RECORD, ensure_ascii=False)
    rows = load(load_pdd_after_sale, f"{good}\n{{\"订单号\": \n{good}\n[1]\n")
    assert [(n, type(c).__name__) for n, c in rows][:2] == [(1, "dict"), (2, "CaseError")]
    assert any(isinstance(c, CaseError) and "must be an object" in c.message for _, c in rows)
    broken = load(load_pdd_after_sale, f"[{good}, {good[:20]}")
    assert isinstance(broken[0][1], dict) and isinstance(broken[1][1], CaseError)


@pytest.mark.parametrize("change, path, message", [
    ({"售后状态": "已完成鸭"}, "$.request.status", "unknown 售后状态 '已完成鸭'"),
    ({"售后类型": "补寄"}, "$.request.type", "'补寄' requests are not after_sale cases"),
    ({"商家处理结果": "同意"}, "$.request.merchant_response", "'商家处理结果' is given but '商家处理时间' is empty"),
    ({"退货快递单号": "YT1234567890123"}, "$.request.return.shipped_at", "given without 买家退货时间"),
    ({"申请时间": "-"}, "$.request.submitted_at", "column '申请时间' is missing or empty"),
])
def test_pdd_inconsistent_rows(change: dict[str, str], path: str, message: str) -> None:
    [(_, err)] = load(load_pdd_after_sale, json.dumps({**PDD_RECORD, **change}, ensure_ascii=False))
    assert isinstance(err, CaseError) and err.json_path == path and message in err.message


def test_pdd_not_an_export() -> None:
    [(line, err)] = load(load_pdd_after_sale, "order_id,amount\n1,2\n")
    assert line == 1 and isinstance(err, CaseError) and "does not look like a 拼多多 after-sale export" in err.message


def test_pdd_export_through_the_cli() -> None:
    """``policy-eval eval --input-format pdd-after-sale`` on the bundled rulebook, via the installed command."""
    command = Path(sys.executable).with_name("policy-eval")
    proc = subprocess.run([str(command), "eval", "--input-format", "pdd-after-sale", str(PDD_CSV.relative_to(REPO)),
                           "--format", "jsonl", "--detail", "full", "-q"], capture_output=True, text=True, encoding="utf-8", cwd=REPO,
                          timeout=120)
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["record"], r["status"]) for r in results] == [
        (2, "evaluated"), (3, "evaluated"), (4, "rejected"), (5, "rejected"), (6, "rejected")]
    fruit = {r["id"]: r["outcome"] for r in results[0]["results"]}
    # 水果 refund-only, merchant never handled it: the 48-hour handling limit was missed (the system refunded)
    assert fruit["after-sales/refund-only-handling-limit"] == "violated"
    assert proc.returncode == 1

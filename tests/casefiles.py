"""Case inputs for tests: the bundled after-sales examples repeated, some records marked (JSON Lines for whole runs);
an after-sale case whose refund-only handling limit is undetermined."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

__all__ = ["marked_cases", "without", "UNDETERMINED_HANDLING"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def marked_cases(count: int, marked: set[int], prefix: str) -> bytes:
    """``count`` records cycling through examples/after_sales.jsonl, each with case id ``C-i``, or ``PREFIX-i``
    for the (0-based) positions in ``marked`` (what a test's plugin recognises)."""
    templates = [json.loads(x) for x in (EXAMPLES / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()]
    lines = []
    for i in range(count):
        case = dict(templates[i % len(templates)])
        case["case_id"] = f"{prefix}-{i}" if i in marked else f"C-{i}"
        lines.append(json.dumps(case, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


# A refund-only request still pending with no snapshot_at: after-sales/refund-only-handling-limit is undetermined,
# missing snapshot_at (its window and deadline known); every other rule decides.
UNDETERMINED_HANDLING = {
    "kind": "after_sale", "case_id": "u", "source": "merchant_erp",
    "order": {"id": "231210-0000017", "store_id": "S-10016", "goods_title": "加湿器", "category": "家用电器",
              "group_success_at": "2024-11-20T08:37:08+08:00", "confirmed_at": "2024-11-20T08:37:08+08:00",
              "promised_ship_by": "2024-11-22T08:37:08+08:00", "shipped_at": "2024-11-21T08:37:08+08:00",
              "received_at": "2024-11-23T08:37:08+08:00", "paid_amount": "59.00"},
    "request": {"id": "AS-JL-017", "type": "refund_only", "reason": "漏水", "submitted_at": "2024-11-24T08:37:08+08:00",
                "status": "pending_merchant"}}


def without(case: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    """A copy of the case with the value at ``path`` (keys and list indexes) left out."""
    out = copy.deepcopy(case)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out

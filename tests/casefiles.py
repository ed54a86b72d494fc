"""JSON Lines inputs for tests of whole runs: the bundled after-sales examples repeated, some records marked."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["marked_cases"]

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

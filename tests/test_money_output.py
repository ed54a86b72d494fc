"""Money is written to cents rounding half up (docs/language.md), in every reporter.

A half-cent amount is the only input that tells half-up from half-even: 0.125 → 0.13 (half-even: 0.12)
and 0.145 → 0.15 (half-even: 0.14). The amounts come from a remedy computed by a policy, so the
test covers the whole path: evaluation, the result, and each reporter's serialisation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PE = Path(sys.executable).parent / "policy-eval"

POLICY = """\
policy:
  id: half-cent
  title: half-cent remedies (test fixture)
  version: "1"
  source:
    document: policy-eval tests
  effective_from: 2024-01-01
  applies_to: parcel
  reference_time: order.paid_at

rules:
  - id: refund-half
    title: refund half the freight
    clause: test 1.1
    severity: high
    when: true
    forbid: order.freight > ¥0
    message: "order {order.id} charged {order.freight}"
    remedies:
      - kind: auto_refund
        to: buyer
        amount: order.freight * 0.5
"""

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["kind", "case_id", "order"],
    "properties": {
        "kind": {"const": "parcel"},
        "case_id": {"type": "string"},
        "order": {
            "type": "object",
            "required": ["id", "paid_at", "freight"],
            "properties": {
                "id": {"type": "string"},
                "paid_at": {"type": "string", "format": "date-time"},
                "freight": {"type": "string", "x-policy-type": "money"},
            },
        },
    },
}

# freight → half of it → written to cents, half up
CASES = [("0.25", "0.13"), ("0.29", "0.15"), ("2.25", "1.13"), ("0.01", "0.01")]
HALF_EVEN = {"0.13": "0.12", "0.15": "0.14", "1.13": "1.12"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("half_cent")
    (root / "policies").mkdir()
    (root / "policies" / "half_cent.yaml").write_text(POLICY, encoding="utf-8")
    (root / "schemas" / "cases").mkdir(parents=True)
    (root / "schemas" / "cases" / "parcel.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    lines = [json.dumps({"kind": "parcel", "case_id": f"C-{i}",
                         "order": {"id": f"O-{i}", "paid_at": "2024-03-01T10:00:00+08:00", "freight": freight}})
             for i, (freight, _) in enumerate(CASES)]
    (root / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _run(folder: Path, fmt: str) -> str:
    proc = subprocess.run([str(PE), "eval", "-p", str(folder / "policies"), "--format", fmt,
                           str(folder / "cases.jsonl")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # every case violates
    return proc.stdout


def _amounts(value: Any) -> list[str]:
    """Every ``{"amount": ..., "currency": ...}`` object in a JSON document, whatever its shape."""
    found: list[str] = []
    if isinstance(value, dict):
        if set(value) >= {"amount", "currency"} and isinstance(value["amount"], str):
            found.append(value["amount"])
        for v in value.values():
            found.extend(_amounts(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(_amounts(v))
    return found


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_reporters_round_half_up(folder: Path, fmt: str) -> None:
    out = _run(folder, fmt)
    docs = [json.loads(line) for line in out.splitlines() if line.strip()] if fmt == "jsonl" else [json.loads(out)]
    amounts = _amounts(docs)
    for _, expected in CASES:
        assert expected in amounts
    assert not set(HALF_EVEN.values()) & set(amounts)


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit"])
def test_text_reporters_round_half_up(folder: Path, fmt: str) -> None:
    out = _run(folder, fmt)
    for _, expected in CASES:
        assert f"{expected} CNY" in out
    for wrong in HALF_EVEN.values():
        assert f"{wrong} CNY" not in out


def test_sarif_is_json_with_the_rounded_amounts(folder: Path) -> None:
    text = json.dumps(json.loads(_run(folder, "sarif")), ensure_ascii=False)
    assert "0.13 CNY" in text and "0.12 CNY" not in text

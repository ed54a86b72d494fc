"""``eval --explain`` puts what would comply on each violated or undetermined verdict (issue 16 item 2), as
``explain`` does; the records stay valid against schemas/result.schema.json.

examples/after_sale_fruit_refund_no_reply.json: a refund-only request submitted 2023-07-12T12:20:41+08:00 with no
merchant response; the 48h handling limit (售后服务规则 2.2) ran out at 2023-07-14T12:20:41+08:00, and the system
refunded at 12:20:45. A merchant response recorded by the deadline would have complied.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema

from policy_eval.cli import run

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "after_sale_fruit_refund_no_reply.json"
RULE = "after-sales/refund-only-handling-limit"


def _records(*args: str) -> list[dict]:
    out, err = io.StringIO(), io.StringIO()
    run(["eval", "-f", "jsonl", *args, str(CASE)], out, err)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_violated_verdict_says_what_would_comply() -> None:
    (record,) = _records("--explain")
    verdict = next(r for r in record["results"] if r["id"] == RULE)
    assert verdict["outcome"] == "violated"
    by_path = {c["path"]: c for c in verdict["comply"]}
    response = by_path["request.merchant_response.at"]
    assert (response["value"], response["to"], response["outcome"]) == (None, "2023-07-14T12:20:41+08:00", "complied")
    assert all(r.get("comply") is None for r in record["results"] if r["outcome"] in ("complied", "not_applicable"))
    schema = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(record)


def test_without_explain_nothing_is_computed() -> None:
    (record,) = _records("--detail", "full")
    assert all("comply" not in r for r in record["results"])


def test_every_example_explained_is_valid_against_the_result_schema() -> None:
    """An operator's audit: a fact's 'to' is the value the case would state instead (false for
    delivery.refused_by_buyer), which the schema typed as text: 627 of 3,086 explained records failed it."""
    schema = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    out, err = io.StringIO(), io.StringIO()
    run(["eval", "-f", "jsonl", "--detail", "full", "--explain", str(ROOT / "examples")], out, err)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    facts = [c["to"] for r in records for v in r.get("results", []) for c in v.get("comply") or []
             if c.get("fact")]
    assert any(isinstance(x, bool) for x in facts)  # (the examples hold such a fact)
    for record in records:
        validator.validate(record)

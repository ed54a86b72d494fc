"""The batch page (web.batch) reads outcomes only (the API's lazy verdicts, nothing explained) and says what it said when it
explained every verdict of every record (3,020 records: 11.9 s of CPU then, 0.6 s now): per rule, the
verdicts by outcome; the violating records with their rules; the records refused, by line."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from goldencorpus import golden_tests

from policy_eval.api import Outcome
from policy_eval.web.workbench import Workbench, WorkbenchError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402


def _explained(bench: Workbench, data: bytes) -> dict[str, Any]:
    """The batch as the page made it before: every record through the case page's evaluation (explained)."""
    counts: Counter[tuple[str, str]] = Counter()
    violated, rejected, evaluated = [], [], 0
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            case = bench.parse_case(line)
        except WorkbenchError as exc:
            rejected.append({"line": number, "error": str(exc)})
            continue
        res = bench.evaluate(case, ahead=False)
        if res["error"]:
            rejected.append({"line": number, "error": res["error"]})
            continue
        evaluated += 1
        for v in res["verdicts"]:
            counts[(v["id"], v["outcome"])] += 1
        rules = [v["id"] for v in res["verdicts"] if v["outcome"] == "violated"]
        if rules:
            violated.append({"line": number, "case_id": res["case_id"], "rules": rules})
    table = [{"rule": r, **{o.value: counts[(r, o.value)] for o in Outcome}} for r in sorted({r for r, _ in counts})]
    return {"table": table, "violated": violated, "rejected": rejected, "evaluated": evaluated}


def test_the_batch_says_what_the_explained_evaluation_says() -> None:
    bench = Workbench.open(None)
    cases = [*generate(400, seed=11), *(t.case for t in golden_tests() if t.params is None)]
    lines = [json.dumps(c, ensure_ascii=False, default=str) for c in cases]
    lines[3:3] = ["{broken", json.dumps({"kind": "after_sale", "case_id": "no-order"})]  # not JSON; refused by the schema
    data = ("\n".join(lines) + "\n").encode()
    got = bench.batch(data)
    assert got == _explained(bench, data)
    assert got["evaluated"] > 1000 and len(got["violated"]) > 500
    assert [r["line"] for r in got["rejected"]][:2] == [4, 5]

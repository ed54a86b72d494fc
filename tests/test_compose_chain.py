"""``explain`` shows the whole dependency chain (issue 12 item 1): a rule that depends on a rule that
depends on another lists every link, each once, before its own steps."""

from __future__ import annotations

import io
import json
from pathlib import Path

import policytext as pt

from policy_eval.cli import run
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator

POLICY = pt.header() + """\
rules:
  - id: shipped
    title: the order was shipped
    clause: demo 1
    severity: low
    require: exists(order.shipped_at)
    message: not shipped
  - id: in-window
    title: submitted inside the window
    clause: demo 2
    severity: low
    depends_on: {shipped: complied}
    require: request.submitted_at <= order.shipped_at + 15d
    message: late
  - id: auto-refund
    title: unhandled in-window requests are refunded
    clause: demo 3
    severity: high
    depends_on: {in-window: complied, shipped: complied}
    require: exists(request.refund_succeeded_at)
    message: not refunded
"""

CASE = pt.after_sale_case()
CASE["order"]["shipped_at"] = "2024-02-21T10:00:00+08:00"


def test_the_chain_lists_every_link_once(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", POLICY)
    result = Evaluator(load_rulebook(tmp_path), explain=True).evaluate(CASE)
    refund = next(r for r in result.results if r.rule == "auto-refund")
    assert refund.outcome.value == "violated"
    links = [step for step in refund.explanation if "depends on" in step["expr"]]
    assert links == [{"expr": "depends on in-window", "value": "complied"},
                     {"expr": "depends on shipped", "value": "complied"},
                     {"expr": "in-window depends on shipped", "value": "complied"}]


def test_a_gated_rule_shows_the_chain_that_gated_it(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", POLICY)
    case = json.loads(json.dumps(CASE))
    case["request"]["submitted_at"] = "2024-04-01T10:00:00+08:00"  # 40 days after shipping: out of window
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(case), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    run(["explain", "-p", str(tmp_path), "--rule", "auto-refund", str(case_file)], out, err)
    text = out.getvalue()
    assert "NOT_APPLICABLE" in text.upper(), text + err.getvalue()
    assert "depends on in-window  =  violated" in text
    assert "in-window depends on shipped  =  complied" in text

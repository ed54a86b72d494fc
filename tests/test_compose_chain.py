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


CONSTANT = POLICY + """\
  - id: chained
    title: a rule whose own condition is constant
    clause: demo 4
    severity: low
    depends_on: {auto-refund: [violated, complied]}
    require: "true"
    message: x
"""

CHAIN = [{"expr": "depends on auto-refund", "value": "violated"},
         {"expr": "auto-refund depends on in-window", "value": "complied"},
         {"expr": "auto-refund depends on shipped", "value": "complied"},
         {"expr": "in-window depends on shipped", "value": "complied"}]


def test_a_constant_condition_still_shows_the_chain(tmp_path: Path) -> None:
    # its condition gives no step of its own; the dependencies decided whether it applies
    pt.write(tmp_path / "demo.yaml", CONSTANT)
    result = Evaluator(load_rulebook(tmp_path), explain=True).evaluate(CASE)
    chained = next(r for r in result.results if r.rule == "chained")
    assert chained.outcome.value == "complied"
    assert list(chained.explanation) == CHAIN
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(CASE), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    run(["explain", "-p", str(tmp_path), "--rule", "demo/chained", str(case_file)], out, err)
    assert "`true` holds\n        depends on auto-refund  =  violated\n" in out.getvalue(), out.getvalue() + err.getvalue()


def test_an_explanation_computed_when_read_has_the_chain(tmp_path: Path) -> None:
    from policy_eval.api import Rulebook

    pt.write(tmp_path / "demo.yaml", CONSTANT)
    result = Rulebook.load(tmp_path).evaluate(CASE)  # the API explains a complied verdict only when read
    chained = next(r for r in result.results if r.rule == "chained")
    assert list(chained.explanation) == CHAIN
    refund = next(r for r in result.results if r.rule == "auto-refund")
    assert [s["expr"] for s in refund.explanation if "depends on" in s["expr"]] == [
        "depends on in-window", "depends on shipped", "in-window depends on shipped"]

"""A verdict's reason quotes its rule's condition on one line (a new user's report: `--detail full` JSON and
`policy-eval test` showed a multi-line condition with a literal newline and the YAML indentation)."""

from __future__ import annotations

from pathlib import Path

from policy_eval.lang.parser import one_line
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator

POLICY = """policy:
  id: mini
  title: mini
  version: "1"
  source: {document: d}
  effective_from: 2020-01-01
  applies_to: after_sale
  reference_time: request.submitted_at
rules:
  - id: handled
    title: handled
    clause: "2.2"
    severity: low
    when: |-
      request.type == "refund_only"   # 仅退款
      and exists(request.submitted_at)
    require: |-
      exists(request.merchant_response)   # answered
        or exists(request.withdrawn_at)
    message: "late"
"""


def test_one_line_drops_comments_and_line_breaks_but_not_what_strings_hold() -> None:
    assert one_line('a   # note\n     or b  \n  and x == "p  q # r"') == 'a or b and x == "p  q # r"'
    assert one_line("  a <= b  ") == "a <= b"


def test_reasons_quote_the_condition_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text(POLICY, encoding="utf-8")
    ev = Evaluator(load_rulebook(tmp_path), detail="full")
    base = {"kind": "after_sale", "case_id": "C", "order": {"id": "O", "store_id": "S", "paid_amount": "1.00"},
            "request": {"id": "R", "type": "return_refund", "submitted_at": "2024-03-01T10:00:00+08:00"}}
    applies = {**base, "request": {**base["request"], "type": "refund_only",
                                   "merchant_response": {"at": "2024-03-01T11:00:00+08:00", "action": "agree"}}}
    reasons = [r.reason for case in (base, applies) for r in ev.evaluate(case).results if r.rule == "handled"]
    assert reasons == ['does not apply: `request.type == "refund_only" and exists(request.submitted_at)` is false',
                       "`exists(request.merchant_response) or exists(request.withdrawn_at)` holds"]

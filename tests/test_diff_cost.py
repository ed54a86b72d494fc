"""`policy-eval diff` compares outcomes, remedies, severity and messages, never explanations: its evaluators
trace a rule only where an undetermined verdict needs its missing paths (explain="missing"). Before, every
violated verdict of both sides was traced and explained as well, a third of diff's time, for nothing the report
shows (bench/README, fifty-sixth session: the same report, byte for byte, over 20,000 records of every kind)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli import run
from policy_eval.run import judge

ROOT = Path(__file__).resolve().parent.parent
# an unshipped refund-only request, not handled: violated (after-sales 2.2/2.3) on both sides
CASE = ('{"kind": "after_sale", "case_id": "C-1", "order": {"id": "O-1", "store_id": "S-1", "goods_title": "保温杯", '
        '"category": "家居日用", "group_success_at": "2023-10-19T23:04:56+08:00", "confirmed_at": '
        '"2023-10-19T23:04:56+08:00", "promised_ship_by": "2023-10-21T23:04:56+08:00", "promised_after_sale_days": 7, '
        '"paid_amount": "19.90"}, "request": {"id": "R-1", "type": "refund_only", "reason": "不想要了", '
        '"submitted_at": "2023-10-20T19:32:41+08:00", "status": "refunding"}, '
        '"snapshot_at": "2023-10-22T08:23:47+08:00"}\n')


def test_diff_traces_no_violated_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new = tmp_path / "new"
    shutil.copytree(ROOT / "policies", new)
    v2 = new / "after_sales" / "v2.yaml"
    text = v2.read_text(encoding="utf-8")
    assert "was not shipped when refund-only request" in text
    v2.write_text(text.replace("was not shipped when refund-only request", "was still unshipped when refund-only "
                                                                           "request"), encoding="utf-8")
    cases = tmp_path / "cases.jsonl"
    cases.write_text(CASE, encoding="utf-8")
    traced: list[str] = []
    real = judge.trace_rule

    def counting(rule: Any, *args: Any, **kwargs: Any) -> Any:
        traced.append(rule.id)
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(judge, "trace_rule", counting)
    out = io.StringIO()
    code = run(["diff", str(ROOT / "policies"), str(new), str(cases)], out, io.StringIO())
    assert code == 0, out.getvalue()
    report = out.getvalue()
    assert "after-sales/unshipped-auto-refund" in report and "violated, message changed: 1 case" in report
    assert "was still unshipped when refund-only request" in report
    assert traced == []


def test_one_rulebook_twice_evaluates_nothing_and_still_rejects(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The same rulebook on both sides (by content: a CI gate on a commit that left the policies alone) decides
    every case alike: the records are read and checked (a bad one is still rejected, and fails the run), and
    none is evaluated."""
    from policy_eval.run.evaluate import Evaluator

    cases = tmp_path / "cases.jsonl"
    cases.write_text(CASE + '{"kind": "after_sale", "case_id": "C-2"}\n', encoding="utf-8")
    evaluated: list[Any] = []
    monkeypatch.setattr(Evaluator, "evaluate", lambda self, case, **kw: evaluated.append(case))
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", str(ROOT / "policies"), str(ROOT / "policies"), str(cases)], out, err)
    assert evaluated == []
    assert code == 1  # (the rejected record: its "no change" is unproven)
    text = out.getvalue()
    assert f"REJECTED {cases}:2: $: 'order' is a required property" in text
    assert "0 of 2 case(s) change outcome; 1 record(s) rejected and not compared" in text
    assert "nothing compared: the two rulebooks are identical" in text

"""Runs that show no explanation make none: `policy-eval diff` compares outcomes, remedies, severity and
messages, and policy tests (``policy-eval test``, the pytest plugin) outcomes, versions, missing paths, remedies and
messages. Their evaluators trace a rule only where an undetermined verdict needs its missing paths
(explain="missing"); before, every violated verdict was traced and explained as well, a third of diff's time, for
nothing shown (bench/README, fifty-sixth session: the same reports, byte for byte). A failing policy test is still
explained, by an evaluator of its own."""

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


def _traced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the rules traced from now on (run.judge's calls of trace_rule)."""
    traced: list[str] = []
    real = judge.trace_rule

    def counting(rule: Any, *args: Any, **kwargs: Any) -> Any:
        traced.append(rule.id)
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(judge, "trace_rule", counting)
    return traced


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
    traced = _traced(monkeypatch)
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


GOLDEN = Path(__file__).parent / "golden" / "appeals_scope.yaml"  # (violated verdicts expected, none undetermined)


def test_passing_tests_explain_no_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "violated" in GOLDEN.read_text(encoding="utf-8")
    traced = _traced(monkeypatch)
    out = io.StringIO()
    assert run(["test", str(GOLDEN)], out, io.StringIO()) == 0, out.getvalue()
    assert "5 passed, 0 failed" in out.getvalue()
    assert traced == []


def test_a_failing_test_is_still_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / GOLDEN.name
    shutil.copy(GOLDEN, copy)
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text.replace("violated", "complied", 1), encoding="utf-8")
    traced = _traced(monkeypatch)
    out = io.StringIO()
    assert run(["test", str(copy)], out, io.StringIO()) == 1
    report = out.getvalue()
    assert "expected complied, got violated" in report and "was decided by:" in report
    assert len(traced) >= 1  # (the failing test's explanation, by the explaining evaluator)

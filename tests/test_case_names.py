"""A case without ``case_id`` is named by where it is (file:line) or by its policy test, never "case None";
and the text report names it once (issue 18, item 10)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from policy_eval.cli import run
from policy_eval.plugins.reporters import TextReporter
from policy_eval.run.result import CaseResult, Outcome, RuleResult

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_explain_names_a_case_without_id_by_file_and_line(fast_load: None, tmp_path: Path) -> None:
    case = json.loads((ROOT / "examples" / "appeal_late_judgement_appeal.json").read_text(encoding="utf-8"))
    assert "case_id" not in case  # the example this is about
    path = tmp_path / "appeal.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    _, out, _ = _run("explain", str(path))
    head = out.splitlines()[0]
    assert head.startswith(f"case {path}:1 (appeal) — rulebook sha256:")
    assert "None" not in out


def test_explain_names_a_case_with_id_as_before(fast_load: None) -> None:
    _, out, _ = _run("explain", str(ROOT / "examples" / "warranty_refused_breach.json"))
    assert out.startswith(f"case EX-WAR-001 (warranty_claim, {ROOT / 'examples' / 'warranty_refused_breach.json'}:1)")


def test_explain_names_a_policy_test_case_by_the_test(fast_load: None, tmp_path: Path) -> None:
    tests = tmp_path / "t.yaml"
    case = json.loads((ROOT / "examples" / "appeal_late_judgement_appeal.json").read_text(encoding="utf-8"))
    tests.write_text("tests:\n  - name: late appeal\n    case: " + json.dumps(case, ensure_ascii=False)
                     + "\n    expect: {}\n", encoding="utf-8")
    _, out, _ = _run("explain", str(tests), "--case", "late appeal")
    assert out.splitlines()[0].startswith(f"policy test 'late appeal' (appeal, {tests}:2) — rulebook ")
    assert "None" not in out


def _result(case_id: str | None) -> CaseResult:
    rule = RuleResult(policy="p", version="1", rule="r", title="r", clause=None, outcome=Outcome.VIOLATED,
                      severity="high", reason="late")
    return CaseResult(case_id, "shipment", "x.json", 1, (rule,), "sha256:" + "0" * 64)


@pytest.mark.parametrize(("case_id", "head"), [(None, "VIOLATED x.json:1 (shipment)"),
                                               ("S-1", "VIOLATED S-1 (shipment, x.json:1)")])
def test_text_report_names_a_case_once(case_id: str | None, head: str) -> None:
    out = io.StringIO()
    reporter = TextReporter(out, {})
    reporter.start({"rulebook": "sha256:" + "0" * 64, "rules": []})
    reporter.case(_result(case_id))
    assert out.getvalue().splitlines()[0] == head

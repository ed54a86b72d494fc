"""Policy tests (``policy-eval test``, the pytest plugin) compare outcomes, versions, missing paths, remedies and
messages, never an explanation or the inputs read: their evaluator (run.testing.evaluator_for_tests) traces a rule
only for an undetermined verdict's missing paths. A failing test is still explained, by an evaluator of its own:
the report is the same as before, values that decided it and all (bench/README, fifty-sixth session)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli import run
from policy_eval.run import judge

GOLDEN = Path(__file__).parent / "golden" / "appeals_scope.yaml"  # (violated verdicts expected, none undetermined)


def _traced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    traced: list[str] = []
    real = judge.trace_rule

    def counting(rule: Any, *args: Any, **kwargs: Any) -> Any:
        traced.append(rule.id)
        return real(rule, *args, **kwargs)

    monkeypatch.setattr(judge, "trace_rule", counting)
    return traced


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

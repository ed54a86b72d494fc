"""Red team trial E, a rough edge: a record that exhausts memory was "internal error … MemoryError", exit 4 (a bug
in policy-eval). It is the record's size, not a bug: the record is rejected, saying so, and the others are
evaluated (run.blocks.internal_error). The evaluation is made to run out of memory here by a stand-in that
raises MemoryError on one case id, as a real one would after a failed allocation."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from policy_eval.api import Rulebook
from policy_eval.cli import run
from policy_eval.run.evaluate import Evaluator

EXAMPLES = Path(__file__).parent.parent / "examples"
HUGE = "EX-HUGE"


@pytest.fixture
def exhausting(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Evaluator.evaluate

    def evaluate(self: Evaluator, case: Any, *args: Any, **kw: Any) -> Any:
        if case.get("case_id") == HUGE:
            raise MemoryError
        return real(self, case, *args, **kw)
    monkeypatch.setattr(Evaluator, "evaluate", evaluate)


def _cases(tmp_path: Path) -> Path:
    case = json.loads((EXAMPLES / "chat_offplatform_diversion.json").read_text(encoding="utf-8"))
    lines = [json.dumps(case, ensure_ascii=False), json.dumps({**case, "case_id": HUGE}, ensure_ascii=False)]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.usefixtures("exhausting")
def test_a_record_that_exhausts_memory_is_rejected_not_an_internal_error(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["eval", "--format", "jsonl", "--jobs", "1", str(_cases(tmp_path))], stdout=out, stderr=err)
    records = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    huge = [r for r in records if r.get("case_id") == HUGE]
    assert huge and "needs more memory" in huge[0]["error"]["message"], out.getvalue()
    assert "internal error" not in huge[0]["error"]["message"]
    assert any(r.get("case_id") != HUGE and r.get("status") == "evaluated" for r in records), records
    assert code != 4 and "internal error" not in err.getvalue(), (code, err.getvalue())


@pytest.mark.usefixtures("exhausting")
def test_the_api_rejects_it_too() -> None:
    case = json.loads((EXAMPLES / "chat_offplatform_diversion.json").read_text(encoding="utf-8"))
    result = Rulebook.load().evaluate({**case, "case_id": HUGE}, explain=True)
    assert result.error is not None and "needs more memory" in result.error["message"], result.error

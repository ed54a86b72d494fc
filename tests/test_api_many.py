"""evaluate_many and the API's error paths (an embedding developer's audit): worker processes load the rulebook as
it was loaded (its deployment overlay, its cost ceiling), a case whose evaluation raises costs that case only,
a rejected case comes back in the shape of the detail asked for, and a case that is not an object is a rejected
case, not an exception."""

from __future__ import annotations

import copy
import decimal
import json
from pathlib import Path

import policytext as pt

from policy_eval.api import Rulebook
from policy_eval.errors import CaseError

ROOT = Path(__file__).resolve().parent.parent
CHATS = [json.loads(p.read_text(encoding="utf-8"), parse_float=decimal.Decimal)
         for p in sorted((ROOT / "examples").glob("chat_*.json"))]


def test_worker_processes_use_the_deployment_overlay_the_rulebook_was_loaded_with() -> None:
    # the chat rules' limits are deployment parameters: without the overlay they are undetermined
    book = Rulebook.load(params=ROOT / "examples" / "deployment.yaml")
    alone = [r.to_dict() for r in book.evaluate_many(CHATS)]
    workers = [r.to_dict() for r in book.evaluate_many(CHATS, jobs=2)]
    assert workers == alone
    assert all(r["rulebook"] == book.digest for r in workers)
    assert not [v for r in alone for v in r["results"] if v["outcome"] == "undetermined"]


def test_worker_processes_use_the_cost_ceiling_the_rulebook_was_loaded_with(tmp_path: Path) -> None:
    pt.write(tmp_path / "costly.yaml", pt.policy("""\
        rules:
          - id: pairs
            title: t
            clause: c
            severity: low
            forbid: 'any a in messages: any b in messages: any c in messages: a.id == b.id and b.id == c.id and a.sent_at != c.sent_at'
            message: m
        """, **pt.CHAT))
    book = Rulebook.load(tmp_path, max_cost=None, entry_points=False)
    results = list(book.evaluate_many(CHATS[:1], jobs=2))  # (the workers refused the policy: ErrorList)
    assert results[0].error is None and results[0].results[0].rule == "pairs"


def test_a_case_whose_evaluation_raises_costs_that_case_only(tmp_path: Path) -> None:
    pt.write(tmp_path / "shout.yaml", pt.policy("""\
        rules:
          - id: calm
            title: t
            clause: c
            severity: low
            forbid: 'any m in messages: shouts(m.text) > 2'
            message: m
        """, **pt.CHAT))
    book = Rulebook.load(tmp_path, plugins=["raising_plugin"], entry_points=False)
    cases = []
    for i, text in enumerate(["fine", "BUG", "fine!!!"]):
        case = copy.deepcopy(CHATS[0])
        case["case_id"] = f"C{i}"
        case["messages"][0]["text"] = text
        cases.append(case)
    for jobs in (1, 2):
        got = list(book.evaluate_many(cases, jobs=jobs))
        assert [r.case_id for r in got] == ["C0", "C1", "C2"], jobs  # (jobs=1 stopped at C1; jobs=2 lost its id)
        assert got[1].error is not None and "RuntimeError: a bug in the plugin" in got[1].error["message"], jobs
        # whose bug it is: the plugin function is named (it read as policy-eval's own internal error)
        assert got[1].error["message"].endswith("(raised by raising_plugin.shouts, a plugin's code)"), jobs
        assert got[0].error is None and got[2].error is None, jobs


def test_a_rejected_case_has_the_shape_of_the_detail_asked_for() -> None:
    book = Rulebook.load()
    bad = {"kind": "after_sale", "case_id": "B1"}  # order and request missing
    assert json.loads(book.evaluate(bad, detail="findings").to_json())["format"] == "findings/1"
    assert json.loads(book.evaluate(bad).to_json())["format"] == "1"


def test_a_case_that_is_not_an_object_is_rejected_not_raised() -> None:
    book = Rulebook.load()
    for value in ([1], "text", None, 5):
        result = book.evaluate(value)  # type: ignore[arg-type]
        assert result.error is not None and result.error["message"].startswith("a case must be a JSON object"), value
        assert book.due(value).error is not None  # type: ignore[arg-type]
        assert isinstance(book.validate(value), CaseError)  # type: ignore[arg-type]
    assert [r.error is not None for r in book.evaluate_many([CHATS[0], [1]])] == [False, True]

"""evaluate_many and the API's error paths (an embedding developer's audit): worker processes load the rulebook as
it was loaded (its deployment overlay, its cost ceiling), a case whose evaluation raises costs that case only,
a rejected case comes back in the shape of the detail asked for, and a case that is not an object is a rejected
case, not an exception."""

from __future__ import annotations

import copy
import decimal
import json
import os
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

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


def test_items_that_are_not_objects_give_the_same_records_whatever_jobs_is() -> None:
    """An outside trial: with jobs=2 one None (or list) among the cases raised TypeError/ValueError and lost the
    whole stream (each item went through dict()); with jobs=1 it was a rejected record."""
    book = Rulebook.load()
    cases = [CHATS[0], None, [1, 2], "text", CHATS[1]]
    by_jobs = {jobs: [r.to_dict() for r in book.evaluate_many(cases, jobs=jobs)] for jobs in (1, 2)}  # type: ignore[arg-type]
    assert by_jobs[1] == by_jobs[2]
    assert [r["record"] for r in by_jobs[2]] == [1, 2, 3, 4, 5]
    assert [r["error"]["message"] if r.get("error") else None for r in by_jobs[2]] == [
        None, "a case must be a JSON object, got null", "a case must be a JSON object, got an array",
        "a case must be a JSON object, got a string", None]


def test_a_misspelt_detail_is_refused_before_any_record() -> None:
    """evaluate_many(detail="finding") made every record an internal-error rejection (jobs=1), or raised after
    printing a worker traceback per worker (jobs=2); evaluate() refused it. Now all three refuse it at the call."""
    book = Rulebook.load()
    for jobs in (1, 2):
        try:
            book.evaluate_many(CHATS, jobs=jobs, detail="finding")  # type: ignore[arg-type]
        except ValueError as exc:
            assert str(exc) == "detail must be full or findings, not 'finding'"
        else:
            raise AssertionError(f"jobs={jobs}: no error at the call")


def test_a_plugin_functions_exception_is_a_rejected_case_in_evaluate_too(tmp_path: Path) -> None:
    """evaluate() let a plugin function's exception escape (twice chained: the three-valued pass called the
    plugin again) where evaluate_many and the CLI reject that case naming the plugin: one behaviour now."""
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
    case = copy.deepcopy(CHATS[0])
    case["messages"][0]["text"] = "BUG"
    for detail in ("full", "findings"):
        result = book.evaluate(case, detail=detail, record=1)  # type: ignore[arg-type]
        assert result.error is not None and result.results == () and result.record == 1, detail
        assert result.error["message"].endswith("(raised by raising_plugin.shouts, a plugin's code)"), detail
        assert result.to_dict() == next(book.evaluate_many([case], detail=detail)).to_dict(), detail  # type: ignore[arg-type]


def test_explain_says_what_would_comply_whichever_way_a_case_is_evaluated() -> None:
    """evaluate(explain=True) and evaluate_many(explain=True) left out `comply` (what would decide a violated or
    undetermined verdict otherwise), which evaluate_many(jobs=2) and `eval --explain` give."""
    import subprocess
    import sys

    book = Rulebook.load()
    path = ROOT / "examples" / "warranty_refused_breach.json"
    case = json.loads(path.read_text(encoding="utf-8"), parse_float=decimal.Decimal)
    alone = book.evaluate(case, explain=True, record=1).to_dict()
    many = [r.to_dict() for r in book.evaluate_many([case], explain=True)]
    workers = [r.to_dict() for r in book.evaluate_many([case], explain=True, jobs=2)]
    cli = subprocess.run([str(Path(sys.executable).with_name("policy-eval")), "eval", "--explain", "-f", "jsonl",
                          str(path)], capture_output=True, text=True, encoding="utf-8", timeout=300)
    (line,) = cli.stdout.splitlines()
    complies = [v.get("comply") for v in alone["results"] if v["outcome"] == "violated"]
    assert complies and all(complies), alone["results"]
    assert many == workers == [alone]
    from_cli = json.loads(line)
    assert [v.get("comply") for v in from_cli["results"]] == [v.get("comply") for v in alone["results"]]


def test_load_says_what_is_wrong_with_its_arguments(tmp_path: Path) -> None:
    """An outside trial: plugins="mod" (a string) read as the plugins 'm', 'o', 'd' ("cannot import plugin 'm'");
    a schema folder that does not exist gave one "unknown case kind" per policy and no word of the folder; a
    plugin claiming a format another provides was accepted by load() and refused at the first read()."""
    from policy_eval.errors import PluginError, PolicyError
    from policy_eval.plugins.hookspecs import hookimpl

    for plugins in ("raising_plugin", Path("raising_plugin")):
        try:
            Rulebook.load(plugins=plugins, entry_points=False)  # type: ignore[arg-type]
        except PluginError as exc:
            assert "did you mean plugins=['raising_plugin']?" in str(exc)
        else:
            raise AssertionError(plugins)
    for folder in (tmp_path / "nope", tmp_path):
        try:
            Rulebook.load(schemas=folder)
        except PolicyError as exc:
            assert str(exc) == f"{folder}: no such schema folder, or it holds no cases/ folder: {folder}"
        else:
            raise AssertionError(folder)

    class Clash:
        @hookimpl
        def policy_eval_case_loaders(self) -> dict[str, Any]:
            return {"jsonl": lambda stream, source, options: iter(())}

    try:
        Rulebook.load(plugins=[Clash()], entry_points=False)
    except PluginError as exc:
        assert "the input format 'jsonl' is built in" in str(exc)
    else:
        raise AssertionError("a clash loaded")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
def test_forked_workers_share_the_rulebook_instead_of_loading_it_again(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the bundled rulebook costs a worker about 0.4 s of CPU; forked from the process that loaded it,
    a worker shares it (10,000 cases, findings: the workers' CPU 161 -> 78 us a case)."""
    import policy_eval.rulebook as rulebook_module

    book = Rulebook.load()
    alone = [r.to_dict() for r in book.evaluate_many(CHATS * 3)]
    load = rulebook_module.load_rulebook
    marks = tmp_path / "loads"
    marks.mkdir()

    def counted(*args: Any, **kwargs: Any) -> Any:
        (marks / str(os.getpid())).touch()  # (in whichever process loads it: the workers are forked after this)
        return load(*args, **kwargs)
    monkeypatch.setattr(rulebook_module, "load_rulebook", counted)
    assert [r.to_dict() for r in book.evaluate_many(CHATS * 3, jobs=2)] == alone
    assert list(marks.iterdir()) == []

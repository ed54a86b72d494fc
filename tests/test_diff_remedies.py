"""``policy-eval diff`` reports what a revision changes in verdicts whose outcome stays: remedies, severity, message.

A user's finding: a revision of the warranty policy that raises the compensation per order from 100.00 CNY
to 150.00 CNY (全国联保规则 三.1, parameter compensation_per_order) was reported as "0 of 1 case(s) change
outcome" and exit 0 -- no impact -- though ``eval`` of the revised folder owes the buyer 150.00 CNY. A
severity change (``amend: severity``) and a reworded message were invisible as well, in text and JSON.

Expected values come from the policy text (policies/warranty/v1.yaml) and the example cases:
EX-WAR-001 (examples/warranty_refused_breach.json) has the platform's finding "breach", so
breach-compensation is violated with remedies compensate_buyer (amount compensation_per_order, to buyer)
and merchant_sanction, and its message quotes the amount; detail-page-info (severity low) is violated on
EX-WAR-001 and complied on EX-WAR-002 and EX-WAR-003.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from policy_eval.cli import run
from policy_eval.errors import printable
from policy_eval.run.result import Outcome, RuleResult
from policy_eval.run.verdict_changes import SameOutcome, remedy_changes

ROOT = Path(__file__).resolve().parent.parent
WARRANTY = ROOT / "policies" / "warranty" / "v1.yaml"
BREACH = ROOT / "examples" / "warranty_refused_breach.json"
CASES = [ROOT / "examples" / f"warranty_{name}.json" for name in ("refused_breach", "fee_charged", "stopped_service")]
RULE = "national-warranty/breach-compensation"
HEADING = "national-warranty/breach-compensation [全国联保规则 三.1, 三.2]"
MESSAGE = ("拼多多 found that the merchant breached its 全国联保 commitment on order 240301-100200300409001: "
           "{} owed to the buyer as a 50-year no-threshold platform coupon")

# diff's --format json (no schema under schemas/ describes it; this is the shape the tests hold it to)
_CASES = {"type": "array", "items": {"type": "string"}}
_REMEDY = {"type": ["object", "null"], "required": ["kind"], "additionalProperties": False,
           "properties": {"kind": {"type": "string"}, "to": {"type": "string"}, "amount_text": {"type": "string"},
                          "amount": {"type": ["object", "null"], "required": ["amount", "currency"]},
                          "duration": {"type": "string"}, "form": {"type": "string"}}}
DIFF_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["cases", "changed_cases", "rejected", "compared", "identical", "transitions",
                 "same_outcome_changed_cases", "same_outcome_changes", "rejections", "unjudged_versions"],
    "properties": {
        "same_outcome_changed_cases": {"type": "integer", "minimum": 0},
        "same_outcome_changes": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["rule", "clause", "remedies", "severity", "message"],
            "properties": {
                "rule": {"type": "string"}, "clause": {"type": ["string", "null"]},
                "remedies": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["outcome", "changes", "count", "cases"],
                    "properties": {"outcome": {"type": "string"}, "count": {"type": "integer"}, "cases": _CASES,
                                   "changes": {"type": "array", "minItems": 1, "items": {
                                       "type": "object", "additionalProperties": False,
                                       "required": ["from", "to", "text"],
                                       "properties": {"from": _REMEDY, "to": _REMEDY, "text": {"type": "string"}}}}}}},
                "severity": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["outcome", "from", "to", "count", "cases"],
                    "properties": {"outcome": {"enum": ["violated", "undetermined"]}, "from": {"type": "string"},
                                   "to": {"type": "string"}, "count": {"type": "integer"}, "cases": _CASES}}},
                "message": {"oneOf": [{"type": "null"}, {
                    "type": "object", "additionalProperties": False,
                    "required": ["outcome", "count", "cases", "example"],
                    "properties": {"outcome": {"const": "violated"}, "count": {"type": "integer"}, "cases": _CASES,
                                   "example": {"type": "object", "required": ["case", "from", "to"],
                                               "additionalProperties": False,
                                               "properties": {"case": {"type": "string"}, "from": {"type": "string"},
                                                              "to": {"type": "string"}}}}}]},
            }}},
    },
}


def _diff(old: Path, new: Path, cases: list[Path], *flags: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", str(old), str(new), *map(str, cases), *flags], out, err)
    return code, out.getvalue(), err.getvalue()


def _json(old: Path, new: Path, cases: list[Path], *flags: str) -> dict[str, Any]:
    code, out, err = _diff(old, new, cases, "--format", "json", *flags)
    assert (code, err) == (0, "")
    report: dict[str, Any] = json.loads(out)
    jsonschema.Draft202012Validator(DIFF_SCHEMA).validate(report)
    for entry in report["same_outcome_changes"]:
        for group in [*entry["remedies"], *entry["severity"], *([entry["message"]] if entry["message"] else [])]:
            assert group["count"] == len(group["cases"])
    return report


def _revised(tmp_path: Path, edit: Callable[[str], str]) -> tuple[Path, Path]:
    """The warranty policy as it is (old/) and edited (new/)."""
    old, new = tmp_path / "old", tmp_path / "new"
    text = WARRANTY.read_text(encoding="utf-8")
    for folder, body in ((old, text), (new, edit(text))):
        folder.mkdir()
        (folder / "v1.yaml").write_text(body, encoding="utf-8")
    return old, new


def _replace(before: str, after: str, count: int = 1) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert text.count(before) == count, before
        return text.replace(before, after)
    return edit


@pytest.fixture(scope="module")
def compensation_150(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's repro: a copy of policies/ whose compensation per order reads 150.00 CNY."""
    rev = tmp_path_factory.mktemp("h2") / "rev"
    shutil.copytree(ROOT / "policies", rev)
    path = rev / "warranty" / "v1.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("value: 100.00 CNY") == 1
    path.write_text(text.replace("value: 100.00 CNY", "value: 150.00 CNY"), encoding="utf-8")
    return rev


def test_a_revision_of_the_money_owed_is_reported(compensation_150: Path) -> None:
    code, out, err = _diff(ROOT / "policies", compensation_150, [BREACH])
    assert (code, err) == (0, "")  # without --exit-code a change is no failure, as for an outcome change
    assert out.splitlines() == [
        HEADING,
        "  violated, remedy compensate_buyer 100.00 CNY -> 150.00 CNY: 1 case (EX-WAR-001)",
        "  violated, message changed: 1 case (EX-WAR-001); e.g. EX-WAR-001:",
        "    old: " + MESSAGE.format("100.00 CNY"),
        "    new: " + MESSAGE.format("150.00 CNY"),
        "1 of 1 case(s) keep every outcome but change remedies, severity or message",
        "0 of 1 case(s) change outcome",
    ]


def test_the_money_revision_in_json_carries_the_exact_amounts(compensation_150: Path) -> None:
    report = _json(ROOT / "policies", compensation_150, [BREACH])
    assert (report["cases"], report["changed_cases"], report["same_outcome_changed_cases"]) == (1, 0, 1)
    assert report["transitions"] == []
    (entry,) = report["same_outcome_changes"]
    assert (entry["rule"], entry["clause"], entry["severity"]) == (RULE, "全国联保规则 三.1, 三.2", [])
    (group,) = entry["remedies"]
    assert (group["outcome"], group["cases"]) == ("violated", ["EX-WAR-001"])
    (change,) = group["changes"]
    assert change["text"] == "compensate_buyer 100.00 CNY -> 150.00 CNY"
    assert change["from"]["amount"] == {"amount": "100.00", "currency": "CNY"}
    assert change["to"]["amount"] == {"amount": "150.00", "currency": "CNY"}
    assert Decimal(change["to"]["amount"]["amount"]) - Decimal(change["from"]["amount"]["amount"]) == Decimal("50.00")
    assert change["from"]["to"] == change["to"]["to"] == "buyer"
    assert entry["message"] == {"outcome": "violated", "count": 1, "cases": ["EX-WAR-001"], "example": {
        "case": "EX-WAR-001", "from": MESSAGE.format("100.00 CNY"), "to": MESSAGE.format("150.00 CNY")}}


def test_exit_code_counts_a_remedy_only_change_as_a_change(compensation_150: Path) -> None:
    code, _, _ = _diff(ROOT / "policies", compensation_150, [BREACH], "--exit-code")
    assert code == 1  # the money owed changes: a CI gate on --exit-code must not pass it as "no impact"


def test_a_severity_amendment_is_reported(tmp_path: Path) -> None:
    old, new = _revised(tmp_path, _replace("  effective_from: unstated\n",
                                           "  effective_from: unstated\n  effective_until: 2024-01-01\n"))
    (new / "v2.yaml").write_text('policy:\n  id: national-warranty\n  version: "2"\n  revises: "1"\n'
                                 "  effective_from: 2024-01-01\namend:\n  - id: breach-compensation\n"
                                 "    severity: critical\n", encoding="utf-8")
    code, out, _ = _diff(old, new, CASES, "--exit-code")
    assert code == 1
    lines = out.splitlines()
    assert lines[lines.index(HEADING) + 1] == "  violated, severity high -> critical: 1 case (EX-WAR-001)"
    assert lines[-2:] == ["1 of 3 case(s) keep every outcome but change remedies, severity or message",
                          "0 of 3 case(s) change outcome"]
    report = _json(old, new, CASES)
    (entry,) = report["same_outcome_changes"]
    assert entry["rule"] == RULE and entry["remedies"] == [] and entry["message"] is None
    assert entry["severity"] == [{"outcome": "violated", "from": "high", "to": "critical", "count": 1,
                                  "cases": ["EX-WAR-001"]}]


def test_a_severity_change_counts_where_the_rule_is_violated_not_where_it_is_complied(tmp_path: Path) -> None:
    # severity low -> medium for detail-page-info and guide-consumers: violated on EX-WAR-001 only
    old, new = _revised(tmp_path, _replace("severity: low", "severity: medium", count=2))
    code, out, _ = _diff(old, new, CASES)
    assert code == 0
    assert out.splitlines() == [
        "national-warranty/detail-page-info [全国联保规则 一.2]",
        "  violated, severity low -> medium: 1 case (EX-WAR-001)",
        "1 of 3 case(s) keep every outcome but change remedies, severity or message",
        "0 of 3 case(s) change outcome",
    ]


def test_a_message_change_is_counted_with_one_example(tmp_path: Path) -> None:
    old, new = _revised(tmp_path, _replace("owed to the buyer as a", "due to the buyer as a"))
    code, out, _ = _diff(old, new, CASES)
    assert code == 0
    reworded = MESSAGE.replace("owed to", "due to").format("100.00 CNY")
    assert out.splitlines() == [
        HEADING,
        "  violated, message changed: 1 case (EX-WAR-001); e.g. EX-WAR-001:",
        "    old: " + MESSAGE.format("100.00 CNY"),
        "    new: " + reworded,
        "1 of 3 case(s) keep every outcome but change remedies, severity or message",
        "0 of 3 case(s) change outcome",
    ]
    (entry,) = _json(old, new, CASES)["same_outcome_changes"]
    assert entry["message"]["example"] == {"case": "EX-WAR-001", "from": MESSAGE.format("100.00 CNY"), "to": reworded}


def test_a_revision_with_no_change_reports_nothing(tmp_path: Path) -> None:
    old, new = _revised(tmp_path, lambda text: text)
    code, out, _ = _diff(old, new, CASES, "--exit-code")
    assert code == 0
    assert out.splitlines() == [
        "0 of 3 case(s) change outcome",
        "nothing compared: the two rulebooks are identical (the same content hash: policy files, case schemas and "
        "deployment parameters)",
    ]
    report = _json(old, new, CASES)
    assert (report["same_outcome_changed_cases"], report["same_outcome_changes"]) == (0, [])


def test_a_rewrite_that_owes_the_same_reports_nothing(tmp_path: Path) -> None:
    """The amount written 100 CNY instead of 100.00 CNY (the same Decimal), the two remedies swapped and a
    remedy's prose description reworded: the case is owed exactly what it was."""
    sanction = ("      - kind: merchant_sanction\n        to: merchant\n        description: 三.2 违规处理措施, including "
                "restrictions on the product and the store.\n")

    def edit(text: str) -> str:
        text = _replace("value: 100.00 CNY", "value: 100 CNY")(text)
        text = _replace("三.1 每单100元;", "三.1 每单 100 元;")(text)
        text = _replace(sanction, "")(text)
        return _replace("    remedies:\n      - kind: compensate_buyer\n",
                        "    remedies:\n" + sanction + "      - kind: compensate_buyer\n")(text)

    old, new = _revised(tmp_path, edit)
    code, out, _ = _diff(old, new, CASES, "--exit-code")
    assert (code, out) == (0, "0 of 3 case(s) change outcome\n")  # compared (the version differs), no change


def test_a_case_that_changes_outcome_is_not_counted_again(tmp_path: Path) -> None:
    """after-sales v2's handling_limit 48h -> 24h (docs/policies.md's example): PDD-AS-2023-000342 changes
    outcome under refund-only-handling-limit, and loses unshipped-auto-refund's auto_refund (violated on both
    sides); it is listed under both rules but counted once, as a case that changes outcome."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(ROOT / "policies" / "after_sales", old)
    shutil.copytree(ROOT / "policies" / "after_sales", new)
    v2 = new / "v2.yaml"
    v2.write_text(_replace("    value: 48h\n", "    value: 24h\n")(v2.read_text(encoding="utf-8")), encoding="utf-8")
    cases = sorted((ROOT / "examples").glob("after_sale_*.json")) + [ROOT / "examples" / "after_sales.jsonl"]
    code, out, _ = _diff(old, new, cases)
    lines = out.splitlines()
    assert code == 0
    i = lines.index("after-sales/refund-only-handling-limit [售后服务规则 2.2]")
    assert lines[i + 1:i + 4] == [  # the transitions first, as before, then what changes with the same outcome
        "  complied -> violated with after-sales.handling_limit 48h -> 24h: 1 case (PDD-AS-2024-001205)",
        "  not_applicable -> violated with after-sales.handling_limit 48h -> 24h: 1 case (PDD-AS-2023-000342)",
        "  violated, message changed: 2 cases (PDD-AS-2023-000187, JL-002); e.g. PDD-AS-2023-000187:"]
    assert "  violated, remedy auto_refund 19.90 CNY to buyer -> none: 1 case (PDD-AS-2023-000342)" in lines
    assert lines[-2:] == ["3 of 26 case(s) keep every outcome but change remedies, severity or message",
                          "2 of 26 case(s) change outcome"]
    report = _json(old, new, cases)
    assert (report["changed_cases"], report["same_outcome_changed_cases"]) == (2, 3)


# --- remedies compared as values -------------------------------------------------------------------------------

def _rem(kind: str, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind}
    if "amount" in fields:
        amount, currency = fields.pop("amount").split()
        out["amount"], out["amount_text"] = {"amount": amount, "currency": currency}, f"{amount} {currency}"
    return {**out, **fields}


def test_amounts_are_compared_as_decimals_with_their_currency() -> None:
    assert remedy_changes([_rem("refund", amount="100.0 CNY")], [_rem("refund", amount="100.00 CNY")]) == ()
    (change,) = remedy_changes([_rem("refund", amount="100.00 CNY")], [_rem("refund", amount="100.01 CNY")])
    assert change.text == "refund 100.00 CNY -> 100.01 CNY"
    (change,) = remedy_changes([_rem("refund", amount="100.00 CNY")], [_rem("refund", amount="100.00 USD")])
    assert change.text == "refund 100.00 CNY -> 100.00 USD"
    (change,) = remedy_changes([_rem("refund", amount="100.00 CNY")], [{"kind": "refund", "amount": None,
                                                                         "amount_text": "unknown"}])
    assert change.text == "refund 100.00 CNY -> unknown"


def test_durations_are_compared_as_durations() -> None:
    assert remedy_changes([_rem("ban", duration="7d")], [_rem("ban", duration="168h")]) == ()
    (change,) = remedy_changes([_rem("ban", duration="7d", to="merchant")], [_rem("ban", duration="7d12h", to="merchant")])
    assert change.text == "ban for 7d -> for 7d12h"
    assert change.to_dict()["from"] == {"kind": "ban", "duration": "7d", "to": "merchant"}


def test_remedies_are_paired_by_kind_and_order_alone_is_no_change() -> None:
    a, b = _rem("refund", amount="10.00 CNY", to="buyer"), _rem("warn", to="merchant")
    assert remedy_changes([a, b], [b, a]) == ()
    (change,) = remedy_changes([a, b], [_rem("refund", amount="10.00 CNY", to="merchant"), b])
    assert change.text == "refund to buyer -> to merchant"
    (change,) = remedy_changes([a, b], [a, _rem("ban", duration="7d", to="merchant")])
    assert change.text == "warn to merchant -> ban for 7d to merchant"  # a kind replaced by another
    added, removed = remedy_changes([a], [_rem("warn")]), remedy_changes([a, b], [a])
    assert [c.text for c in added] == ["refund 10.00 CNY to buyer -> warn"]
    assert [c.text for c in removed] == ["warn to merchant -> none"]
    (extra,) = remedy_changes([a], [a, b])
    assert (extra.text, extra.to_dict()["from"]) == ("none -> warn to merchant", None)


def _verdict(outcome: Outcome, severity: str, message: str | None = None) -> RuleResult:
    return RuleResult("p", "1", "r", "t", "c", outcome, severity, "reason", message=message)


def test_severity_counts_on_violated_and_undetermined_verdicts_only() -> None:
    entry = SameOutcome("p/r", "c")
    assert entry.add("a", _verdict(Outcome.UNDETERMINED, "low"), _verdict(Outcome.UNDETERMINED, "high"))
    assert not entry.add("b", _verdict(Outcome.COMPLIED, "low"), _verdict(Outcome.COMPLIED, "high"))
    assert not entry.add("c", _verdict(Outcome.NOT_APPLICABLE, "low"), _verdict(Outcome.NOT_APPLICABLE, "high"))
    assert entry.severity == {("undetermined", "low", "high"): ["a"]}


def test_a_message_reflowed_is_no_change_and_a_long_one_is_shown_where_it_differs() -> None:
    entry = SameOutcome("p/r", "c")
    assert not entry.add("a", _verdict(Outcome.VIOLATED, "high", "late by\n  2 days"),
                         _verdict(Outcome.VIOLATED, "high", "late by 2 days"))
    head = "x" * 400
    assert entry.add("b", _verdict(Outcome.VIOLATED, "high", head + " 100.00 CNY"),
                     _verdict(Outcome.VIOLATED, "high", head + " 150.00 CNY"))
    old, new = entry.lines(lambda cases: ", ".join(cases))[-2:]
    assert old.startswith("    old: …") and old.endswith(" 100.00 CNY") and len(old) < 300
    assert new.startswith("    new: …") and new.endswith(" 150.00 CNY")
    assert entry.to_dict()["message"]["example"]["from"] == head + " 100.00 CNY"  # exact in JSON


def test_case_ids_in_the_lines_are_escaped() -> None:
    entry = SameOutcome("p/r", "c")
    entry.add("evil\nREJECTED x", _verdict(Outcome.VIOLATED, "low"), _verdict(Outcome.VIOLATED, "high"))
    entry.add("evil\nREJECTED x", _verdict(Outcome.VIOLATED, "low", "a\x1b[2J"), _verdict(Outcome.VIOLATED, "low", "b"))
    text = "\n".join(entry.lines(lambda cases: printable(", ".join(cases))))
    assert "\x1b" not in text and "\nREJECTED" not in text



def test_many_different_remedy_changes_of_one_rule_are_shown_most_common_first_then_counted() -> None:
    entry = SameOutcome("p/r", "c")
    before = _verdict(Outcome.VIOLATED, "high")
    before.remedies = (_rem("refund", amount="1.00 CNY"),)
    for i in range(12):  # case i: 1.00 -> (2 + i).00 CNY, and two more cases for 2.00
        after = _verdict(Outcome.VIOLATED, "high")
        after.remedies = (_rem("refund", amount=f"{2 + i}.00 CNY"),)
        for case in [f"c{i}"] + ([f"c{i}b", f"c{i}c"] if i == 0 else []):
            assert entry.add(case, before, after)
    lines = entry.lines(lambda cases: ", ".join(cases), limit=8)
    assert lines[0] == "  violated, remedy refund 1.00 CNY -> 2.00 CNY: 3 cases (c0, c0b, c0c)"
    assert len(lines) == 9 and lines[-1] == "  … and 4 more remedy change(s), in 4 cases"
    assert len(entry.to_dict()["remedies"]) == 12  # JSON: all of them

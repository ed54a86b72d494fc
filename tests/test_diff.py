"""`policy-eval diff` between the two texts of the after-sales rules, over the golden after-sale cases.

The earlier text (拼多多售后规则, policies/after_sales/v1.yaml) and the later one (拼多多售后服务规则,
v2.yaml) are the two documents of /work/shared/seeds/003 (the earlier one is the last in that file). What
the later text changes, and so which verdicts may move:

* 1.2 special goods: "水果、生鲜及虚拟商品" becomes "水果、生鲜、虚拟商品、汽车及平台不时规定的其它商品":
  a shipped car stops being eligible for return-and-refund (return-refund-eligibility).
* 1.3: the earlier text sends refund requests on orders unshipped and still inside the promised shipping
  time to the PLATFORM ("用户应向平台申请退款, 由平台审查"), so v1's 48-hour handling rules exclude them
  (platform_review); the later 1.3 only asks the merchant to cooperate, so v2's 2.2 and 3.2 apply to them.
* 2.1 refund-only window: "拼团成功后至商家承诺的售后有效期届满前" (from group success, strictly before the
  end of the promised period) becomes "订单确认后至确认收货满15天或商家承诺的售后有效期届满之日(以较晚者为准)"
  (from order confirmation to the end of the later of the DAYS on which receipt + 15 days and the promised
  period run out: "之日" names a day, so that whole day is inside). The same
  window feeds refund-only-late-resubmission (2.4 -> 2.5).
* 3.1 return-and-refund window: "商家发货后至商家承诺的售后有效期届满前" becomes "... 至订单确认收货满15天或
  商家承诺的售后有效期届满之日(以较晚者为准)"; it also feeds return-refund-late-resubmission.
* 2.2 new second paragraph: the platform may shorten the handling time, leaving at least 24 hours; v2 adds
  platform-shortening-floor and a shortened deadline in refund-only-handling-limit.
* 2.3 new: an order unshipped at submission whose merchant has not handled the request when the promised
  shipping time passes is refunded automatically (unshipped-auto-refund).

Every other rule reads the same in both files (checked below), so its verdict cannot change. A rule that
exists on one side only is "absent" on the other; diff treats absent like not_applicable (it asks nothing
of the case), so only new rules that APPLY to a case show up.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_eval.run.testing import load_tests

PE = Path(sys.executable).parent / "policy-eval"
ROOT = Path(__file__).resolve().parent.parent
GOLDEN = [ROOT / "tests" / "golden" / "after_sales_v1.yaml", ROOT / "tests" / "golden" / "after_sales_v2.yaml"]
POLICIES = ROOT / "policies" / "after_sales"

# (case, rule, from, to) — "rule" without the "after-sales/" prefix. Times are Asia/Shanghai; "recv" is the
# order's received_at, "days" its promised_after_sale_days, "sub" the request's submitted_at.
EXPECTED = {
    # --- return-refund-eligibility (1.2: 汽车 joins the special goods) --------------------------------------
    # a shipped car (shipped 06-02, submitted 06-06): eligible under v1's list, special goods under v2's
    ("V1-039", "return-refund-eligibility", "complied", "violated"),
    # the same for the car shipped 2021-03-01 15:00 and submitted 03-04 (the case that forces v1 by as_of)
    ("V1-069", "return-refund-eligibility", "complied", "violated"),
    # the car of the v2 golden cases (shipped 03-02, submitted 03-06)
    ("V2-048", "return-refund-eligibility", "complied", "violated"),
    # --- refund-only-window (2.1) ---------------------------------------------------------------------------
    # sub 06-12 12:00:00 = recv 06-05 12:00 + 7 days: v1 ends strictly before that instant (届满前) -> late;
    # v2 runs to the later of recv + 15 d (06-20 12:00) and recv + 7 d, inclusive -> inside
    ("V1-015", "refund-only-window", "violated", "complied"),
    # promised period unknown, sub 06-10 10:00: v1's end recv + days is unknown -> undetermined; v2: sub is
    # within recv + 15 d (06-20 12:00), and "or" with an unknown other side is still true
    ("V1-016", "refund-only-window", "undetermined", "complied"),
    # promised period unknown, sub 06-06 10:00: the same reasoning
    ("V1-034", "refund-only-window", "undetermined", "complied"),
    # sub 2021-03-20 12:00:00 = recv 03-05 12:00 + 15 d exactly: past v1's recv + 7 d (03-12 12:00); v2's last
    # second (inclusive)
    ("V2-004", "refund-only-window", "violated", "complied"),
    # days 30, sub 04-04 12:00:00 = recv + 30 d exactly: v1 exclusive -> late; v2 inclusive -> inside
    ("V2-006", "refund-only-window", "violated", "complied"),
    # promised period unknown, sub 03-10 10:00 (within 15 days of receipt): v1 undetermined, v2 complied
    ("V2-008", "refund-only-window", "undetermined", "complied"),
    # promised period unknown, sub 03-06 10:00 (the late-resubmission case's original request): as V2-008
    ("V2-040", "refund-only-window", "undetermined", "complied"),
    # sub 03-20 12:00:01 / 23:59:59, later on the day recv + 15 d falls on (03-20): past v1's recv + 7 d; inside
    # v2's window, which includes that whole day (之日)
    ("V2-005", "refund-only-window", "violated", "complied"),
    ("V2-005B", "refund-only-window", "violated", "complied"),
    # days 30, sub 04-04 12:00:01: one second past recv + 30 d (v1, exclusive: late); on v2's last day (04-04)
    ("V2-007", "refund-only-window", "violated", "complied"),
    # (V2-005C 03-21 00:00:00 and V2-007B 04-05 00:00:00 are past both windows: violated in both;
    #  V2-009, sub 03-21 after 15 d with days unknown, and V2-010, no start time, are undetermined in both.)
    # --- refund-only-late-resubmission (2.4 -> 2.5, the 2.1 window) ----------------------------------------
    # rejected 06-06 20:00, resubmitted 06-14 10:00 (> 7 d later, so the rule applies); v1 window ended
    # 06-12 12:00 -> late; v2 window ends 06-20 12:00 -> inside
    ("V1-032", "refund-only-late-resubmission", "violated", "complied"),
    # resubmitted 06-14 10:00 with the promised period unknown: v1 undetermined; v2 within recv + 15 d
    ("V1-034", "refund-only-late-resubmission", "undetermined", "complied"),
    # resubmitted 03-20 12:00:00 = recv + 15 d, v2's last second; past v1's 03-12 12:00
    ("V2-038", "refund-only-late-resubmission", "violated", "complied"),
    # resubmitted 03-20 12:00:01, later on v2's last day (之日); past v1's 03-12 12:00 (V2-039B, 03-21 00:00:00,
    # is late in both)
    ("V2-039", "refund-only-late-resubmission", "violated", "complied"),
    # --- return-refund-window (3.1) -------------------------------------------------------------------------
    # sub 06-12 12:00:00 = recv + 7 d: v1 exclusive -> late; v2 within recv + 15 d
    ("V1-045", "return-refund-window", "violated", "complied"),
    # promised period unknown, sub 06-08: v1 undetermined; v2 within 15 days of receipt
    ("V1-047", "return-refund-window", "undetermined", "complied"),
    # sub 03-20 12:00:00 = recv + 15 d: past v1's recv + 7 d; v2's last second
    ("V2-052", "return-refund-window", "violated", "complied"),
    # days 30, sub 04-04 12:00:00 = recv + 30 d: v1 exclusive -> late; v2 inclusive
    ("V2-054", "return-refund-window", "violated", "complied"),
    # sub 03-20 12:00:01 (V2-053) / 04-04 22:30 with a 30-day promise (V2-055): on the day v2's window runs out,
    # past v1's exclusive recv + 7 d / recv + 30 d (V2-053B 03-21 00:00 and V2-055B 04-05 00:00: late in both)
    ("V2-053", "return-refund-window", "violated", "complied"),
    ("V2-055", "return-refund-window", "violated", "complied"),
    # --- return-refund-late-resubmission (3.4, the 3.1 window) ---------------------------------------------
    # rejected 06-07 10:00, resubmitted 06-14 10:00:01 (7 d + 1 s later, so it applies): past v1's window end
    # 06-12 12:00; inside v2's 06-20 12:00
    ("V1-051", "return-refund-late-resubmission", "violated", "complied"),
    # --- refund-only-handling-limit (2.2; v1's 1.3 platform review; v2's shortened deadline) ---------------
    # unshipped, sub 06-01 18:00 before ship-by 06-03 10:00: platform review in v1 (not applicable); v2 holds
    # the merchant to sub + 48 h = 06-03 18:00, and the snapshot 06-05 finds no response -> violated
    ("V1-021", "refund-only-handling-limit", "not_applicable", "violated"),
    # unshipped, ship-by unknown: v1's platform_review is unknown, so "not platform_review" and the rule are
    # undetermined; v2 has no such condition and the agreement at 12:00 is within 48 h
    ("V1-025", "refund-only-handling-limit", "undetermined", "complied"),
    # shortened to sub + 24 h (03-07 10:00, no earlier than the 24-hour floor): the agreement at 10:00:01 is
    # one second late in v2; v1 knows no shortening, 48 h -> complied
    ("V2-016", "refund-only-handling-limit", "complied", "violated"),
    # shortened at 03-06 20:00 to 03-07 20:00 (exactly the floor): the rejection at 20:00:01 is late in v2;
    # within v1's 48 h
    ("V2-019", "refund-only-handling-limit", "complied", "violated"),
    # unshipped, sub 03-02 10:00 before ship-by: v1 platform review; v2: agreed 03-03 10:00, within 48 h
    ("V2-022", "refund-only-handling-limit", "not_applicable", "complied"),
    # the same, with a rejection at 03-03 10:00:01 (within 48 h)
    ("V2-025", "refund-only-handling-limit", "not_applicable", "complied"),
    # unshipped, ship-by unknown, agreed at 12:00: v1 undetermined (as V1-025), v2 complied
    ("V2-028", "refund-only-handling-limit", "undetermined", "complied"),
    # unshipped before ship-by: v1 platform review; v2: withdrawn 03-02 20:00, within 48 h -> complied
    ("V2-029", "refund-only-handling-limit", "not_applicable", "complied"),
    # unshipped, sub 03-01 18:00 before ship-by: v1 platform review; v2: agreed 03-02 12:00 -> complied
    ("V2-030", "refund-only-handling-limit", "not_applicable", "complied"),
    # (V2-017/V2-018: the platform's deadline is below the floor, so the merchant keeps the floor and answers
    #  in time in both; V2-020's merchant is late in both; V2-023/24/27/31/32/V1-012/13/18-20/22: unshipped
    #  inside ship-by, v1 platform review, and v2's 48 h are not over at the snapshot -> not applicable in both.)
    # --- return-refund-handling-limit (3.2 carried over; v1's 1.3 platform review dropped) -----------------
    # (V1-041 and V2-050, return-and-refund on unshipped orders, are outside the return-and-refund flow
    #  (1.2) in both texts, so 3.2's default is not applicable in both: no change. Issue 19 item 1.)
    # --- flow steps follow their version's window (issue 19 item 1: a step presupposes an admitted request)
    # sub 06-12 12:00:00 = recv + 7 d: outside v1's window -> 2.2 n/a; inside v2's -> handled in time
    ("V1-015", "refund-only-handling-limit", "not_applicable", "complied"),
    # promised period unknown: v1's window undetermined -> the steps too; v2's window holds (15 d)
    ("V1-016", "refund-only-handling-limit", "undetermined", "complied"),
    ("V1-016", "agreed-refund-issued", "undetermined", "complied"),
    ("V1-034", "refund-only-handling-limit", "undetermined", "complied"),
    ("V1-034", "refund-only-rejection-followup", "undetermined", "violated"),
    ("V2-008", "refund-only-handling-limit", "undetermined", "complied"),
    ("V2-008", "agreed-refund-issued", "undetermined", "complied"),
    ("V2-040", "refund-only-handling-limit", "undetermined", "complied"),
    ("V2-040", "refund-only-rejection-followup", "undetermined", "violated"),
    # sub at recv + 15 d (V2-004) or recv + 30 d with a 30-day promise (V2-006): late in v1, in time in v2
    ("V2-004", "refund-only-handling-limit", "not_applicable", "complied"),
    ("V2-006", "refund-only-handling-limit", "not_applicable", "complied"),
    ("V2-005", "refund-only-handling-limit", "not_applicable", "complied"),
    ("V2-006", "agreed-refund-issued", "not_applicable", "complied"),
    # --- withdrawal-before-refund (the later 2.6 names only 仅退款申请; issue 19 item 8) --------------------
    ("V1-059", "withdrawal-before-refund", "complied", "not_applicable"),
    ("V2-042", "withdrawal-before-refund", "violated", "not_applicable"),
    ("V2-043", "withdrawal-before-refund", "complied", "not_applicable"),
    # (V1-046, submitted one second before shipping, is under platform review in v1, and v2's 48 h are not
    #  over at its snapshot: not applicable in both.)
    # --- platform-shortening-floor (new in v2, 2.2: at least 24 h must remain) -----------------------------
    # shortened to 03-07 10:00 = sub + 24 h: exactly the floor -> complied
    ("V2-015", "platform-shortening-floor", "absent", "complied"),
    # the same shortening (the merchant is late, but the platform kept the floor)
    ("V2-016", "platform-shortening-floor", "absent", "complied"),
    # shortened to 09:59:59, one second below sub + 24 h -> the platform's breach
    ("V2-017", "platform-shortening-floor", "absent", "violated"),
    # shortened at 03-06 20:00 to 03-07 16:00: only 20 h left after the shortening -> breach
    ("V2-018", "platform-shortening-floor", "absent", "violated"),
    # shortened at 03-06 20:00 to 03-07 20:00: exactly 24 h after the shortening -> complied
    ("V2-019", "platform-shortening-floor", "absent", "complied"),
    # "shortened" to 03-08 22:00, later than 48 h: above the floor -> complied (it extends nothing)
    ("V2-020", "platform-shortening-floor", "absent", "complied"),
    # (V2-021's shortening is on a return-and-refund request; the rule is refund-only -> not applicable.)
    # --- unshipped-auto-refund (new in v2, 2.3) -------------------------------------------------------------
    # unshipped, no response; snapshot 06-05 00:00 is past ship-by 06-03 10:00 -> automatic refund
    ("V1-021", "unshipped-auto-refund", "absent", "violated"),
    # unshipped, submitted 06-04 after ship-by 06-03 10:00 and never handled: the condition held at once
    ("V1-024", "unshipped-auto-refund", "absent", "violated"),
    # unshipped, ship-by unknown, agreed at 12:00: whether that was before ship-by is unknown
    ("V1-025", "unshipped-auto-refund", "absent", "undetermined"),
    # agreed exactly at ship-by 03-03 10:00 ("超过" is strict) -> complied
    ("V2-022", "unshipped-auto-refund", "absent", "complied"),
    # no response, snapshot 03-03 10:00:01, one second past ship-by -> violated
    ("V2-023", "unshipped-auto-refund", "absent", "violated"),
    # rejected at 10:00:01, one second after ship-by -> violated
    ("V2-025", "unshipped-auto-refund", "absent", "violated"),
    # submitted 03-04 after ship-by 03-03 10:00: the agreement at 03-04 11:00 is already too late
    ("V2-026", "unshipped-auto-refund", "absent", "violated"),
    # shipped 03-02 15:00, after the 10:00 request, without answering it: unhandled at ship-by -> violated
    ("V2-027", "unshipped-auto-refund", "absent", "violated"),
    # ship-by unknown: undetermined (as V1-025)
    ("V2-028", "unshipped-auto-refund", "absent", "undetermined"),
    # withdrawn 03-02 20:00, before ship-by -> nothing left unhandled -> complied
    ("V2-029", "unshipped-auto-refund", "absent", "complied"),
    # agreed 03-02 12:00, before ship-by -> complied
    ("V2-030", "unshipped-auto-refund", "absent", "complied"),
    # submitted 03-04 10:00 after ship-by, no response at the snapshot 03-05 13:00 -> violated
    ("V2-033", "unshipped-auto-refund", "absent", "violated"),
    # (Shipped orders are outside 2.3; V1-012/13/18/19/20/22 and V2-002/03/24/31/32 are unshipped but their
    #  snapshot comes before ship-by with no response yet -> not applicable, no change.)
    # --- agreed-refund-issued (2.6 / 2.7: only an agreement the merchant made in time; after the system's
    # default the refund is the default's, listed once): v2's defaults come earlier on these cases
    # the platform shortened the deadline and the merchant agreed after it: v2's 2.2 default came first
    ("V2-016", "agreed-refund-issued", "complied", "not_applicable"),
    # unshipped, submitted after ship-by: v2's 2.3 default held at once, so the agreement is not the merchant's
    ("V2-026", "agreed-refund-issued", "complied", "not_applicable"),
    # unshipped, ship-by unknown: whether v2's 2.3 default came before the agreement is unknown (v1: in time)
    ("V1-025", "agreed-refund-issued", "complied", "undetermined"),
    ("V2-028", "agreed-refund-issued", "complied", "undetermined"),
}

UNCHANGED_RULES = ["merchant-verification-cooperation", "refund-only-rejection-followup",
                   "agreed-refund-issued", "return-refund-rejection-followup", "return-shipment-deadline",
                   "merchant-after-return-deadline", "return-confirmed-refund-issued"]
# Rules whose body reads the same in both texts but whose admission test (let in_flow: the version's own
# window and special goods) differs, so their verdicts follow refund-only-window / return-refund-window.
FLOW_DEPENDENT = {"refund-only-handling-limit", "refund-only-rejection-followup", "agreed-refund-issued"}


def _rules(path: Path) -> dict[str, dict[str, object]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["rules"]}


def _norm(value: object) -> object:
    """Whitespace-normalised rule text, without the version's admission test (in_flow)."""
    if isinstance(value, str):
        return " ".join(value.split()).removeprefix("in_flow and ")
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if k != "in_flow"}
    return value


def test_the_rules_assumed_unchanged_read_the_same_in_both_texts() -> None:
    v1, v2 = _rules(POLICIES / "v1.yaml"), _rules(POLICIES / "v2.yaml")
    assert set(v2) - set(v1) == {"platform-shortening-floor", "unshipped-auto-refund"} and set(v1) <= set(v2)
    for rule in UNCHANGED_RULES:
        for key in ("when", "let", "require", "forbid"):
            assert _norm(v1[rule].get(key)) == _norm(v2[rule].get(key)), (rule, key)
    changed = {rid for rid in v1 if any(_norm(v1[rid].get(k)) != _norm(v2[rid].get(k))
                                        for k in ("when", "let", "require", "forbid"))}
    # return-refund-eligibility reads the same but its special_goods parameter gained 汽车
    # return-refund-handling-limit still differs (v1's 1.3 platform review), but the only golden cases it
    # touched (unshipped orders) are outside the return-and-refund flow in both texts now: no transition
    assert changed | {"return-refund-eligibility"} | FLOW_DEPENDENT == {r for _, r, _, _ in EXPECTED} - {
        "platform-shortening-floor", "unshipped-auto-refund"} | {"return-refund-handling-limit"}


@pytest.fixture(scope="module")
def diff_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, list[str]]:
    tmp = tmp_path_factory.mktemp("diff")
    for side, name in (("old", "v1.yaml"), ("new", "v2.yaml")):
        (tmp / side / "after_sales").mkdir(parents=True)
        shutil.copy(POLICIES / name, tmp / side / "after_sales" / name)
    cases = [t.case for f in GOLDEN for t in load_tests(f)]
    with (tmp / "golden_after_sale.jsonl").open("w", encoding="utf-8") as fh:
        for case in cases:
            fh.write(json.dumps(case, ensure_ascii=False) + "\n")
    argv = [str(PE), "diff", str(tmp / "old"), str(tmp / "new"), str(tmp / "golden_after_sale.jsonl"), "--latest"]
    as_json = subprocess.run([*argv, "--format", "json"], capture_output=True, text=True, timeout=300)
    assert as_json.returncode == 0, as_json.stderr
    as_text = subprocess.run([*argv, "--exit-code"], capture_output=True, text=True, timeout=300)
    assert as_text.returncode == 1, as_text.stderr  # --exit-code: something changed
    return json.loads(as_json.stdout), as_text.stdout, [str(c["case_id"]) for c in cases]


def test_diff_of_the_after_sales_revision_over_the_golden_cases(
        diff_run: tuple[dict[str, Any], str, list[str]]) -> None:
    report, _, ids = diff_run
    assert len(ids) == len(set(ids)) == 157
    assert report["cases"] == 157 and report["rejected"] == 0
    got = {(case, t["rule"].removeprefix("after-sales/"), t["from"], t["to"])
           for t in report["transitions"] for case in t["cases"]}
    assert got - EXPECTED == set(), "transitions the rule texts do not explain"
    assert EXPECTED - got == set(), "transitions the rule texts imply but the engine does not report"
    assert report["changed_cases"] == len({case for case, _, _, _ in EXPECTED}) == 44
    for t in report["transitions"]:
        assert t["count"] == len(t["cases"]) and t["from"] != t["to"]


def test_diff_text_groups_by_rule(diff_run: tuple[dict[str, Any], str, list[str]]) -> None:
    _, text, _ = diff_run
    lines = text.splitlines()
    assert lines[-1] == "44 of 157 case(s) change outcome"
    i = lines.index("after-sales/return-refund-eligibility [售后服务规则 1.2]")
    # the three are 汽车 orders: version 2 adds 汽车 to 1.2's special goods, and the transition says so
    assert lines[i + 1] == ('  complied -> violated with after-sales.special_goods ["水果", "生鲜", "水果生鲜", "虚拟商品"] -> '
                            '["水果", "生鲜", "水果生鲜", "虚拟商品", "汽车"]: 3 cases (V1-039, V1-069, V2-048)')
    assert "  absent -> violated: 7 cases (V1-021, V1-024, V2-023, V2-025, V2-026, V2-027, V2-033)" in lines


def test_rules_that_do_not_apply_are_no_change_and_bad_records_are_rejected() -> None:
    from policy_eval.rulebook import load_rulebook
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.validation import CaseValidator
    from policy_eval.run.diff import diff_rulebooks, latest_only
    from policy_eval.run.evaluate import Evaluator

    old, new = latest_only(load_rulebook(POLICIES / "v1.yaml")), latest_only(load_rulebook(POLICIES / "v2.yaml"))
    # line 1: JL-001 of examples/after_sales.jsonl; line 2: the same with a paid_amount of [1]; line 3: [1]
    path = ROOT / "tests" / "data" / "cli" / "diff_records.jsonl"
    records = list(read_cases([str(path)]))
    assert len(records) == 3
    report = diff_rulebooks(Evaluator(old), Evaluator(new), records, validator=CaseValidator(new.case_schemas))
    # JL-001: a shipped clothing order refunded in time; the two new v2 rules do not apply to it (absent in
    # v1, not applicable in v2), and nothing else moves
    assert (report.cases, report.changed_cases, report.rejected) == (3, 0, 2)
    assert report.transitions == {}
    assert report.rejections == [f"{path}:2: $.order.paid_amount: [1] is not of type 'string'",
                                 f"{path}:3: $: a case must be a JSON object, got an array"]
    assert report.text().splitlines()[-1] == "0 of 3 case(s) change outcome; 2 record(s) rejected and not compared"


def test_a_new_version_that_judged_none_of_the_cases_is_named(tmp_path: Path) -> None:
    """An author's audit: a v3 from 2030 diffed over cases of 2023 gave '0 of N case(s) change outcome' and looked
    like a revision that changes nothing; the report now names the version that judged none of them."""
    from policy_eval.rulebook import load_rulebook
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.run.diff import diff_rulebooks, latest_only
    from policy_eval.run.evaluate import Evaluator

    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        for f in ("v1.yaml", "v2.yaml"):
            (folder / f).write_text((POLICIES / f).read_text(encoding="utf-8"), encoding="utf-8")
    v2 = (new / "v2.yaml").read_text(encoding="utf-8")
    start = "  effective_from: 2021-01-01           # PLACEHOLDER: not in the source\n"
    assert start in v2
    (new / "v2.yaml").write_text(v2.replace(start, start + "  effective_until: 2030-01-01\n", 1), encoding="utf-8")
    (new / "v3.yaml").write_text('policy:\n  id: after-sales\n  version: "3"\n  revises: "2"\n'
                                 "  effective_from: 2030-01-01\nparams:\n  handling_limit: 72h\n", encoding="utf-8")
    records = list(read_cases([str(ROOT / "examples" / "after_sales.jsonl")]))
    report = diff_rulebooks(Evaluator(load_rulebook(old)), Evaluator(load_rulebook(new)), records)
    assert report.unjudged == ["after-sales version 3 (from 2030-01-01)"]
    assert "note: after-sales version 3 (from 2030-01-01) judged none of these cases" in report.text()
    assert report.to_dict()["unjudged_versions"] == report.unjudged
    latest = diff_rulebooks(Evaluator(latest_only(load_rulebook(old))), Evaluator(latest_only(load_rulebook(new))),
                            records)
    assert latest.unjudged == [] and latest.changed_cases > 0

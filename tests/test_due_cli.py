"""`policy-eval due`: sorted forecasts, --within, --as-of, the three formats, exit status."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli import run

ROOT = Path(__file__).resolve().parents[1]

OPEN = {"kind": "after_sale", "case_id": "OPEN-1", "snapshot_at": "2024-06-04T09:00:00+08:00",
        "order": {"id": "O-1", "category": "服饰", "confirmed_at": "2024-06-01T10:00:00+08:00",
                  "promised_ship_by": "2024-06-03T10:00:00+08:00", "shipped_at": "2024-06-02T10:00:00+08:00",
                  "paid_amount": "89.00"},
        "request": {"id": "R-1", "type": "refund_only", "submitted_at": "2024-06-03T20:10:00+08:00",
                    "status": "pending_merchant"}}
# the same request rejected by the merchant on 06-04 10:00: the buyer's 7 days end 06-11 10:00
REJECTED = {**OPEN, "case_id": "OPEN-2",
            "request": {**OPEN["request"], "id": "R-2", "status": "merchant_rejected",
                        "merchant_response": {"action": "reject", "at": "2024-06-04T10:00:00+08:00"}}}


def _cases(tmp_path: Path) -> str:
    path = tmp_path / "open.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in (REJECTED, OPEN)) + "\n", encoding="utf-8")
    return str(path)


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_text_sorted_by_instant(tmp_path: Path) -> None:
    code, out, _ = _run("due", _cases(tmp_path))
    lines = out.splitlines()
    assert code == 1  # something becomes violated
    assert lines[0].startswith("2024-06-05T20:10:00+08:00") and "OPEN-1" in lines[0]
    assert "after-sales/refund-only-handling-limit" in lines[0] and "auto_refund 89.00 CNY" in lines[0]
    assert lines[1].startswith("2024-06-11T10:00:00+08:00") and "OPEN-2" in lines[1]
    assert lines[-1].startswith("2 changes due")


def test_within_keeps_what_is_due_soon(tmp_path: Path) -> None:
    code, out, _ = _run("due", _cases(tmp_path), "--within", "48h")
    assert "OPEN-1" in out and "OPEN-2" not in out
    assert out.splitlines()[-1] == "1 change due within 48h"  # the unit it was written in
    # nothing within an hour: exit 0
    code, out, _ = _run("due", _cases(tmp_path), "--within", "1h")
    assert code == 0 and out.splitlines()[-1] == "0 changes due within 1h"


def test_jsonl_and_json(tmp_path: Path) -> None:
    _, out, _ = _run("due", _cases(tmp_path), "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["case_id"], r["id"], r["boundary"], r["becomes"]) for r in rows] == [
        ("OPEN-1", "after-sales/refund-only-handling-limit", "2024-06-05T20:10:00+08:00", "violated"),
        ("OPEN-2", "after-sales/refund-only-rejection-followup", "2024-06-11T10:00:00+08:00", "violated")]
    assert rows[0]["inclusive"] is True and rows[0]["at"] == "2024-06-05T20:10:00.000001+08:00"
    _, out, _ = _run("due", _cases(tmp_path), "--format", "json", "--all")
    doc: dict[str, Any] = json.loads(out)
    assert [d["case_id"] for d in doc["due"]] == ["OPEN-1", "OPEN-2"]
    assert any(d["status"] == "stable" for d in doc["other"])  # --all lists the rest


def test_as_of_moves_the_start(tmp_path: Path) -> None:
    _, out, _ = _run("due", _cases(tmp_path), "--as-of", "2024-06-06T00:00:00+08:00", "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["case_id"] for r in rows] == ["OPEN-2"]  # OPEN-1's 48 h have already passed


@pytest.mark.parametrize("bad", [["--within", "soon"], ["--format", "sarif"]])
def test_usage_errors(tmp_path: Path, bad: list[str]) -> None:
    code, _, err = _run("due", _cases(tmp_path), *bad)
    assert code == 2 and bad[0] in err


def test_rejected_case_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"kind": "after_sale", "case_id": "X"}), encoding="utf-8")
    code, out, _ = _run("due", str(path))
    assert code == 1 and "REJECTED" in out


def test_a_rejected_record_is_named_as_eval_names_it(tmp_path: Path) -> None:
    """A new user's report: due wrote `REJECTED f:3: f:3: $: ...` (the place twice, from the error's own text)
    and no case id; eval writes `REJECTED ID f:3: $.path: ...`. An item of a JSON array is `f:LINE [item N]`."""
    lines = tmp_path / "two.jsonl"
    lines.write_text(json.dumps(OPEN) + "\n" + json.dumps({**OPEN, "case_id": "BAD-1", "order": "x"}) + "\n"
                     + '{"kind": "after_sale", "case_id": "X-1"\n', encoding="utf-8")
    code, out, _ = _run("due", str(lines))
    rejected = [line for line in out.splitlines() if line.startswith("REJECTED")]
    assert code == 1 and rejected == [f"REJECTED BAD-1 {lines}:2: $.order: \"x\" is not of type 'object'",
                                      f"REJECTED {lines}:3: $: invalid JSON: Expecting ',' delimiter (column 40)"]
    code, out, _ = _run("due", "-f", "jsonl", str(lines))
    records = [json.loads(line) for line in out.splitlines() if '"rejected"' in line]
    assert [(r["case_id"], r["record"], r["error"][:9]) for r in records] == [("BAD-1", 2, "$.order: "), (None, 3, "$: invali")]
    array = tmp_path / "two.json"
    array.write_text(json.dumps([OPEN, {**OPEN, "case_id": "BAD-2", "order": "x"}], indent=2), encoding="utf-8")
    code, out, _ = _run("due", str(array))
    start = [i for i, line in enumerate(array.read_text(encoding="utf-8").splitlines(), 1) if line == "  {"][1]
    assert f"REJECTED BAD-2 {array}:{start} [item 2]: $.order: " in out


def test_explain_shows_what_would_comply_and_a_timeline(tmp_path: Path) -> None:
    # handled 2024-06-05 23:22; the 48 h (售后服务规则 2.2) ran out at 20:10: 3 h 12 min late
    late = {**OPEN, "snapshot_at": "2024-06-07T09:00:00+08:00",
            "request": {**OPEN["request"], "merchant_response": {"action": "agree", "at": "2024-06-05T23:22:00+08:00"}}}
    path = tmp_path / "late.json"
    path.write_text(json.dumps(late, ensure_ascii=False), encoding="utf-8")
    code, out, _ = _run("explain", str(path), "--rule", "after-sales/refund-only-handling-limit")
    assert code == 1
    assert ("would comply: request.merchant_response.at is 3h12m after the latest value giving complied "
            "(2024-06-05T20:10:00+08:00") in out
    timeline = out[out.index("timeline (Asia/Shanghai):"):].splitlines()
    assert [line.split("  ")[2][:1] for line in timeline[1:]] == ["●", "●", "◆", "●", "▶"]
    code, out, _ = _run("explain", str(path), "--rule", "after-sales/refund-only-handling-limit", "--format", "json")
    doc = json.loads(out)
    entry = next(r for r in doc["results"] if r["id"] == "after-sales/refund-only-handling-limit")
    assert any(c["path"] == "request.merchant_response.at" and c["by"] == "3h12m" for c in entry["comply"])
    assert [m["kind"] for m in doc["timeline"]][-1] == "now"


@pytest.mark.parametrize("inputs", ["empty folder", "yaml only", "empty stdin"])
def test_empty_input_is_not_success(fast_load: None, tmp_path: Path, inputs: str) -> None:
    """Issue 18 item 6: as eval and diff, `due` on inputs with no case record says what it found and exits 1,
    unless --allow-empty."""
    folder = tmp_path / "in"
    folder.mkdir()
    if inputs == "yaml only":
        (folder / "t.yaml").write_text("tests: []\n", encoding="utf-8")
    arg = "-" if inputs == "empty stdin" else str(folder)
    found = {"empty folder": f"{folder} is an empty folder",
             "yaml only": f"{folder} holds no .json, .jsonl or .ndjson file, only 1 other file(s) (1 .yaml)",
             "empty stdin": "stdin was empty"}[inputs]
    for allow, code_wanted in (([], 1), (["--allow-empty"], 0)):
        out, err = io.StringIO(), io.StringIO()
        code = run(["due", arg, *allow], out, err, stdin=io.BytesIO(b""))
        assert code == code_wanted
        assert out.getvalue() == "0 changes due\n"
        assert err.getvalue() == ("" if allow else f"policy-eval due: no case record found: {found} "
                                  "(pass --allow-empty if that is expected)\n")


def test_because_is_the_rules_own_expression_under_as_of() -> None:
    # Under --as-of every rule of the policy is probed at every instant of the policy; AS-OPEN-3's
    # return deadline (06-10 21:00) is also where another rule's `followup_deadline` (a let of the
    # rejection follow-ups, built from the same merchant_response.at) falls: the sentence must name
    # the return-shipment rule's own `return_deadline`, as it does without --as-of.
    cases = str(Path(__file__).resolve().parent.parent / "examples" / "due" / "open_requests.jsonl")
    for extra in ((), ("--as-of", "2024-06-04T09:00:00+08:00")):
        _, out, _ = _run("due", cases, "-f", "jsonl", *extra)
        rows = [json.loads(line) for line in out.splitlines()]
        ret = next(r for r in rows if r["id"] == "after-sales/return-shipment-deadline")
        assert (ret["case_id"], ret["because"]) == ("AS-OPEN-3", "`return_deadline`"), extra
        assert ret["boundary"] == "2024-06-10T21:00:00+08:00"


@pytest.mark.parametrize("given", ["2d", "48h", "90m", "1d12h"])
def test_json_within_is_written_as_a_duration(tmp_path: Path, given: str) -> None:
    # as the project writes durations (the text given, as parameters keep theirs), not "2 days, 0:00:00"
    _, out, _ = _run("due", _cases(tmp_path), "--within", given, "-f", "json")
    assert json.loads(out)["within"] == given


def test_a_policy_coming_into_force_is_said_so(tmp_path: Path) -> None:
    """Outside audit: with --as-of before a policy's first version, its policy-level line read "not_applicable →
    out of force at <its effective date>", the reverse of what happens then (the intervene policy takes effect
    2022-12-06; its text gives no date now, so a copy of the policies dates it)."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    intervene = policies / "intervention" / "v1.yaml"
    text = intervene.read_text(encoding="utf-8")
    assert text.count("  effective_from: unstated\n") == 1
    intervene.write_text(text.replace("  effective_from: unstated\n", "  effective_from: 2022-12-06\n"), encoding="utf-8")
    path = tmp_path / "open.json"
    path.write_text(json.dumps({**OPEN, "snapshot_at": "2020-12-31T00:00:00+08:00"}, ensure_ascii=False),
                    encoding="utf-8")
    _, out, _ = _run("due", "--policies", str(policies), str(path), "--as-of", "2020-12-31")
    (line,) = [x for x in out.splitlines() if " intervene: " in x]
    assert "intervene: not_applicable → in force at 2022-12-06T00:00:00+08:00" in line
    _, out, _ = _run("due", "--policies", str(policies), str(path), "--as-of", "2020-12-31", "--format", "jsonl")
    (policy,) = [f for f in map(json.loads, out.splitlines()) if f.get("id") == "intervene"]
    assert policy["becomes"] is None and "takes effect" in policy["note"]

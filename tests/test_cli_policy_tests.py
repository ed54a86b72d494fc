"""Issue 18 items 8, 9 and 10 (SARIF) through the installed command: ``test`` with no arguments runs the
tests of the rulebook in use, ``explain`` takes a policy test case, a failing policy test shows the values
that decided, and a case without case_id is named by file:line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("policy-eval"))
APPEALS = ROOT / "tests" / "golden" / "appeals.yaml"
FIRST = "baseline: judgement appeal the next morning, result two working days later"


def _pe(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=300)


def test_test_without_arguments_runs_the_bundled_rulebooks_tests(tmp_path: Path) -> None:
    proc = _pe("test", cwd=tmp_path)  # an empty folder: nothing found by accident in the current folder
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "appeals.yaml" in proc.stdout and "after_sales_v2.yaml" in proc.stdout
    assert " 0 failed" in proc.stdout.splitlines()[-1]


def test_explain_a_policy_test_case_by_name() -> None:
    proc = _pe("explain", str(APPEALS), "--case", FIRST)
    assert proc.returncode == 0, proc.stderr
    assert f"{APPEALS}:" in proc.stdout.splitlines()[0]
    assert "COMPLIED        appeals/appeal-within-48h" in proc.stdout
    several = _pe("explain", str(APPEALS))
    assert several.returncode == 2 and "pick one with --case NAME" in several.stderr
    typo = _pe("explain", str(APPEALS), "--case", FIRST[:-1] + "X")
    assert typo.returncode == 2 and "did you mean" in typo.stderr
    wrong = _pe("explain", str(ROOT / "examples" / "warranty_fee_charged.json"), "--case", FIRST)
    assert wrong.returncode == 2 and "is a case file" in wrong.stderr


def test_a_failing_policy_test_shows_the_deciding_values(tmp_path: Path) -> None:
    tests = yaml.safe_load(APPEALS.read_text(encoding="utf-8"))["tests"]
    first = next(t for t in tests if t["name"] == FIRST)
    first["expect"] = {"appeals/appeal-within-48h": "violated"}  # the text says 48 h; this one is in time
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump({"tests": [first]}, allow_unicode=True), encoding="utf-8")
    proc = _pe("test", str(path))
    assert proc.returncode == 1
    text = proc.stdout
    assert "appeals/appeal-within-48h: expected violated, got complied" in text
    assert "appeals/appeal-within-48h (complied) was decided by:" in text
    after = text.split("was decided by:", 1)[1].splitlines()[1:]
    assert after and "  =  " in after[0] and "appeal.submitted_at" in text.split("was decided by:", 1)[1]


CONDUCT = ROOT / "tests" / "golden" / "conduct_mutants.yaml"  # params: deployment.yml (reply within 3m)
AT_DEADLINE = ("2.1 unanswered buyer message, platform notice and export both exactly at its deadline, "
               "is in time")


def test_a_test_files_params_apply_to_explain_and_to_a_failures_trace(tmp_path: Path) -> None:
    """A helper's finding: `explain FILE --case NAME` and the trace under a failing test ignored the deployment
    values the test file names (params:), so they showed `response_limit = unknown` and an undetermined rule
    while `test` judged the case complied."""
    proc = _pe("explain", str(CONDUCT), "--case", AT_DEADLINE)
    assert proc.returncode == 0, proc.stderr
    assert "COMPLIED        cs-conduct/timely-response" in proc.stdout
    data = yaml.safe_load(CONDUCT.read_text(encoding="utf-8"))
    case = next(t for t in data["tests"] if t["name"] == AT_DEADLINE)
    case["expect"] = {"cs-conduct/timely-response": "violated"}
    (tmp_path / "deployment.yml").write_text((CONDUCT.parent / "deployment.yml").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump({"params": "deployment.yml", "tests": [case]}, allow_unicode=True),
                    encoding="utf-8")
    text = _pe("test", str(path)).stdout
    assert "cs-conduct/timely-response: expected violated, got complied" in text
    assert "cs-conduct/timely-response (complied) was decided by:" in text
    assert "response_limit  =  3m" in text and "unknown" not in text.split("was decided by:", 1)[1].split("\n")[1]


def test_sarif_names_a_case_without_case_id_by_file_and_line() -> None:
    cases = [p for p in sorted((ROOT / "examples").glob("*.json"))
             if "case_id" not in json.loads(p.read_text(encoding="utf-8"))]
    assert cases, "the examples hold cases without case_id (shipment, store metrics)"
    proc = _pe("eval", "-f", "sarif", *[str(p.relative_to(ROOT)) for p in cases])
    doc = json.loads(proc.stdout)
    texts = [r["message"]["text"] for r in doc["runs"][0]["results"]]
    assert texts and not any("case None" in t for t in texts)
    named = {p.relative_to(ROOT).as_posix() for p in cases}
    assert all(t.split("] case ", 1)[1].split(":", 1)[0] in named for t in texts), texts[:3]


def test_a_failures_trace_says_which_unknown_a_read_is(tmp_path: Path) -> None:
    """`explain` showed a case path left out as `absent` and a null one as `unknown (null)`, but the trace
    under a failing `policy-eval test` read `unknown` both ways (the difference that decides between "the event
    has not happened" and "not known": docs/language.md, "Absent and null")."""
    tests = yaml.safe_load(APPEALS.read_text(encoding="utf-8"))["tests"]
    first = next(t for t in tests if t["name"] == FIRST)
    first["expect"] = {"appeals/appeal-result-within-4-workdays": "violated"}
    left_out = {**first, "name": "left out", "case": {k: v for k, v in first["case"].items() if k != "result_at"}}
    null = {**first, "name": "null", "case": {**first["case"], "result_at": None}}
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump({"tests": [left_out, null]}, allow_unicode=True), encoding="utf-8")
    text = _pe("test", str(path)).stdout
    traces = text.split("was decided by:")[1:]
    assert len(traces) == 2, text
    assert "result_at  =  absent" in traces[0] and "result_at  =  unknown (null)" in traces[1], text

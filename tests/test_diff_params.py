"""``policy-eval diff --params OLD.yaml --params-new NEW.yaml`` (issue 19 leftover): what changing a deployment
overlay changes over a corpus, each transition naming the parameter values that moved it.

The rule (tests/policytext.py RESPONSE_TIME) requires the merchant's answer by ``submitted_at +
response_limit``, a deployment parameter. Expected transitions are worked out from that text: an answer
30 h after submission is in time under 48 h and late under 24 h; 20 h is in time under both; 50 h late
under both; with no overlay the limit is unset and the verdict undetermined.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.cli import run
from policy_eval.run.diff import diff_rulebooks
from policy_eval.run.evaluate import Evaluator

SUBMITTED = "2024-03-01T10:00:00+08:00"


def _answered(hours: int) -> dict[str, Any]:
    at = dt.datetime.fromisoformat(SUBMITTED) + dt.timedelta(hours=hours)
    case = pt.after_sale_case(merchant_response={"at": at.isoformat(), "action": "agree"})
    case["case_id"] = f"answered-{hours}h"
    return case


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    pt.write(tmp_path / "p" / "demo.yaml", pt.policy(pt.RESPONSE_TIME))
    pt.write(tmp_path / "old.yaml", "params:\n  demo:\n    response_limit: 48h\n")
    pt.write(tmp_path / "new.yaml", "params:\n  demo:\n    response_limit: 24h\n")
    cases = "".join(json.dumps(_answered(h)) + "\n" for h in (20, 30, 50))
    pt.write(tmp_path / "cases.jsonl", cases)
    return tmp_path


def _diff(corpus: Path, *flags: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", str(corpus / "p"), str(corpus / "p"), str(corpus / "cases.jsonl"), *flags], out, err)
    return code, out.getvalue(), err.getvalue()


def test_tightening_the_overlay_moves_exactly_the_case_between_the_limits(corpus: Path) -> None:
    code, out, err = _diff(corpus, "--params", str(corpus / "old.yaml"), "--params-new", str(corpus / "new.yaml"),
                           "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert (report["cases"], report["changed_cases"], report["compared"]) == (3, 1, 3)
    (t,) = report["transitions"]
    assert (t["rule"], t["from"], t["to"], t["cases"]) == ("demo/response-time", "complied", "violated",
                                                           ["answered-30h"])
    assert t["params"] == [{"param": "demo.response_limit", "from": "48h", "to": "24h"}]


def test_each_transition_is_explained_in_one_line(corpus: Path) -> None:
    code, out, _ = _diff(corpus, "--params", str(corpus / "old.yaml"), "--params-new", str(corpus / "new.yaml"),
                         "--exit-code")
    assert code == 1  # --exit-code: a case changed
    assert "  complied -> violated with demo.response_limit 48h -> 24h: 1 case (answered-30h)\n" in out
    assert "1 of 3 case(s) change outcome" in out and "nothing compared" not in out


def test_setting_an_unset_parameter_turns_undetermined_into_verdicts(corpus: Path) -> None:
    _, out, _ = _diff(corpus, "--params-new", str(corpus / "new.yaml"))
    assert ("  undetermined -> violated with demo.response_limit unset -> 24h: 2 cases (answered-30h, answered-50h)"
            in out)
    assert "  undetermined -> complied with demo.response_limit unset -> 24h: 1 case (answered-20h)" in out
    assert "3 of 3 case(s) change outcome" in out


def test_the_same_overlay_on_both_sides_compares_nothing(corpus: Path) -> None:
    code, out, _ = _diff(corpus, "--params", str(corpus / "new.yaml"), "--exit-code")
    assert code == 0
    assert "0 of 3 case(s) change outcome" in out
    assert "nothing compared" in out  # same versions and same parameter values: no verdict could move


def test_a_missing_overlay_is_a_usage_error(corpus: Path) -> None:
    code, _, err = _diff(corpus, "--params-new", str(corpus / "nowhere.yaml"))
    assert code == 2 and "nowhere.yaml" in err


def test_a_bad_overlay_is_located(corpus: Path) -> None:
    bad = pt.write(corpus / "bad.yaml", "params:\n  demo:\n    response_limit: 100.00 CNY\n")
    code, _, err = _diff(corpus, "--params-new", str(bad))
    assert code == 2, err
    assert f"{bad}:3:" in err and "duration" in err


def test_diff_rulebooks_names_the_parameters_of_each_transition(corpus: Path) -> None:
    old = pt.load(corpus / "p", params=corpus / "old.yaml")
    new = pt.load(corpus / "p", params=corpus / "new.yaml")
    report = diff_rulebooks(Evaluator(old), Evaluator(new), [("c", i, _answered(h)) for i, h in enumerate((30, 50))])
    (t,) = report.transitions.values()
    assert t.params == {("demo.response_limit", "48h", "24h")} and t.cases == ["answered-30h"]


# --- a revision that changes a number its text sets ----------------------------------------------------------
TEXT_LIMIT = """\
params:
  response_limit:
    type: duration
    {limit}
    clause: "demo 4"
  unrelated_days: {days}
definitions:
  answer_by: request.submitted_at + response_limit
rules:
  - id: response-time
    title: the merchant answers within the limit
    clause: demo 4
    severity: medium
    when: exists(request.merchant_response)
    require: request.merchant_response.at <= answer_by
    message: answered late
  - id: day-count
    title: a rule reading the other parameter
    clause: demo 5
    severity: low
    require: request.submitted_at <= snapshot_at + unrelated_days
    message: M
"""


def test_a_revision_of_a_text_parameter_is_named_on_the_transitions_it_moves(tmp_path: Path) -> None:
    # 48h -> 24h: the answer at 30 h moves complied -> violated; the rule reads the limit through a definition.
    # unrelated_days moves too, but no verdict of day-count changes, and response-time does not read it.
    pt.write(tmp_path / "old" / "demo.yaml", pt.policy(TEXT_LIMIT.format(limit="value: 48h", days="1d")))
    pt.write(tmp_path / "new" / "demo.yaml", pt.policy(TEXT_LIMIT.format(limit="value: 24h", days="2d")))
    pt.write(tmp_path / "cases.jsonl", "".join(json.dumps(_answered(h)) + "\n" for h in (20, 30, 50)))
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", str(tmp_path / "old"), str(tmp_path / "new"), str(tmp_path / "cases.jsonl"), "--format",
                "json"], out, err)
    assert (code, err.getvalue()) == (0, "")
    (t,) = json.loads(out.getvalue())["transitions"]
    assert (t["rule"], t["from"], t["to"], t["cases"]) == ("demo/response-time", "complied", "violated",
                                                           ["answered-30h"])
    assert t["params"] == [{"param": "demo.response_limit", "from": "48h", "to": "24h"}]
    out = io.StringIO()
    run(["diff", str(tmp_path / "old"), str(tmp_path / "new"), str(tmp_path / "cases.jsonl")], out, io.StringIO())
    assert "complied -> violated with demo.response_limit 48h -> 24h: 1 case (answered-30h)" in out.getvalue()


def test_a_dated_text_parameter_is_named_with_the_value_in_force_for_the_case(tmp_path: Path) -> None:
    dated = "values: {2020-01-01: 48h, 2024-03-01: %s}"
    pt.write(tmp_path / "old" / "demo.yaml", pt.policy(TEXT_LIMIT.format(limit=dated % "36h", days="1d")))
    pt.write(tmp_path / "new" / "demo.yaml", pt.policy(TEXT_LIMIT.format(limit=dated % "24h", days="1d")))
    pt.write(tmp_path / "cases.jsonl", json.dumps(_answered(30)) + "\n")  # submitted 2024-03-01 10:00
    out = io.StringIO()
    assert run(["diff", str(tmp_path / "old"), str(tmp_path / "new"), str(tmp_path / "cases.jsonl")], out,
               io.StringIO()) == 0
    assert "complied -> violated with demo.response_limit 36h -> 24h: 1 case (answered-30h)" in out.getvalue()


def test_a_revision_that_rewrites_the_rule_names_the_parts_written_differently(tmp_path: Path) -> None:
    # an outside author's case: the parameter named was not what moved the verdict; the rewritten definition was
    pt.write(tmp_path / "old" / "demo.yaml", pt.policy(TEXT_LIMIT.format(limit="value: 48h", days="1d")))
    pt.write(tmp_path / "new" / "demo.yaml", pt.policy(TEXT_LIMIT.format(limit="value: 48h", days="1d").replace(
        "answer_by: request.submitted_at + response_limit", "answer_by: request.submitted_at + response_limit - 24h")))
    pt.write(tmp_path / "cases.jsonl", json.dumps(_answered(30)) + "\n")
    out = io.StringIO()
    assert run(["diff", str(tmp_path / "old"), str(tmp_path / "new"), str(tmp_path / "cases.jsonl"), "--format",
                "json"], out, io.StringIO()) == 0
    (t,) = json.loads(out.getvalue())["transitions"]
    assert (t["from"], t["to"], t["changed"]) == ("complied", "violated", ["definition answer_by"])
    assert "params" not in t  # no parameter differs
    out = io.StringIO()
    run(["diff", str(tmp_path / "old"), str(tmp_path / "new"), str(tmp_path / "cases.jsonl")], out, io.StringIO())
    assert "complied -> violated with changed definition answer_by: 1 case (answered-30h)" in out.getvalue()

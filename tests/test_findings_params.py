"""Findings name the deployment parameters that decided them (issue 12 item 3: "recorded in the result (value
and where it came from)"), as ``--detail full`` does, with a dated value resolved at the case's reference time.

The chat of examples/chat_review_harassment.json starts 2024-05-22T12:00:00+08:00; its merchant sends more than 5
messages within 10 minutes (the example deployment's thresholds).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema

from policy_eval.cli import run

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "examples" / "chat_review_harassment.json"
RULE = "cs-conduct/no-harassment"


def _findings(tmp_path: Path, overlay: str, *extra: str) -> dict:
    params = tmp_path / "deployment.yaml"
    params.write_text(overlay, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    run(["eval", "-f", "jsonl", "--params", str(params), *extra, str(CASE)], out, err)
    return json.loads(out.getvalue().splitlines()[0])


def _rule(record: dict) -> dict:
    return next(f for f in record["findings"] if f["rule"] == RULE)


OVERLAY = """\
params:
  cs-conduct:
    harassment_max_messages: 5
    harassment_window:
      values:
        2020-01-01: 10m
        {later}: 1m
"""


def test_the_value_in_force_at_the_reference_time_is_recorded(tmp_path: Path) -> None:
    before = _rule(_findings(tmp_path, OVERLAY.format(later="2024-06-01")))  # 1m only from June: 10m applies
    assert before["outcome"] == "violated"
    source = str(tmp_path / "deployment.yaml")
    assert before["params"] == {"cs-conduct.harassment_max_messages": {"value": "5", "source": source},
                                "cs-conduct.harassment_window": {"value": "10m", "source": source}}
    after = _findings(tmp_path, OVERLAY.format(later="2024-05-01"))  # 1m in force: no burst of 6 within 1m
    shown = {f["rule"]: f for f in after["findings"]}
    assert RULE not in shown or shown[RULE]["params"]["cs-conduct.harassment_window"]["value"] == "1m"


def test_an_unset_parameter_is_recorded_as_null_and_named(tmp_path: Path) -> None:
    record = _findings(tmp_path, "params:\n  cs-conduct:\n    harassment_max_messages: 5\n")
    finding = _rule(record)
    assert finding["outcome"] == "undetermined"
    assert finding["params"]["cs-conduct.harassment_window"]["value"] is None
    assert "params.cs-conduct.harassment_window" in finding["missing"]


def test_findings_with_params_match_the_schema(tmp_path: Path) -> None:
    schema = json.loads((ROOT / "schemas" / "result-findings.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(_findings(tmp_path, OVERLAY.format(later="2024-06-01")))

"""The pytest plugin's report cannot be forged by a policy test (issue 13 item 15, the pytest face).

Before: a test's name (YAML text) became the pytest item's name raw and the failure quoted case values and
messages raw, so a newline in either wrote report lines of its own ("PASSED", "FAILED ...") and ESC
sequences reached the terminal. Now both go through policy_eval.errors.printable, as ``policy-eval test``
does (tests/test_report_escapes_commands.py).
"""

from __future__ import annotations

import json
import unicodedata

import pytest
import yaml
from test_pytest_plugin import POLICY, SCHEMA, run  # the same pytester project

pytest_plugins = ["pytester"]

FORGED = "\nFAILED forged.yaml::x - ok\x1b[2J\u202eevil"
ESCAPED = "\\nFAILED forged.yaml::x - ok\\x1b[2J\\u202eevil"


def test_names_and_failures_are_shown_escaped(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npolicy_eval_policies = policies\n")
    (pytester.path / "policies").mkdir()
    (pytester.path / "policies" / "refunds.yaml").write_text(POLICY, encoding="utf-8")
    (pytester.path / "schemas" / "cases").mkdir(parents=True)
    (pytester.path / "schemas" / "cases" / "refund.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    case = {"kind": "refund", "case_id": "R" + FORGED,
            "request": {"submitted_at": "2024-05-01T10:00:00", "handled_at": "2024-05-04T10:00:00"}}
    tests = {"tests": [{"name": "N" + FORGED, "case": case, "expect": {"refunds/handled-within-48h": "complied"}}]}
    (pytester.path / "test_forged.yaml").write_text(yaml.safe_dump(tests, allow_unicode=True), encoding="utf-8")
    result = run(pytester, "-v")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert [ch for ch in out if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")] == []
    assert not any(line.startswith("FAILED forged.yaml") for line in out.splitlines())
    assert f"policy test 'N{ESCAPED}' failed (test_forged.yaml:" in out
    assert f"case R{ESCAPED} (refund)" in out

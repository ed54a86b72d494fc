"""A policy test may expect that a rule gives a case no verdict (``demo/rule: absent``): the case of an author who
withdraws a rule in a revision and wants a test to say so. A misspelt rule id must not pass as absent.

The policy (tests/test_compose.py DEPENDENT) has three rules in version 1 (in force until 2024-06-01); version 2
revises it and withdraws ``late-notice``. The test cases are dated so that the expected version is known from the
dates alone: submitted 2024-03-01 (version 1) and 2024-07-01 (version 2).
"""

from __future__ import annotations

from pathlib import Path

import policytext as pt
import pytest
from test_compose import DEPENDENT

from policy_eval.errors import PolicyLoadError
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.testing import load_tests, run_test

REVISION = 'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n  effective_from: 2024-06-01\nwithdraw: [late-notice]\n'


def _rulebook(folder: Path) -> Path:
    policies = folder / "policies"
    pt.write(policies / "v1.yaml", pt.policy(DEPENDENT).replace(
        "  effective_from: 2020-01-01\n", "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    pt.write(policies / "v2.yaml", REVISION)
    return policies


def _case(submitted: str) -> str:
    at = f"'{submitted}T10:00:00+08:00'"
    return ("{kind: after_sale, case_id: C1, snapshot_at: " + at.replace("T10", "T12") + ", order: {id: O1, "
            "confirmed_at: '2024-02-20T10:00:00+08:00'}, request: {id: R1, type: refund_only, submitted_at: " + at + "}}")


def _run(folder: Path, expect: str, submitted: str) -> list[str]:
    policies = _rulebook(folder)
    tests = pt.write(folder / "tests.yaml", f"tests:\n  - name: t\n    case: {_case(submitted)}\n"
                                            f"    expect: {expect}\n")
    (test,) = load_tests(tests)
    return run_test(test, Evaluator(load_rulebook(policies))).failures


def test_a_withdrawn_rule_is_absent_from_the_revisions_verdicts(tmp_path: Path) -> None:
    assert _run(tmp_path, "{demo/late-notice: absent, demo/in-window: undetermined}", "2024-07-01") == []


def test_absent_fails_where_the_rule_gives_a_verdict(tmp_path: Path) -> None:
    (failure,) = _run(tmp_path, "{demo/late-notice: absent}", "2024-03-01")  # version 1 still has it
    assert failure.startswith("demo/late-notice: expected absent (no verdict), got undetermined from version 1")


def test_a_misspelt_rule_does_not_pass_as_absent(tmp_path: Path) -> None:
    (failure,) = _run(tmp_path, "{demo/late-notise: absent}", "2024-07-01")
    assert failure == ("demo/late-notise: expected absent, but no version of the rulebook has such a rule; "
                       "did you mean demo/late-notice?")


def test_absent_takes_no_further_expectations_and_says_where(tmp_path: Path) -> None:
    tests = pt.write(tmp_path / "tests.yaml", f"tests:\n  - name: t\n    case: {_case('2024-07-01')}\n"
                                              "    expect:\n      demo/late-notice: {outcome: absent, version: '2'}\n")
    with pytest.raises(PolicyLoadError) as info:
        load_tests(tests)
    assert (info.value.line, info.value.message) == (
        5, "'absent' is written alone, as demo/late-notice: absent (a rule with no verdict has no version, missing "
           "paths, remedies or message to compare)")


def test_the_test_file_schema_takes_absent_as_a_plain_outcome() -> None:
    import json

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "policy-test.schema.json").read_text())
    case = {"kind": "after_sale"}
    jsonschema.validate({"tests": [{"case": case, "expect": {"demo/r": "absent"}}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tests": [{"case": case, "expect": {"demo/r": {"outcome": "absent"}}}]}, schema)


def test_before_any_version_every_rule_of_the_policy_is_absent(tmp_path: Path) -> None:
    # an outside author's case: version 1 starts 2020-01-01; a 2018 request is judged by no version
    assert _run(tmp_path, "{demo/late-notice: absent, demo/in-window: absent}", "2018-03-01") == []


@pytest.mark.parametrize(("written", "said"), [
    ("[complied, absent]", "is one outcome, not a list"),  # it crashed with an internal error (exit 4)
    ("true", "unknown outcome true for demo/in-window"),  # (it said Python's True)
    ("{outcome: absent}", "'absent' is written alone, as demo/in-window: absent"),
])
def test_a_misshapen_expectation_is_a_located_error(tmp_path: Path, written: str, said: str) -> None:
    tests = pt.write(tmp_path / "tests.yaml", f"tests:\n  - name: t\n    case: {_case('2024-07-01')}\n"
                                              f"    expect:\n      demo/in-window: {written}\n")
    with pytest.raises(PolicyLoadError) as info:
        load_tests(tests)
    assert info.value.line == 5 and said in info.value.message


def test_expecting_a_verdict_of_a_withdrawn_rule_says_which_version_judged_and_suggests_absent(tmp_path: Path) -> None:
    (failure,) = _run(tmp_path, "{demo/late-notice: not_applicable}", "2024-07-01")
    assert failure == ("demo/late-notice: no verdict: version 2 judged the case and has no such rule (version 1 has "
                       "it); expect absent if that is meant")


def test_before_any_version_a_rule_is_absent_and_takes_its_policys_verdict(tmp_path: Path) -> None:
    """A new user asked which of `absent` and `not_applicable` is meant for a rule of a policy with no version in
    force: both pass (docs/policies.md says so now); another outcome fails and names the policy's verdict."""
    assert _run(tmp_path, "{demo/late-notice: absent, demo/in-window: not_applicable}", "2019-03-01") == []
    (failure,) = _run(tmp_path, "{demo/in-window: violated}", "2019-03-01")
    assert failure.startswith("demo/in-window: expected violated, got not_applicable — no version of demo in force")

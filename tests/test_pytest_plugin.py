"""The pytest plugin (engine/pytest_plugin.py): YAML policy tests collected and reported by pytest."""

from __future__ import annotations

import json

import pytest

import policy_eval.rulebook  # noqa: F401

# Imported here, before pytester snapshots sys.modules, so that each in-process run reuses them.
import policy_eval.rulebook.cases  # noqa: F401
import policy_eval.run.evaluate  # noqa: F401
import policy_eval.run.testing  # noqa: F401

pytest_plugins = ["pytester"]

SCHEMA = {
    "type": "object", "required": ["kind", "case_id", "request"], "additionalProperties": False,
    "properties": {
        "kind": {"const": "refund"}, "case_id": {"type": "string"},
        "request": {"type": "object", "additionalProperties": False, "required": ["submitted_at"], "properties": {
            "submitted_at": {"type": "string", "format": "date-time"},
            "handled_at": {"type": "string", "format": "date-time"}}},
    },
}

POLICY = """\
policy:
  id: refunds
  title: Refund handling (pytester fixture)
  version: "1"
  source:
    document: test fixture
  effective_from: 2024-01-01
  applies_to: refund
  reference_time: request.submitted_at
params:
  handling_limit: 48h
rules:
  - id: handled-within-48h
    title: The merchant handles a refund request within 48 hours
    clause: "2.2"
    severity: high
    require: exists(request.handled_at) and request.handled_at <= request.submitted_at + handling_limit
    message: "handled {request.handled_at}, due {request.submitted_at + handling_limit}"
"""

TESTS = """\
tests:
  - name: handled after one hour
    case:
      kind: refund
      case_id: R-1
      request: {submitted_at: "2024-05-01T10:00:00", handled_at: "2024-05-01T11:00:00"}
    expect:
      refunds/handled-within-48h: complied
  - name: handled three days later but expected to comply
    case:
      kind: refund
      case_id: R-2
      request: {submitted_at: "2024-05-01T10:00:00", handled_at: "2024-05-04T10:00:00"}
    expect:
      refunds/handled-within-48h: complied
  - name: never handled
    case:
      kind: refund
      case_id: R-3
      request: {submitted_at: "2024-05-01T10:00:00"}
    expect:
      refunds/handled-within-48h:
        outcome: violated
        message: "due 2024-05-03T10:00:00+08:00"
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Unrelated plugins off: hypothesis' plugin re-imports its package on every in-process run.
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\npolicy_eval_policies = policies\n")
    (pytester.path / "policies").mkdir()
    (pytester.path / "policies" / "refunds.yaml").write_text(POLICY, encoding="utf-8")
    (pytester.path / "schemas" / "cases").mkdir(parents=True)
    (pytester.path / "schemas" / "cases" / "refund.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    (pytester.path / "test_refunds.yaml").write_text(TESTS, encoding="utf-8")
    return pytester


def test_yaml_tests_are_items_and_a_failure_names_rule_expected_and_got(project: pytest.Pytester) -> None:
    result = run(project)
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*policy test 'handled three days later but expected to comply' failed (test_refunds.yaml:9)",
        "*case R-2 (refund)",
        "*refunds/handled-within-48h: expected complied, got violated — handled 2024-05-04T10:00:00+08:00, "
        "due 2024-05-03T10:00:00+08:00",
    ])
    result.stdout.fnmatch_lines(["FAILED test_refunds.yaml::handled three days later but expected to comply*"])
    assert "Traceback" not in out and "runtest" not in out  # a readable report, not a Python traceback


def test_items_are_selectable_by_name(project: pytest.Pytester) -> None:
    result = run(project, "-k", "never", "-v")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["test_refunds.yaml::never handled PASSED*"])


def test_policies_option_on_the_command_line(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\n")  # without the ini option the bundled rulebook has no 'refund' kind
    result = run(project, "--policy-eval-policies", str(project.path / "policies"))
    result.assert_outcomes(passed=2, failed=1)


def test_only_matching_files_with_tests_are_collected(project: pytest.Pytester) -> None:
    (project.path / "test_notes.yaml").write_text("notes: [not a policy test]\n", encoding="utf-8")
    (project.path / "refunds_cases.yaml").write_text(TESTS, encoding="utf-8")  # name does not match test_*.yaml
    result = run(project, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_refunds.yaml::handled after one hour", "*3 tests collected*"])


def test_invalid_test_file_is_a_readable_collection_error(project: pytest.Pytester) -> None:
    (project.path / "test_bad.yaml").write_text(
        "tests:\n  - name: typo\n    case: {kind: refund}\n    expect:\n      refunds/handled-within-48h: complyed\n",
        encoding="utf-8")
    result = run(project)
    result.assert_outcomes(errors=1)  # pytest stops before running anything when collection fails
    result.stdout.fnmatch_lines(["*ERROR collecting test_bad.yaml*", "invalid policy test file:",
                                 "*test_bad.yaml:5:35: unknown outcome 'complyed' for refunds/handled-within-48h*",
                                 "*refunds/handled-within-48h: complyed", "*^"])
    assert "Traceback" not in result.stdout.str()


def test_policies_that_do_not_load_are_reported_once_per_item(project: pytest.Pytester) -> None:
    (project.path / "policies" / "refunds.yaml").write_text(
        POLICY.replace("request.submitted_at + handling_limit", "request.submitted_at + 5"), encoding="utf-8")
    result = run(project)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*the policies under test (*policies) do not load:*",
                                 "*refunds.yaml:17:*"])


def test_can_be_disabled(project: pytest.Pytester) -> None:
    result = run(project, "-p", "no:policy_eval")
    result.assert_outcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_failing_case_without_case_id_is_named_by_where_its_test_is(project: pytest.Pytester) -> None:
    schema = {**SCHEMA, "required": ["kind", "request"]}
    (project.path / "schemas" / "cases" / "refund.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    (project.path / "test_refunds.yaml").write_text(TESTS.replace("      case_id: R-2\n", ""), encoding="utf-8")
    result = run(project)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*policy test 'handled three days later but expected to comply' failed "
                                 "(test_refunds.yaml:9)", "*case test_refunds.yaml:9 (refund)"])
    assert "case None" not in result.stdout.str()


PLUGIN = '''\
from policy_eval.lang.functions import Function
from policy_eval.lang.types import INT
from policy_eval.plugins.hookspecs import hookimpl


@hookimpl
def policy_eval_functions():
    return [Function("double", (INT,), INT, lambda n: 2 * n)]
'''


@pytest.mark.parametrize("how", ["option", "ini"])
def test_a_plugin_module_is_loaded_for_the_policies_under_test(project: pytest.Pytester, how: str) -> None:
    """An outside trial: the pytest plugin had no way to load a plugin that is not installed as an entry point
    (`policy-eval test --plugin` has one), so every test of a policy calling its function failed with "unknown
    function". A subprocess: the plugin joins the process-wide plugin manager, as `--plugin` does."""
    (project.path / "doubling.py").write_text(PLUGIN, encoding="utf-8")
    policy = POLICY.replace("require: exists(request.handled_at) and",
                            "require: double(2) == 4 and exists(request.handled_at) and")
    assert policy != POLICY
    (project.path / "policies" / "refunds.yaml").write_text(policy, encoding="utf-8")
    without = project.runpytest_subprocess("-p", "no:cacheprovider")
    assert "unknown function 'double'" in without.stdout.str()
    if how == "ini":
        project.makeini("[pytest]\npolicy_eval_policies = policies\npolicy_eval_plugins = doubling\n")
        result = project.runpytest_subprocess("-p", "no:cacheprovider")
    else:
        result = project.runpytest_subprocess("-p", "no:cacheprovider", "--policy-eval-plugin", "doubling")
    result.assert_outcomes(passed=2, failed=1)  # (the fixture's one failing test fails on its verdict)
    missing = project.runpytest_subprocess("-p", "no:cacheprovider", "--policy-eval-plugin", "no_such_module")
    assert missing.ret != 0 and "policy-eval plugin 'no_such_module'" in missing.stderr.str()

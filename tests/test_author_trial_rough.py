"""Rough edges an outside policy-author trial found (trial D, "ROUGH EDGES" R7-R12), and the command-line edges
found beside them, each pinned here:

R7.  A comment line inside a condition written over plain lines ends the value: the hint says so and suggests
     ``|-`` (it said the indentation was wrong, which it is not).
R8.  A policy test file that is not valid YAML is the test file's error, reported by ``policy-eval test`` with its
     file, line and column; the policies load ("1 error: the policies were not loaded", exit 2, before). ``lint``,
     which reads the test files for rule-untested, says that a test file was not read.
R9.  ``rule-never-applies`` for a ``when`` comparing an enum field with a value it cannot take names the value meant
     (``did you mean 'refund_only'?``), as ``constant-condition`` does.
R10. A test case that does not match its schema is reported at the member (line and column of the value in the
     test file), not at the test's ``- name:`` line; a timestamp written another way gets the form to write.
R11. ``stale-inherited-text``: a revision that changes a parameter whose old value an inherited title, reading or
     message quotes is a lint warning at the revision's parameter.
R12. The overlap error says that the earlier version has no ``effective_until`` (was "(until open-ended)").

Also: ``lint -p DIR`` (as check, test and eval take the folder); a ``.yaml`` in the policy folder that is a FIFO
is a located error (it was skipped without a word), never read; diff's notes are one function, worded for the
command line or for the workbench; ``latest_only`` marks its copy with a field (was a module-level set of ids).

Expected lines and columns are computed from the texts written here, not taken from the engine's output.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import policytext as pt
import pytest

from policy_eval.cli import run
from policy_eval.errors import PolicyLoadError
from policy_eval.resources import bundled_policies
from policy_eval.run import diff

LIMIT = "params:\n  handling_limit:\n    type: duration\n    value: {}\n    clause: C 1\n"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


# --- R7. a comment line ends a value written over plain lines ------------------------------------------------

PLAIN = """\
rules:
  - id: r1
    title: R
    clause: C
    severity: low
    message: M
    require: request.submitted_at <= order.confirmed_at + 15d
      # 下限
      and request.submitted_at >= order.confirmed_at
"""


def test_a_comment_inside_a_plain_multi_line_condition_gets_the_block_hint(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(PLAIN))
    (err,) = pt.errors(tmp_path)
    assert (err.line, err.column) == pt.at(path, "and request")
    assert "the comment line above ends the value of 'require'" in err.message
    assert "write 'require: |-'" in err.message
    assert "must start in the same column" not in err.message  # the indentation is not at fault


def test_the_block_the_hint_suggests_loads(tmp_path: Path) -> None:
    fixed = PLAIN.replace("    require: request", "    require: |-\n      request")
    pt.write(tmp_path / "demo.yaml", pt.policy(fixed))
    assert pt.load(tmp_path).policies["demo"].versions[0].rules[0].id == "r1"


def test_a_misindented_key_after_a_comment_still_gets_the_indentation_hint(tmp_path: Path) -> None:
    """The value above is a mapping (no text after its key): the comment has nothing to end."""
    text = pt.policy(pt.rules_text(pt.rule("r1", "true"))).replace("    title: R\n", "    title: R\n    # c\n     x: 1\n")
    pt.write(tmp_path / "demo.yaml", text)
    (err,) = pt.errors(tmp_path)
    assert "comment line above" not in err.message and "indented 5 spaces but the line above 4" in err.message


# --- R8. a broken test file is the test file's error -----------------------------------------------------------

def _with_broken_tests(folder: Path) -> Path:
    pt.write(folder / "demo" / "v1.yaml", pt.policy(pt.rules_text(pt.rule("r1", "exists(request.submitted_at)"))))
    return pt.write(folder / "demo" / "tests" / "t.yaml",
                    "tests:\n  - name: x\n    case: {kind: after_sale}\n   expect: {demo/r1: complied}\n")


def test_a_test_file_that_is_not_yaml_is_reported_as_the_test_files_error(tmp_path: Path) -> None:
    tests = _with_broken_tests(tmp_path / "p")
    code, out, err = _cli("test", "-p", str(tmp_path / "p"))
    line, column = pt.at(tests, "expect:")
    assert f"{tests}:{line}:{column}: invalid YAML" in err, err
    assert "the policies were not loaded" not in err + out
    assert code == 1 and "1 file(s) with errors" in out


def test_the_policies_beside_a_broken_test_file_load(tmp_path: Path) -> None:
    _with_broken_tests(tmp_path / "p")
    assert list(pt.load(tmp_path / "p").policies) == ["demo"]
    assert _cli("check", "-p", str(tmp_path / "p"))[0] == 0


def test_lint_says_a_broken_test_file_was_not_read_not_that_the_policies_were_not_loaded(tmp_path: Path) -> None:
    tests = _with_broken_tests(tmp_path / "p")
    code, out, err = _cli("lint", str(tmp_path / "p"))
    line, column = pt.at(tests, "expect:")
    assert code == 2 and f"{tests}:{line}:{column}: invalid YAML" in err, err
    assert err.rstrip().endswith("1 error: a policy test file was not read (policy-eval test reports it too), so "
                                 "nothing was linted"), err


def test_a_broken_file_with_a_policy_key_is_still_a_policy_error(tmp_path: Path) -> None:
    """Only a file that reads as a test file (a line 'tests:', none 'policy:') is left to `test`."""
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(pt.rule("r1", "true"))) + "tests:\n - a\n  b: [\n")
    (err,) = pt.errors(tmp_path)
    assert err.file == str(path) and "invalid YAML" in err.message


# --- R9. the rule that never applies names the enum value meant ---------------------------------------------

def test_rule_never_applies_names_the_enum_value_meant(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(
        pt.rule("r1", "exists(request.submitted_at)", when='request.type == "refund-only"'))))
    code, out, _ = _cli("lint", str(tmp_path))
    line, column = pt.at(path, '"request.type')
    found = [x for x in out.splitlines() if "rule-never-applies" in x]
    assert found and found[0].startswith(f"{path}:{line}:{column}: warning[rule-never-applies]"), out
    assert "did you mean 'refund_only'?" in found[0]


# --- R10. a case that does not match its schema: at the member --------------------------------------------------

CASE_TEST = """\
tests:
  - name: late
    case:
      kind: after_sale
      case_id: C1
      snapshot_at: "2024-03-20T00:00:00+08:00"
      order: {{id: O1, confirmed_at: "2024-02-20T10:00:00+08:00"}}
      request:
        id: R1
        type: refund_only
        submitted_at: "{submitted}"
    expect:
      demo/r1: complied
"""


def test_a_schema_error_of_a_test_case_is_at_the_member_with_the_timestamp_to_write(tmp_path: Path) -> None:
    pt.write(tmp_path / "p" / "demo.yaml", pt.policy(pt.rules_text(pt.rule("r1", "exists(request.submitted_at)"))))
    tests = pt.write(tmp_path / "p" / "tests" / "t.yaml", CASE_TEST.format(submitted="2024-03-01 10:00"))
    code, out, _ = _cli("test", "-p", str(tmp_path / "p"))
    line, column = pt.at(tests, '"2024-03-01 10:00"')
    assert code == 1
    assert (f"{tests}:{line}:{column}: case does not match its schema: $.request.submitted_at: "
            '"2024-03-01 10:00" is not a \'date-time\'') in out, out
    assert '"2024-03-01T10:00:00+08:00"' in out


def test_a_missing_member_is_at_the_object_that_lacks_it(tmp_path: Path) -> None:
    pt.write(tmp_path / "p" / "demo.yaml", pt.policy(pt.rules_text(pt.rule("r1", "exists(request.submitted_at)"))))
    text = CASE_TEST.format(submitted="2024-03-01T10:00:00+08:00").replace("        id: R1\n", "")
    tests = pt.write(tmp_path / "p" / "tests" / "t.yaml", text)
    _, out, _ = _cli("test", "-p", str(tmp_path / "p"))
    line, column = pt.at(tests, "type: refund_only")  # the request mapping starts at its first member
    assert f"{tests}:{line}:{column}: case does not match its schema: $.request: 'id' is a required property" in out, out


# --- R11. a revision changes a number its inherited texts quote -------------------------------------------------

def _revision(folder: Path, title: str, amend: str = "") -> Path:
    rule = pt.rule("reply-in-time", "request.merchant_response.at <= request.submitted_at + handling_limit",
                   title=title)
    base = pt.policy(LIMIT.format("48h") + pt.rules_text(rule)).replace(
        "  applies_to:", "  effective_until: 2021-01-01\n  applies_to:")
    pt.write(folder / "v1.yaml", base)
    return pt.write(folder / "v2.yaml", 'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n'
                    "  effective_from: 2021-01-01\n" + LIMIT.format("24h") + amend)


def _stale(folder: Path) -> list[str]:
    _, out, _ = _cli("lint", str(folder))
    return [x for x in out.splitlines() if "stale-inherited-text" in x]


@pytest.mark.parametrize("title", ["商家应在48小时内处理", "answer within 48 hours", "a 48-hour limit", "2天内处理"])
def test_an_inherited_title_quoting_the_old_value_is_flagged_at_the_revisions_parameter(tmp_path: Path,
                                                                                        title: str) -> None:
    v2 = _revision(tmp_path, title)
    (finding,) = _stale(tmp_path)
    line, column = pt.at(v2, "handling_limit:")
    assert finding.startswith(f"{v2}:{line}:{column}: warning[stale-inherited-text]: parameter 'handling_limit' is "
                              "24h here but 48h in version '1'; rule 'reply-in-time' inherits its title from version "
                              "'1' (v1.yaml:"), finding
    assert "write the title anew in this version (an 'amend:' entry for 'reply-in-time' with 'title:')" in finding


@pytest.mark.parametrize("title", ["商家应在24小时内处理", "answer within 148 hours", "第48条", "answer in time"])
def test_no_finding_when_the_title_does_not_quote_the_old_value(tmp_path: Path, title: str) -> None:
    _revision(tmp_path, title)
    assert _stale(tmp_path) == []


def test_no_finding_once_the_revision_writes_the_title_anew(tmp_path: Path) -> None:
    _revision(tmp_path, "商家应在48小时内处理", "amend:\n  - id: reply-in-time\n    title: 商家应在24小时内处理\n")
    assert _stale(tmp_path) == []


def test_the_bundled_rulebook_has_no_stale_inherited_text() -> None:
    assert _stale(bundled_policies()) == []


# --- R12. the overlap error says what the earlier version lacks ------------------------------------------------

def test_the_overlap_error_names_the_missing_effective_until(tmp_path: Path) -> None:
    rules = pt.rules_text(pt.rule("r1", "true"))
    pt.write(tmp_path / "v1.yaml", pt.policy(rules))
    pt.write(tmp_path / "v2.yaml", pt.policy(rules, version="2", effective_from="2021-01-01"))
    (err,) = pt.errors(tmp_path)
    assert "open-ended" not in err.message
    assert "(no effective_until: in force with no end)" in err.message, err.message


# --- lint -p ---------------------------------------------------------------------------------------------------

def test_lint_takes_the_policy_folder_with_p_as_the_other_commands_do(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(
        pt.rule("r1", "exists(request.submitted_at)", when='request.type == "refund-only"'))))
    by_p = _cli("lint", "-p", str(tmp_path))
    assert by_p == _cli("lint", str(tmp_path)) == _cli("lint", "--policies", str(tmp_path))
    assert by_p[0] == 0 and "warning[rule-never-applies]" in by_p[1]


# --- a FIFO named .yaml ----------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_the_policy_folder_is_a_located_error_and_is_never_read(tmp_path: Path) -> None:
    """Nothing writes to the FIFO: reading it would block, so the test ending at all shows it is not opened."""
    pt.write(tmp_path / "p" / "demo.yaml", pt.policy(pt.rules_text(pt.rule("r1", "true"))))
    fifo = tmp_path / "p" / "pipe.yaml"
    os.mkfifo(fifo)
    code, _, err = _cli("check", "-p", str(tmp_path / "p"))
    assert code == 2
    assert re.search(rf"^{re.escape(str(fifo))}:1:1: not a regular file \(a FIFO, a socket or a device\); not read",
                     err, re.M), err
    assert _cli("check", "-p", str(fifo))[0] == 2  # given as the policy file itself
    assert _cli("test", str(tmp_path / "p"))[0] != 0  # `test PATH` looks for test files without opening it


# --- diff's notes: one function, two wordings; latest_only's mark ------------------------------------------------

def test_the_notes_of_diff_are_worded_for_the_command_line_or_for_a_page() -> None:
    report = diff.DiffReport(cases=2, compared=0, unjudged=["demo version 2 (from 2030-01-01)"])
    cli = diff.notes(report)
    page = diff.notes(report, "the as-of date beside the editor", latest=False)
    assert cli[0].startswith("note: demo version 2 (from 2030-01-01) judged none of these cases")
    assert "(--as-of DATE; --latest judges each policy by its newest version)" in cli[0]
    assert page[0].endswith("judges them by it (the as-of date beside the editor)") and "--latest" not in " ".join(page)
    assert cli[1].startswith("nothing compared: each of the 2 case(s)") and "--as-of DATE" in cli[1]
    text = report.text()
    assert cli[0] in text and text.splitlines()[-1] == cli[1]  # the note before the counts, "nothing compared" last


def test_the_workbench_notes_are_diffs_notes() -> None:
    pytest.importorskip("starlette", reason="the web extra is not installed")
    from policy_eval.web import impact

    report = diff.DiffReport(cases=1, compared=0, unjudged=["demo version 2 (from 2030-01-01)"])
    assert impact.notes(report) == diff.notes(report, "the as-of date beside the editor, as policy-eval diff --as-of",
                                              latest=False)


def test_latest_only_marks_its_copy_and_not_the_rulebook() -> None:
    book = pt.load(bundled_policies())
    latest = diff.latest_only(book)
    assert latest.newest_only is True and book.newest_only is False
    assert not hasattr(diff, "_LATEST")


def test_a_policy_load_error_is_still_a_load_error(tmp_path: Path) -> None:
    """(guard) a folder with no policy at all still says so."""
    pt.write(tmp_path / "x.yaml", "foo: 1\n")
    with pytest.raises(PolicyLoadError):
        pt.load(tmp_path)


# --- R12. findings at one place come in one order ----------------------------------------------------------------

def test_findings_at_one_place_are_in_the_same_order_whatever_the_hash_seed(tmp_path: Path) -> None:
    """A revision's untested inherited rules are all reported at its `revises:`; they came in the order of a set
    of findings, which string hashing changes from run to run. Now they are sorted by message."""
    import subprocess
    import sys

    rules = pt.rules_text(*(pt.rule(name, "true") for name in ("zeta", "alpha", "mu", "beta", "omega")))
    pt.write(tmp_path / "v1.yaml", pt.policy(rules).replace("  applies_to:", "  effective_until: 2021-01-01\n  applies_to:"))
    pt.write(tmp_path / "v2.yaml", 'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n  effective_from: 2021-01-01\n')
    pt.write(tmp_path / "tests" / "t.yaml", "tests:\n  - name: x\n    case: {kind: after_sale}\n    expect: {}\n")
    runs = []
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", "import sys; from policy_eval.cli import main; main()", "lint",
                               str(tmp_path)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120)
        lines = [x for x in done.stdout.splitlines() if "v2.yaml" in x and "rule-untested" in x]
        assert len(lines) == 5, done.stdout + done.stderr
        runs.append(lines)
    assert runs[0] == sorted(runs[0]) and runs[0] == runs[1] == runs[2]

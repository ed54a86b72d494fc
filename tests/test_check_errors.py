"""What ``policy-eval check`` says about an analyst's slips (policy YAML edited by hand).

1. A misspelt key of a mapping checked against the policy schema (``severty:``) is reported once, at the key,
   with the key it is a misspelling of; the "'severity' is required" it also causes is not reported.
2. A missing key is located at the key of the mapping that lacks it (``policy:``, ``source:``, a parameter's
   name), or where the mapping starts when it has none (a rule's ``- id:`` line, the document).
3. The errors of a file come in line and column order, the files in the order they are read, each file's
   errors together (a revision's own parts, the parts it resolves and the versions' checks used to come
   in the order the loader found them).
4. A let (a definition, a metric let) that uses one written below it is told so, with that one's line.

Expected lines and columns are computed from the texts written here, not taken from the engine's output.
"""

from __future__ import annotations

import io
from pathlib import Path

import policytext as pt
import pytest

from policy_eval.cli import run
from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.resources import bundled_policies
from policy_eval.rulebook.errororder import in_order

RULE = pt.rule("r1", "request.submitted_at <= order.confirmed_at + 15d", severity="medium")


def _where(errors: list[PolicyError]) -> list[tuple[str | None, int | None, int | None]]:
    return [(e.file, e.line, e.column) for e in errors]


# --- 1. a misspelt key is reported once --------------------------------------------------------------------

def test_a_misspelt_required_key_is_one_error_at_the_key(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE.replace("severity:", "severty:"))))
    (err,) = pt.errors(tmp_path)
    assert err.message == "unknown key 'severty'; did you mean 'severity'?"
    assert (err.file, err.line, err.column) == (str(path), *pt.at(path, "severty:"))


@pytest.mark.parametrize(("old", "new", "meant"), [
    ("  id: demo\n", "  idd: demo\n", "id"),  # policy:
    ("{document: demo}", "{documnet: demo}", "document"),  # policy.source
    ("    clause: C\n", "    clase: C\n", "clause"),  # a rule
    ('    require: "', '    requrie: "', "require"),  # a rule's require or forbid (oneOf)
    ("rules:\n", "rule:\n", "rules"),  # the document
    ("      - kind: refund\n", "      - knd: refund\n", "kind"),  # a rule's remedy
], ids=["policy", "source", "rule", "require", "document", "remedy"])
def test_any_misspelt_key_of_a_missing_one_is_reported_alone(tmp_path: Path, old: str, new: str,
                                                             meant: str) -> None:
    text = pt.policy(pt.rules_text(RULE + "    remedies:\n      - kind: refund\n"))
    assert old in text
    path = pt.write(tmp_path / "demo.yaml", text.replace(old, new, 1))
    misspelt = new.strip(" -{\n").split(":")[0]
    (err,) = pt.errors(tmp_path)
    assert err.message == f"unknown key '{misspelt}'; did you mean '{meant}'?"
    assert (err.line, err.column) == pt.at(path, misspelt + ":")


def test_a_misspelt_key_of_a_parameter_in_long_form(tmp_path: Path) -> None:
    body = "params:\n  limit:\n    type: duration\n    vaule: 15d\n    clause: C\n" + pt.rules_text(RULE)
    path = pt.write(tmp_path / "demo.yaml", pt.policy(body))
    errors = pt.errors(tmp_path)
    assert errors[0].message == "unknown key 'vaule'; did you mean 'value'?"
    assert (errors[0].line, errors[0].column) == pt.at(path, "vaule:")
    assert not any("needs 'value'" in e.message or "is required" in e.message for e in errors)


def test_an_unknown_key_unlike_the_missing_one_leaves_both_errors(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE.replace("severity: medium", "colour: red"))))
    assert sorted(e.message for e in pt.errors(tmp_path)) == [
        "'severity' is required (in rules #1, id r1)",
        "unknown key 'colour' (allowed: clause, depends_on, forbid, id, let, message, reading, remedies, require, "
        "severity, tags, title, when)",
    ]


# --- 2. where a missing key is reported --------------------------------------------------------------------

def test_a_key_missing_from_the_policy_block_is_reported_at_policy(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE)).replace("  source: {document: demo}\n", ""))
    (err,) = pt.errors(tmp_path)
    assert err.message == "'source' is required (in policy)"
    assert (err.line, err.column) == pt.at(path, "policy:") == (1, 1)
    assert str(err).splitlines()[1].strip() == "policy:"


def test_a_key_missing_from_a_nested_mapping_is_reported_at_its_key(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE))
                    .replace("  source: {document: demo}\n", "  source:\n    reference: demo 1\n"))
    (err,) = pt.errors(tmp_path)
    assert err.message == "'document' is required (in policy.source)"
    assert (err.line, err.column) == pt.at(path, "source:")


def test_a_key_missing_from_a_parameter_is_reported_at_its_name(tmp_path: Path) -> None:
    body = "params:\n  limit:\n    value: 15d\n    clause: C\n" + pt.rules_text(RULE)
    path = pt.write(tmp_path / "demo.yaml", pt.policy(body))
    (err,) = pt.errors(tmp_path)
    assert err.message == "'type' is required (in params.limit)"
    assert (err.line, err.column) == pt.at(path, "limit:")


def test_a_key_missing_from_a_list_item_is_reported_at_its_first_line(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE.replace("    clause: C\n", ""))))
    (err,) = pt.errors(tmp_path)
    assert err.message == "'clause' is required (in rules #1, id r1)"
    assert (err.line, err.column) == pt.at(path, "id: r1")  # the item's mapping starts after '- '


# --- 3. errors in line order, per file ---------------------------------------------------------------------

BASE = pt.rules_text(RULE, pt.rule("r2", "exists(request.merchant_response)"))
REVISION = """\
policy:
  id: demo
  version: "2"
  revises: "1"
  effective_from: 2024-06-01
withdraw: [r3]
amend:
  - id: r1
    when: exists(refund_succeded_at)
  - id: r4
    severity: high
"""


def _revised(folder: Path) -> tuple[Path, Path]:
    base = pt.write(folder / "demo" / "v1.yaml", pt.policy(BASE).replace(
        "  effective_from: 2020-01-01\n", "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    return base, pt.write(folder / "demo" / "v2.yaml", REVISION)


def test_the_errors_of_a_revision_come_in_line_order(tmp_path: Path) -> None:
    _, rev = _revised(tmp_path)
    errors = pt.errors(tmp_path)
    assert _where(errors) == [(str(rev), *pt.at(rev, "r3")), (str(rev), *pt.at(rev, "refund_succeded_at")),
                              (str(rev), *pt.at(rev, "r4"))]
    assert [e.message.split(" ")[0] for e in errors] == ["withdraws", "unknown", "amends"]


def test_the_errors_of_each_file_stay_together_files_in_reading_order(tmp_path: Path) -> None:
    _, rev = _revised(tmp_path)
    # another policy, read after demo/v2.yaml but built before it (a revision is built after what it revises)
    other = pt.write(tmp_path / "other" / "v1.yaml", pt.policy(pt.rules_text(
        pt.rule("o1", "nope > 1"), pt.rule("o2", "request.submited_at < snapshot_at")), id="other"))
    errors = pt.errors(tmp_path)
    assert [e.file for e in errors] == [str(rev)] * 3 + [str(other)] * 2
    assert _where(errors)[3:] == [(str(other), *pt.at(other, "nope")), (str(other), *pt.at(other, "submited_at"))]


def test_check_prints_the_errors_in_that_order(tmp_path: Path) -> None:
    _, rev = _revised(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "-p", str(tmp_path)], out, err) == 2
    located = [line.split(": ")[0] for line in err.getvalue().splitlines() if line.startswith(str(rev))]
    assert located == [f"{rev}:{line}:{column}" for line, column in (pt.at(rev, "r3"), pt.at(rev, "refund_succeded_at"),
                                                                     pt.at(rev, "r4"))]


def test_in_order_groups_by_file_then_sorts_by_place() -> None:
    def e(file: str | None, line: int | None, column: int | None = None) -> PolicyError:
        return PolicyLoadError(f"{file}:{line}:{column}", file=file, line=line, column=column)

    found = [e("b", 3, 1), e("a", 9, 2), e("b", 1, 5), e("c", 2), e("a", 9, 1), e("b", None), e(None, 4)]
    assert [x.message for x in in_order(found, ["a", "b"])] == [
        "a:9:1", "a:9:2", "b:None:None", "b:1:5", "b:3:1", "c:2:None", "None:4:None"]
    assert [x.message for x in in_order(found)][:3] == ["b:None:None", "b:1:5", "b:3:1"]  # first met, first


# --- 4. a let or definition used above where it is written -------------------------------------------------

def test_a_let_used_before_it_is_written(tmp_path: Path) -> None:
    rule = pt.rule("r1", "request.submitted_at <= due", let=[("due", "later + 15d"), ("later", "order.confirmed_at")])
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(rule)))
    (err,) = pt.errors(tmp_path)
    line = pt.at(path, "later:")[0]
    assert err.message == f"'later' is a let defined below (line {line}); a let can use only the lets above it"
    assert (err.line, err.column) == pt.at(path, "later + 15d")


def test_a_let_that_uses_itself(tmp_path: Path) -> None:
    rule = pt.rule("r1", "request.submitted_at <= due", let=[("due", "due + 15d")])
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(rule)))
    (err,) = pt.errors(tmp_path)
    assert err.message == "'due' is the let being defined; a let cannot use itself"


def test_a_definition_used_before_it_is_written(tmp_path: Path) -> None:
    body = "definitions:\n  due: start + 15d\n  start: order.confirmed_at\n" + pt.rules_text(
        pt.rule("r1", "request.submitted_at <= due"))
    path = pt.write(tmp_path / "demo.yaml", pt.policy(body))
    (err,) = pt.errors(tmp_path)
    line = pt.at(path, "start:")[0]
    assert err.message == (f"'start' is a definition defined below (line {line}); a definition can use only the "
                           "definitions above it")
    assert (err.line, err.column) == pt.at(path, "start + 15d")


def test_a_name_defined_nowhere_is_still_unknown(tmp_path: Path) -> None:
    rule = pt.rule("r1", "request.submitted_at <= due", let=[("due", "latr + 15d"), ("later", "order.confirmed_at")])
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(rule)))
    (err,) = pt.errors(tmp_path)
    assert err.message.startswith("unknown name 'latr': not a case field, parameter, definition or let-binding")


def test_an_amended_let_that_uses_an_inherited_one_below_it(tmp_path: Path) -> None:
    rule = pt.rule("r1", "request.submitted_at <= start",
                   let=[("start", "order.confirmed_at + 15d"), ("other", "order.confirmed_at + 16d")])
    base = pt.write(tmp_path / "v1.yaml", pt.policy(pt.rules_text(rule)).replace(
        "  effective_from: 2020-01-01\n", "  effective_from: 2020-01-01\n  effective_until: 2024-06-01\n"))
    rev = pt.write(tmp_path / "v2.yaml", 'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n'
                   "  effective_from: 2024-06-01\namend:\n  - id: r1\n    let:\n      start: other - 1d\n")
    (err,) = pt.errors(tmp_path)
    line = pt.at(base, "other:")[0]
    assert err.message == (f"'other' is a let defined below (v1.yaml:{line}); a let can use only the lets "
                           "above it")
    assert (err.file, err.line, err.column) == (str(rev), *pt.at(rev, "other - 1d"))


def test_a_metric_let_used_before_it_is_written(tmp_path: Path) -> None:
    from test_metrics_executor import END

    from policy_eval.run.metrics import metrics_from_records

    defs = tmp_path / "order_metrics.yaml"
    text = (bundled_policies() / "metrics" / "order_metrics.yaml").read_text(encoding="utf-8")
    old = "      let:\n        abnormal: "
    assert old in text
    defs.write_text(text.replace(old, "      let:\n        doubled: abnormal * 2\n        abnormal: ", 1),
                    encoding="utf-8")
    with pytest.raises(ErrorList) as info:
        metrics_from_records([], END, definitions=defs)
    (err,) = info.value.errors
    line = pt.at(defs, "abnormal: ")[0]
    assert err.message == f"'abnormal' is a let defined below (line {line}); a let can use only the lets above it"
    assert (err.file, err.line, err.column) == (str(defs), *pt.at(defs, "abnormal * 2"))


def test_an_overlay_setting_a_number_the_text_sets_cites_each_versions_clause(tmp_path: Path) -> None:
    """A new user: the error quoted only version 1's clause, though version 2 sets the parameter too."""
    from policy_eval.errors import PolicyError
    from policy_eval.rulebook import load_rulebook

    overlay = tmp_path / "ov.yaml"
    overlay.write_text("params:\n  after-sales:\n    handling_limit: 24h\n", encoding="utf-8")
    try:
        load_rulebook(params=str(overlay))
    except PolicyError as exc:
        message = str(exc)
    else:
        raise AssertionError("the overlay loaded")
    assert "the source text sets 'handling_limit' of 'after-sales' (v1: 售后规则 2.2, 3.2" in message
    assert "| v2: 售后服务规则 2.2" in message

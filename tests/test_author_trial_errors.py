"""Mistakes in policy files, reported as a policy author (a compliance analyst) meets them: an outside trial.

D3. A duration parameter whose value is mistyped (``24 h``, ``24``, ``1天``, ``P1D``, ``24 hours``) is one error, at
    the value: its uses see the declared type, so they report no false "cannot add datetime to datetime" (in a
    revision those came first, at the inherited rules' lines).
D4. A money literal names an ISO 4217 currency: ``0.01 RMB`` is an error at the code, naming CNY (it used to load,
    and every case was undetermined "currency mismatch: CNY vs RMB").
D5. A revision is the later text: one in force before the version it revises is an error at its
    effective_from (docs/policies.md, "Versions that inherit"). ``diff --latest`` no longer recommends --latest.
D6. A required text of white space only (``clause: "  "``) is refused as ``clause: ""`` is; so are an empty
    source document, waiver reason and approver.
D7. The overlay example of docs/policies.md ("Parameters a deployment sets") loads with the bundled policies.
D8. A duration in a run-time message is written as the language writes it (``12h``, not ``12:00:00``), and a
    date or money operation on two constants that fails on every case is a load error where it is written.

Expected lines and columns are computed from the texts written here, not taken from the engine's output.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import policytext as pt
import pytest

from policy_eval.cli import run
from policy_eval.errors import PolicySyntaxError
from policy_eval.expression import compile_expression
from policy_eval.lang.ops import EvalFailure
from policy_eval.resources import bundled_policies

ROOT = Path(__file__).resolve().parent.parent
LIMIT_RULE = pt.rule("reply-in-time", "request.merchant_response.at <= request.submitted_at + handling_limit",
                     let=[("deadline", "request.submitted_at + handling_limit")])


def _limit(value: str, *, short: bool = False) -> str:
    if short:
        return f"params:\n  handling_limit: {value}\n"
    return f"params:\n  handling_limit:\n    type: duration\n    value: {value}\n    clause: C 1\n"


# --- D3. a broken duration parameter is one error, at its value ----------------------------------------------

@pytest.mark.parametrize("value", ["24 h", "24", "1天", "P1D", "24 hours", "7D", "1.5d"])
def test_a_mistyped_duration_parameter_is_one_error_at_its_value(tmp_path: Path, value: str) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(_limit(value) + pt.rules_text(LIMIT_RULE)))
    errors = pt.errors(tmp_path)
    assert [e.line for e in errors] == [pt.at(path, "value:")[0]], [str(e) for e in errors]
    assert not any("datetime to datetime" in e.message for e in errors)


def test_a_mistyped_short_form_parameter_is_one_error(tmp_path: Path) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(_limit("24 h", short=True) + pt.rules_text(LIMIT_RULE)))
    (err,) = pt.errors(tmp_path)
    assert err.line == pt.at(path, "handling_limit:")[0]


def test_a_revision_with_a_mistyped_parameter_reports_only_it(tmp_path: Path) -> None:
    """The inherited rules' uses came first, each "rule reply-in-time in v1.yaml:...: cannot add datetime to
    datetime", located at the revision's `type: duration` line."""
    base = pt.policy(_limit("48h") + pt.rules_text(LIMIT_RULE), effective_from="2020-01-01")
    base = base.replace("  applies_to:", "  effective_until: 2021-01-01\n  applies_to:")
    pt.write(tmp_path / "v1.yaml", base)
    revision = ('policy:\n  id: demo\n  version: "2"\n  revises: "1"\n  effective_from: 2021-01-01\n'
                + _limit("24 h"))
    path = pt.write(tmp_path / "v2.yaml", revision)
    (err,) = pt.errors(tmp_path)
    assert (err.file, err.line) == (str(path), pt.at(path, "value:")[0])
    assert "unexpected 'h'" in err.message


def test_an_untyped_operand_is_not_taken_for_the_other_sides_type() -> None:
    """A name of unknown type (no case schema) beside a datetime was taken as a datetime: `t + x` was "cannot add
    datetime to datetime", though x may well be a duration."""
    schema = {"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}, "x": {}}}
    assert compile_expression("t + x", case_schema=schema) is not None


# --- D4. money names an ISO 4217 currency ---------------------------------------------------------------------

@pytest.mark.parametrize(("code", "meant"), [("RMB", "CNY"), ("XYZ", None), ("CYN", "CNY"), ("USS", "USD")])
def test_a_money_literal_with_no_iso_currency_is_an_error_at_the_code(tmp_path: Path, code: str,
                                                                      meant: str | None) -> None:
    body = f"params:\n  compensation:\n    type: money\n    value: 0.01 {code}\n    clause: C 1\n"
    path = pt.write(tmp_path / "demo.yaml", pt.policy(body + pt.rules_text(pt.rule("r1", "true"))))
    (err,) = pt.errors(tmp_path)
    assert err.message.startswith(f"'{code}' is not an ISO 4217 currency code")
    assert (f"did you mean {meant}?" in err.message) if meant else "did you mean" not in err.message
    line, column = pt.at(path, f"0.01 {code}")
    assert (err.line, err.column) == (line, column + len("0.01 "))


def test_money_in_a_condition_is_checked_too() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        compile_expression("1.00 CNY < 2.00 RMB")
    assert (info.value.column, info.value.message) == (
        17, "'RMB' is not an ISO 4217 currency code; did you mean CNY?")


@pytest.mark.parametrize("code", ["CNY", "USD", "EUR", "JPY", "HKD", "GBP"])
def test_iso_codes_are_money(code: str) -> None:
    assert str(compile_expression(f"1.00 {code} + 2.00 {code}").evaluate({})) == f"3.00 {code}"


def test_the_currency_table_is_iso_4217() -> None:
    from policy_eval.lang.currencies import ISO_4217, unknown_currency

    assert len(ISO_4217) > 170 and all(re.fullmatch("[A-Z]{3}", c) for c in ISO_4217)
    assert unknown_currency("CNY") is None
    for written in ("RMB", "元", "¥", "￥"):
        assert unknown_currency(written) == f"'{written}' is not an ISO 4217 currency code; did you mean CNY?"


def test_the_bundled_policies_name_iso_currencies_only() -> None:
    from policy_eval.lang.currencies import ISO_4217

    codes = set(re.findall(r"\d(?:\.\d+)? ?([A-Z]{3})\b", "\n".join(
        p.read_text(encoding="utf-8") for p in Path(str(bundled_policies())).rglob("*.yaml"))))
    assert codes <= ISO_4217, codes - ISO_4217


# --- D5. a revision comes after what it revises -----------------------------------------------------------------

def _revision_pair(tmp_path: Path, revises: str | None) -> Path:
    base = pt.policy(_limit("48h") + pt.rules_text(LIMIT_RULE), effective_from="2021-01-01")
    pt.write(tmp_path / "v1.yaml", base)
    head = 'policy:\n  id: demo\n  version: "2"\n'
    if revises is None:
        text = pt.policy(_limit("24h") + pt.rules_text(LIMIT_RULE), version="2", effective_from="2020-01-01")
        text = text.replace("  applies_to:", "  effective_until: 2021-01-01\n  applies_to:")
    else:
        text = head + f'  revises: "{revises}"\n  effective_from: 2020-01-01\n  effective_until: 2021-01-01\n' \
            + _limit("24h")
    return pt.write(tmp_path / "v2.yaml", text)


def test_a_revision_in_force_before_the_version_it_revises_is_an_error(tmp_path: Path) -> None:
    path = _revision_pair(tmp_path, "1")
    (err,) = pt.errors(tmp_path)
    assert (err.file, err.line, err.column) == (str(path), *pt.at(path, "2020-01-01"))
    assert "version '2' of 'demo' revises version '1' but comes into force before it" in err.message
    assert "correct effective_from, or name the version it revises in revises:" in err.message


def test_an_earlier_version_that_revises_nothing_loads(tmp_path: Path) -> None:
    _revision_pair(tmp_path, None)
    assert len(pt.load(tmp_path).policies["demo"].versions) == 2


def test_diff_latest_does_not_recommend_latest(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(ROOT / "policies", old, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shutil.copytree(old, new)
    with open(new / "after_sales" / "v1.yaml", "a", encoding="utf-8") as fh:
        fh.write("# revised\n")  # a version the cases' times never reach, and not the latest either
    case = ROOT / "examples" / "after_sale_clothing_return_ok.json"
    out, err = io.StringIO(), io.StringIO()
    assert run(["diff", "--latest", str(old), str(new), str(case)], out, err) == 0
    assert "nothing compared" in out.getvalue()
    assert "use --latest" not in out.getvalue()
    assert "with --latest, each side's newest version" in out.getvalue()


# --- D6. text of white space only is empty ----------------------------------------------------------------------

WAIVER = ("waivers:\n  - id: W-1\n    scope: \"true\"\n    reason: outage\n    approved_by: ops@example\n"
          "    until: 2021-01-01\n")


@pytest.mark.parametrize(("old", "new", "where"), [
    ("    clause: C\n", '    clause: "  "\n', "rules #1, id r1.clause"),
    ("    title: R\n", '    title: "\t "\n', "rules #1, id r1.title"),
    ("    message: M\n", '    message: " "\n', "rules #1, id r1.message"),
    ("  title: demo\n", '  title: "   "\n', "policy.title"),
    ("{document: demo}", '{document: "  "}', "policy.source.document"),
    ("{document: demo}", '{document: ""}', "policy.source.document"),
    ("    reason: outage\n", '    reason: " "\n', "waivers #1, id W-1.reason"),
    ("    approved_by: ops@example\n", "    approved_by: ''\n", "waivers #1, id W-1.approved_by"),
])
def test_a_required_text_of_white_space_only_is_refused(tmp_path: Path, old: str, new: str, where: str) -> None:
    text = pt.policy(pt.rules_text(pt.rule("r1", "true")) + WAIVER)
    assert old in text
    path = pt.write(tmp_path / "demo.yaml", text.replace(old, new, 1))
    (err,) = pt.errors(tmp_path)
    where = where.replace(", id r1.", " (id r1).").replace(", id W-1.", " (id W-1).")
    assert err.message.startswith(f"{where}: must not be empty")
    assert err.line == pt.at(path, new.strip(" \n{}"))[0]


# --- D7. the documented overlay is valid ------------------------------------------------------------------------

def _documented_overlay() -> str:
    doc = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    section = doc.split("### Parameters a deployment sets", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    (overlay,) = [b for b in blocks if b.startswith("# deployment.yaml")]
    return overlay


def test_the_documented_overlay_loads_with_the_bundled_policies(tmp_path: Path) -> None:
    overlay = pt.write(tmp_path / "deployment.yaml", _documented_overlay())
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "-p", str(ROOT / "policies"), "--params", str(overlay)], out, err)
    assert code == 0, err.getvalue() + out.getvalue()


def test_the_documented_declaration_is_the_bundled_one() -> None:
    doc = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    section = doc.split("### Parameters a deployment sets", 1)[1].split("\n### ", 1)[0]
    clause = re.search(r'clause: "(.*)"', section)
    assert clause is not None
    assert clause.group(1) in (ROOT / "policies" / "conduct" / "v1.yaml").read_text(encoding="utf-8")
    assert "set cs-conduct.response_limit" in section and "conduct.response_limit\"" not in section.replace(
        "cs-conduct.response_limit\"", "")


# --- D8. durations in messages; constants that always fail --------------------------------------------------

def test_a_date_moved_by_hours_names_the_duration_as_written() -> None:
    schema = {"type": "object", "properties": {"day": {"type": "string", "format": "date"}}}
    expr = compile_expression("day + 12h", case_schema=schema)
    for evaluate in (expr.evaluate, expr.interpret):
        with pytest.raises(EvalFailure) as info:
            evaluate({"day": "2024-01-01"})
        assert "got 12h" in info.value.message and "12:00:00" not in info.value.message


@pytest.mark.parametrize(("condition", "message"), [
    ("2024-01-01 + 12h == 2024-01-01", "date arithmetic needs whole days, got 12h"),
    ("request.submitted_at > start_of_day(2024-01-01 - 1d12h)", "date arithmetic needs whole days, got 1d12h"),
    ("1.00 CNY + 1.00 USD > 0.00 CNY", "currency mismatch: CNY vs USD"),
])
def test_an_operation_on_constants_that_always_fails_is_a_load_error(tmp_path: Path, condition: str,
                                                                      message: str) -> None:
    path = pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(pt.rule("r1", condition))))
    (err,) = pt.errors(tmp_path)
    assert err.message.startswith(message)
    line, column = pt.at(path, "require:")
    assert err.line == line and err.column > column


def test_an_operation_on_constants_that_works_loads(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(
        pt.rule("r1", "request.submitted_at >= start_of_day(2024-01-01 + 1d) and 1.00 CNY < 2.00 CNY"))))
    assert pt.load(tmp_path).policies["demo"]

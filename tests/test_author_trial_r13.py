"""Author trial R13 (an analyst publishing an after-sales revision): mistakes the tools accepted silently.

* a revision starting at ``2027-01-01T00:00:00Z`` after one ending ``2027-01-01`` (+08:00) left eight hours
  judged by no version, and ``explain`` showed both periods as ``2027-01-01``: lint ``version-gap``, and
  periods show an instant that is not midnight in Asia/Shanghai in full;
* a misspelt parameter name in a revision (``handling_limt``) adds a parameter and keeps the old value: the
  ``unused-parameter`` warning now names the parameter the rules read;
* a new rule given an inherited rule's id replaces it: ``replaced-rule-clause`` when the clause differs;
* ``special_goods: [水果，生鲜，虚拟商品, 汽车]`` is two items for YAML: ``full-width-list-separator``;
* ``72小时`` was "unexpected character '7'"; ``<= "100.00"`` against money had no hint; ``100 RMB`` ran
  "did you mean CNY?; hint: …" together;
* with no ``-p`` in a folder holding an author's ``./policies``, the bundled rulebook was used without a word.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import policytext as pt
import pytest

from policy_eval.authoring.lint import lint_paths
from policy_eval.errors import PolicyError
from policy_eval.lang.parser import parse
from policy_eval.rulebook import load_rulebook

RULE = """\
  - id: {id}
    title: t
    clause: {clause}
    severity: low
    require: request.merchant_response.at <= request.submitted_at + limit
    message: late
"""

V1 = """\
policy:
  id: demo
  title: demo
  version: "1"
  source: {{document: d, reference: r}}
  effective_from: 2021-01-01
  effective_until: {until}
  applies_to: after_sale
  reference_time: request.submitted_at
params:
  limit:
    type: duration
    value: 48h
    clause: c1
rules:
""" + RULE.format(id="r", clause="售后服务规则 2.2")


def _write(folder: Path, until: str, v2: str) -> Path:
    pt.write(folder / "v1.yaml", V1.format(until=until))
    pt.write(folder / "v2.yaml", 'policy:\n  id: demo\n  version: "2"\n  revises: "1"\n' + v2)
    return folder


def _found(folder: Path, check: str) -> list[tuple[str, int, int, str]]:
    return [(Path(f.file).name, f.line, f.column, f.message) for f in lint_paths([folder]) if f.check == check]


def _line(folder: Path, name: str, text: str) -> int:
    return next(i for i, x in enumerate((folder / name).read_text(encoding="utf-8").splitlines(), 1) if text in x)


@pytest.mark.parametrize("until, start, shown_until, shown_start", [
    ("2027-01-01", "2027-01-01T00:00:00Z", "2027-01-01", "2027-01-01T08:00:00+08:00"),
    ("2026-12-31", "2027-01-01", "2026-12-31", "2027-01-01"),
])
def test_a_gap_between_two_versions_is_a_warning_naming_both_instants(
        tmp_path: Path, until: str, start: str, shown_until: str, shown_start: str) -> None:
    folder = _write(tmp_path, until, f"  effective_from: {start}\n")
    [(name, line, column, message)] = _found(folder, "version-gap")
    assert (name, line, column) == ("v2.yaml", _line(folder, "v2.yaml", "effective_from"), 19)
    assert f"ends at {shown_until}" in message and f"starts only at {shown_start}" in message
    assert f"[{shown_until} .. {shown_start})" in message and "judged by no version" in message


@pytest.mark.parametrize("start", ["2027-01-01", "2027-01-01T00:00:00+08:00", "2026-12-31T16:00:00Z"])
def test_versions_that_meet_have_no_gap(tmp_path: Path, start: str) -> None:
    assert _found(_write(tmp_path, "2027-01-01", f"  effective_from: {start}\n"), "version-gap") == []


def test_a_period_shows_a_boundary_that_is_not_midnight_in_shanghai_in_full(tmp_path: Path) -> None:
    from policy_eval.rulebook.policy.model import boundary_text

    book = load_rulebook(_write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01T00:00:00Z\n"))
    v1, v2 = book.policies["demo"].versions
    assert v1.period() == "[2021-01-01 .. 2027-01-01)"
    assert v2.period() == "[2027-01-01T08:00:00+08:00 .. open)"
    utc = dt.UTC
    assert boundary_text(dt.datetime(2026, 12, 31, 16, tzinfo=utc)) == "2027-01-01"  # midnight in Shanghai
    assert boundary_text(dt.datetime(2027, 1, 1, tzinfo=utc)) == "2027-01-01T08:00:00+08:00"


def test_a_misspelt_parameter_in_a_revision_names_the_one_the_rules_read(tmp_path: Path) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nparams:\n  limt: 72h\n")
    [(name, line, _, message)] = _found(folder, "unused-parameter")
    assert (name, line) == ("v2.yaml", _line(folder, "v2.yaml", "limt:"))
    start = _line(folder, "v1.yaml", "  limit:")  # (where its declaration stands, as other lint messages say)
    assert "did you mean 'limit'" in message and any(f"v1.yaml:{n})" in message for n in range(start, start + 4))


def test_an_unused_parameter_unlike_any_other_gets_no_guess(tmp_path: Path) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nparams:\n  bonus: 72h\n")
    [(_, _, _, message)] = _found(folder, "unused-parameter")
    assert message == "parameter 'bonus' is not used"


def test_a_rule_replacing_an_inherited_one_with_another_clause_is_a_warning(tmp_path: Path) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nrules:\n"
                    + RULE.format(id="r", clause="售后服务规则 2.7"))
    [(name, line, column, message)] = _found(folder, "replaced-rule-clause")
    assert (name, line, column) == ("v2.yaml", _line(folder, "v2.yaml", "- id: r"), 9)
    assert "clause 售后服务规则 2.2" in message and "(售后服务规则 2.7)" in message and "amend:" in message


@pytest.mark.parametrize("rule_id, clause", [("r", "售后服务规则 2.2"), ("new", "售后服务规则 2.7")])
def test_a_replacement_keeping_its_clause_or_a_new_id_is_no_finding(tmp_path: Path, rule_id: str,
                                                                   clause: str) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nrules:\n"
                    + RULE.format(id=rule_id, clause=clause))
    assert _found(folder, "replaced-rule-clause") == []


def test_a_list_item_holding_full_width_commas_is_a_warning(tmp_path: Path) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nparams:\n"
                    "  goods: [水果，生鲜，虚拟商品, 汽车]\n  more:\n    type: list<string>\n"
                    "    value: [食品、饮料]\n    clause: c\n")
    found = _found(folder, "full-width-list-separator")
    assert [(f[0], f[1]) for f in found] == [("v2.yaml", _line(folder, "v2.yaml", "goods:")),
                                              ("v2.yaml", _line(folder, "v2.yaml", "食品、饮料"))]
    assert "'水果，生鲜，虚拟商品', one item" in found[0][3] and "write them as 水果, 生鲜, 虚拟商品" in found[0][3]
    assert "item 1 of parameter 'more'" in found[1][3]


def test_patterns_and_single_items_with_chinese_punctuation_are_left_alone(tmp_path: Path) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nparams:\n"
                    "  pats: ['[^，,]{0,4}退货地址', '不用，', '，开头', 汽车]\n")
    assert _found(folder, "full-width-list-separator") == []


@pytest.mark.parametrize("text, char, number", [("72小时", "小", "72"), ("x > 3.5天", "天", "3.5"),
                                                ("100元", "元", "100")])
def test_a_number_run_into_a_chinese_unit_names_that_character(text: str, char: str, number: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse(text)
    assert f"unexpected character '{char}' right after the number {number}" in str(info.value)


def _checked(tmp_path: Path, require: str) -> str:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nrules:\n"
                    + RULE.format(id="x", clause="c").replace(
                        "request.merchant_response.at <= request.submitted_at + limit", require))
    with pytest.raises(PolicyError) as info:
        load_rulebook(folder)
    return str(info.value)


def test_money_compared_with_a_quoted_amount_says_how_money_is_written(tmp_path: Path) -> None:
    assert "money is written without quotes, with its currency: 100.00 CNY" in \
        _checked(tmp_path, 'request.refund_amount <= "100.00"')


def test_a_currency_guess_and_its_hint_are_two_sentences(tmp_path: Path) -> None:
    message = _checked(tmp_path, "request.refund_amount <= 100 RMB")
    assert "did you mean CNY? Hint: money is written 100 CNY" in message and "?;" not in message


def _eval(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    case = Path(__file__).parent.parent / "examples" / "after_sale_clothing_return_ok.json"
    cli = Path(sys.executable).parent / "policy-eval"
    return subprocess.run([str(cli), "eval", "-q", *args, str(case)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NO_COLOR": "1"})


def test_eval_without_p_beside_an_own_policies_folder_says_the_bundled_rulebook_is_used(tmp_path: Path) -> None:
    _write(tmp_path / "policies", "2027-01-01", "  effective_from: 2027-01-01\n")
    proc = _eval(tmp_path)
    assert "the bundled rulebook is used; the ./policies folder here is not read (pass -p policies" in proc.stderr
    assert "not read" not in _eval(tmp_path, "-p", "policies").stderr
    assert "not read" not in _eval(tmp_path.parent).stderr  # (no policies folder there)


def _when(tmp_path: Path, when: str, require: str = "request.merchant_response.at <= request.submitted_at + limit",
          mode: str = "require") -> list[tuple[str, str]]:
    rule = RULE.format(id="x", clause="c").replace(
        "    require: request.merchant_response.at <= request.submitted_at + limit",
        (f"    when: {when}\n" if when else "") + f"    {mode}: {require}")
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\nrules:\n" + rule)
    return [(f.check, f.message) for f in lint_paths([folder]) if f.check in ("rule-never-applies", "constant-condition")]


@pytest.mark.parametrize("when, words", [
    ('request.type == "refund_only" and request.type == "return_refund"',
     "'request.type == \"refund_only\"' and 'request.type == \"return_refund\"' cannot both hold"),
    ('order.category == "水果" and order.category == "服饰"', "cannot both hold"),
    ("not exists(request.refund_amount) and request.refund_amount > 0.00 CNY",
     "where request.refund_amount is absent the second is unknown"),
    ("exists(order.shipped_at) and not exists(order.shipped_at)", "cannot both hold"),
])
def test_a_when_whose_conjuncts_contradict_each_other_never_applies(tmp_path: Path, when: str, words: str) -> None:
    [(check, message)] = _when(tmp_path, when)
    assert check == "rule-never-applies" and words in message, message


@pytest.mark.parametrize("when", [
    'request.type == "refund_only" and order.category == "水果"',
    'request.type == "refund_only" or request.type == "return_refund"',
    "not exists(request.refund_amount) and order.paid_amount > 0.00 CNY",
    "exists(request.refund_amount) and request.refund_amount > 0.00 CNY",
])
def test_conjuncts_that_can_hold_together_are_no_finding(tmp_path: Path, when: str) -> None:
    assert _when(tmp_path, when) == []


@pytest.mark.parametrize("mode, never", [("require", "never complied with"), ("forbid", "never violated")])
def test_a_decision_whose_conjuncts_contradict_is_a_constant_condition(tmp_path: Path, mode: str, never: str) -> None:
    [(check, message)] = _when(tmp_path, "", 'request.type == "refund_only" and request.type == "return_refund"',
                               mode)
    assert check == "constant-condition" and f"its {mode} can never hold, so the rule is {never}" in message


def test_lint_says_once_that_rule_untested_was_skipped_when_no_test_is_found(tmp_path: Path) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2027-01-01\n")
    found = _found(folder, "no-tests-found")
    assert [(f[0], f[1]) for f in found] == [("v1.yaml", 1)] and "--tests DIR" in found[0][3]
    pt.write(folder / "t.yaml", "tests:\n  - name: one\n    case: {kind: after_sale}\n    expect: {demo/r: undetermined}\n")
    assert _found(folder, "no-tests-found") == []


def test_diff_with_as_of_says_nothing_of_a_version_not_in_force_then(tmp_path: Path) -> None:
    """The trial's ``diff --as-of 2027-06-01 old policies examples/`` noted that version 2 (changed: it gained an
    effective_until) judged none of the cases, which is what an as-of date in version 3's period asks for."""
    old = tmp_path / "old"
    pt.write(old / "v1.yaml", V1.format(until="x").replace("  effective_until: x\n", ""))
    new = _write(tmp_path / "new", "2027-01-01", "  effective_from: 2027-01-01\n")
    case = Path(__file__).parent.parent / "examples" / "after_sale_clothing_return_ok.json"
    cli = Path(sys.executable).parent / "policy-eval"

    def diff(*extra: str) -> str:
        return subprocess.run([str(cli), "diff", str(old), str(new), str(case), *extra], capture_output=True,
                              text=True, timeout=300).stdout

    assert "note: demo version 1" not in diff("--as-of", "2027-06-01")
    assert "note: demo version 2" in diff()  # (the case is of 2024: version 2 judged none of it)


def test_a_revision_dated_before_its_base_is_one_error_not_three(tmp_path: Path) -> None:
    """The trial's v3 ``effective_from: 2020-01-01`` (revising v2 of 2021) gave two overlap errors (the first in
    v2.yaml, which the author had not touched) beside the one that names the mistake."""
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2020-01-01\n")
    with pytest.raises(PolicyError) as info:
        load_rulebook(folder)
    errors = getattr(info.value, "errors", [info.value])
    assert len(errors) == 1, [str(e) for e in errors]
    assert Path(errors[0].file).name == "v2.yaml" and "revises version '1' but comes into force before it" in \
        errors[0].message


def test_an_overlap_of_versions_in_order_is_still_reported(tmp_path: Path) -> None:
    folder = _write(tmp_path, "2027-01-01", "  effective_from: 2026-06-01\n")
    with pytest.raises(PolicyError) as info:
        load_rulebook(folder)
    assert "overlaps version '1'" in str(info.value) and "set effective_until: 2026-06-01" in str(info.value)


MONEY_POLICY = V1.format(until="x").replace("  effective_until: x\n", "").split("params:")[0] + """\
rules:
  - id: not-above-paid
    title: t
    clause: 售后服务规则 2.7
    severity: low
    when: exists(request.refund_amount)
    require: request.refund_amount <= order.paid_amount
    message: too much
  - id: small-only
    title: t
    clause: c
    severity: low
    forbid: request.refund_amount > 50.00 CNY
    message: too much
"""


def test_explain_says_which_amount_of_money_would_comply(tmp_path: Path) -> None:
    """The trial: explain showed no amount for 'refund_amount ≤ paid_amount' (only 'request.type = …')."""
    import json

    from policy_eval.api import Rulebook

    pt.write(tmp_path / "p.yaml", MONEY_POLICY)
    case = json.loads((Path(__file__).parent.parent / "examples" / "after_sale_clothing_return_ok.json")
                      .read_text(encoding="utf-8"))
    case["request"]["refund_amount"], case["order"]["paid_amount"] = "80.00", "59.90"
    result = Rulebook.load(tmp_path, entry_points=False).evaluate(case, explain=True)
    said = {v.rule: [c["text"] for c in v.to_dict().get("would_comply", v.to_dict().get("comply", []))]
            for v in result.results}
    assert "request.refund_amount = 59.90 instead of 80.00 would give complied" in said["not-above-paid"], said
    assert "order.paid_amount = 80.00 instead of 59.90 would give complied" in said["not-above-paid"]
    assert "request.refund_amount = 50.00 instead of 80.00 would give complied" in said["small-only"]


def test_no_note_beside_an_exact_copy_of_the_bundled_rulebook(tmp_path: Path) -> None:
    """A checkout installed without -e (CI's fresh clone) holds ./policies, a copy of the installed rulebook:
    nothing to say there."""
    import shutil

    from policy_eval.resources import bundled_policies

    shutil.copytree(bundled_policies(), tmp_path / "policies")
    assert "not read" not in _eval(tmp_path).stderr
    (tmp_path / "policies" / "after_sales" / "v2.yaml").write_text(
        (tmp_path / "policies" / "after_sales" / "v2.yaml").read_text(encoding="utf-8") + "\n# edited\n",
        encoding="utf-8")
    assert "the ./policies folder here is not read" in _eval(tmp_path).stderr

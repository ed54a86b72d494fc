"""Hints for the slips a policy author (a compliance analyst) made in an outside trial: each error names the fix.

R1. ``severity： medium`` (a full-width colon after a key): "a full-width '：' ...; write ':'", not the old
    "write 'severity：: ...'".
R2. Money written as analysts write it (``￥0.01``, ``0.01元``, ``0.01 cny``): "money is written 0.01 CNY".
R3. Durations so written (``7D``, ``168H``, ``1w``, ``1.5d``, ``7 d``, ``24 h``, ``7d 12h``, ``P1D``): "durations are
    written 7d ..."; a bare number given for a duration parameter: "write 24h (or 24d ...)".
R4. Type errors name the fix: money beside a number, a date or time beside a string, a datetime beside a date.
R5. Operators of other languages: ``=``, ``&&``, ``||``, ``!``.
R6. A remedy's ``amount: 39.90`` says "write 39.90 CNY"; schema errors in a rule name the rule's id.
"""

from __future__ import annotations

from pathlib import Path

import policytext as pt
import pytest

from policy_eval.errors import ErrorList, PolicyError, PolicySyntaxError, PolicyTypeError
from policy_eval.expression import compile_expression
from policy_eval.rulebook.yamlhints import condition_hint
from policy_eval.rulebook.yamlload import load_yaml


def _errors(folder: Path) -> list[PolicyError]:
    with pytest.raises(ErrorList) as info:
        pt.load(folder)
    return list(info.value.errors)


# --- R1. a full-width colon after a key -------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "key", "value"), [
    ("  severity： medium", "severity", "medium"), ("  severity：medium", "severity", "medium"),
    ("  title：Refund window", "title", "Refund window"),
])
def test_a_full_width_colon_after_a_key_is_named(line: str, key: str, value: str) -> None:
    text = f"rule:\n  id: r1\n{line}\n  clause: C\n"
    with pytest.raises(PolicyError) as info:
        load_yaml(text, "p.yaml")
    message = info.value.message
    assert f"hint: a full-width '：' after the key '{key}'; write ':' ('{key}: {value}')" in message
    assert "：:" not in message
    assert (info.value.line, info.value.column) == (3, line.index("：") + 1)


def test_a_full_width_colon_in_a_policy_file(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(pt.rule("r1", "true"))).replace(
        "    severity: low\n", "    severity： low\n"))
    (err,) = _errors(tmp_path)
    assert "write ':' ('severity: low')" in err.message


# --- R2 / R3. money and durations written another way ---------------------------------------------------------

@pytest.mark.parametrize(("text", "meant"), [
    ("order.paid_amount > ￥0.01", "money is written 0.01 CNY"),
    ("order.paid_amount > 0.01元", "money is written 0.01 CNY"),
    ("order.paid_amount > 0.01 cny", "money is written 0.01 CNY"),
    ("order.paid_amount > 0.01 rmb", "money is written 0.01 CNY"),
    ("request.submitted_at + 7D", "durations are written 7d"),
    ("request.submitted_at + 168H", "durations are written 168h"),
    ("request.submitted_at + 1w", "durations are written 7d"),
    ("request.submitted_at + 1.5d", "durations are written 36h"),
    ("request.submitted_at + 7 d", "durations are written 7d"),
    ("request.submitted_at + 24 h", "durations are written 24h"),
    ("request.submitted_at + 7d 12h", "durations are written 7d12h"),
    ("request.submitted_at + P1D", "durations are written 1d"),
    ("request.submitted_at + PT24H", "durations are written 24h"),
    ("request.submitted_at + 7 days", "durations are written 7d"),  # (as before)
])
def test_the_hint_names_the_literal_meant(text: str, meant: str) -> None:
    assert meant in condition_hint(text)


@pytest.mark.parametrize("text", ['contains(m.text, "7 d")', "x == 3 and y", "count > 3", "48h", "0.01 CNY"])
def test_no_hint_where_nothing_is_misspelt(text: str) -> None:
    assert condition_hint(text) == ""


@pytest.mark.parametrize(("value", "meant"), [
    ("24 h", "durations are written 24h"), ("1.5d", "durations are written 36h"), ("P1D", "durations are written 1d"),
    ("7D", "durations are written 7d"), ("24", "a duration has a unit: write 24h (or 24d"),
])
def test_a_duration_parameter_gets_the_hint(tmp_path: Path, value: str, meant: str) -> None:
    body = f"params:\n  limit:\n    type: duration\n    value: {value}\n    clause: C 1\n"
    pt.write(tmp_path / "demo.yaml", pt.policy(body + pt.rules_text(pt.rule("r1", "true"))))
    (err,) = _errors(tmp_path)
    assert meant in err.message


def test_a_money_parameter_given_a_number_gets_the_hint(tmp_path: Path) -> None:
    body = "params:\n  fee:\n    type: money\n    value: 39.90\n    clause: C 1\n"
    pt.write(tmp_path / "demo.yaml", pt.policy(body + pt.rules_text(pt.rule("r1", "true"))))
    (err,) = _errors(tmp_path)
    assert "money has a currency: write 39.90 CNY" in err.message


def test_money_written_with_a_symbol_in_a_policy(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(pt.rule("r1", "order.paid_amount > 0.01元"))))
    (err,) = _errors(tmp_path)
    assert "hint: money is written 0.01 CNY" in err.message


# --- R4. type errors with a fix ----------------------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {
    "paid": {"type": "string", "x-policy-type": "money"}, "at": {"type": "string", "format": "date-time"},
    "day": {"type": "string", "format": "date"}}}


@pytest.mark.parametrize(("text", "hint"), [
    ("paid > 0", "give the number its currency (e.g. 0.00 CNY)"),
    ("paid == 0.00", "give the number its currency (e.g. 0.00 CNY)"),
    ("paid + 1", "give the number its currency (e.g. 0.00 CNY)"),
    ('at > "2024-01-01T00:00:00"', "a date or time is written without quotes"),
    ('day == "2024-01-01"', "a date or time is written without quotes"),
    ("at >= day", "date_of(t) gives a datetime's day"),
    ("at > 2024-01-01", "start_of_day(d) a date's first instant"),
])
def test_a_type_error_names_the_fix(text: str, hint: str) -> None:
    with pytest.raises(PolicyTypeError) as info:
        compile_expression(text, case_schema=SCHEMA)
    assert hint in info.value.message


# --- R5. operators of other languages ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "column", "hint"), [
    ("a = b", 3, "unexpected '=': a comparison is written '=='"),
    ("a && b", 3, "unexpected '&&': write 'and'"),
    ("a || b", 3, "unexpected '||': write 'or'"),
    ("a == 1 && b", 8, "write 'and'"),
    ("!a", 1, "write 'not'"),
    ("a ＝ b", 3, "write the ASCII '=='"),
])
def test_an_operator_of_another_language_is_named(text: str, column: int, hint: str) -> None:
    with pytest.raises(PolicySyntaxError) as info:
        compile_expression(text)
    assert info.value.column == column
    assert hint in info.value.message


# --- R6. a remedy's amount written as a number; the rule's id in schema errors ---------------------------------

RULE = pt.rule("refund-window", "true") + "    remedies:\n      - kind: refund\n"


def test_a_numeric_amount_says_what_to_write(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE + "        amount: 39.90\n")))
    (err,) = _errors(tmp_path)
    assert err.message == ("rules #1 (id refund-window).remedies #1.amount: an amount of money has its currency: "
                           "write 39.90 CNY (or another ISO 4217 code)")


def test_a_numeric_remedy_duration_says_what_to_write(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE + "        duration: 7\n")))
    (err,) = _errors(tmp_path)
    assert err.message.endswith("a duration has its unit: write 7d (or 7h, 7m, 7s)")


def test_a_schema_error_in_a_rule_names_its_id(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(
        pt.rule("r1", "true"), pt.rule("refund-window", "true", severity="urgent"))))
    (err,) = _errors(tmp_path)
    assert err.message.startswith("rules #2 (id refund-window).severity: 'urgent' is not one of")


def test_an_error_in_the_id_itself_does_not_repeat_it(tmp_path: Path) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(pt.rule("Refund Window", "true"))))
    (err,) = _errors(tmp_path)
    assert err.message.startswith("rules #1.id:")


@pytest.mark.parametrize(("written", "said"), [
    ("1" + "0" * 60, "an amount of money is text with its currency, e.g. 39.90 CNY"),  # (found by tests/test_fuzz.py)
    ("1" + "0" * 26, "an amount of money is text with its currency, e.g. 39.90 CNY"),  # (29 digits with the cents)
    ("1.0e+30", "an amount of money is text with its currency, e.g. 39.90 CNY"),
    ("1.0e-30", "an amount of money is text with its currency, e.g. 39.90 CNY"),
    ("123456789012345678.5", "write 123456789012345678.50 CNY"),
])
def test_a_numeric_amount_too_large_to_show_is_still_a_located_error(tmp_path: Path, written: str, said: str) -> None:
    """A number the hint cannot show back (10**60: quantizing it to cents raised decimal.InvalidOperation, more
    digits than the context's 28, out of loading the policy)."""
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE + f"        amount: {written}\n")))
    (err,) = _errors(tmp_path)
    assert err.message.startswith("rules #1 (id refund-window).remedies #1.amount: ") and said in err.message


@pytest.mark.parametrize(("written", "said"), [
    ("1" + "0" * 60, "a duration is text with its unit, e.g. 7d or 36h"),
    ("1.0e+30", "a duration is text with its unit, e.g. 7d or 36h"),
    ("1.5", "a duration has its unit, in whole numbers: write 36h, not 1.5d"),
])
def test_a_numeric_duration_too_large_to_show_is_still_a_located_error(tmp_path: Path, written: str, said: str) -> None:
    pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(RULE + f"        duration: {written}\n")))
    (err,) = _errors(tmp_path)
    assert err.message.startswith("rules #1 (id refund-window).remedies #1.duration: ") and err.message.endswith(said)

"""Red team trial E, D9 and the decimal rough edges: decimal and money arithmetic is exact or refused, in words.

Python's default decimal context rounds every result to 28 significant digits without a word, so
``10**30 + 1.0 == 10**30`` was true and a 30-digit amount plus a cent was the amount. Sums, differences and
products now keep up to 100 significant digits exactly (lang.decimals) and refuse a result that would need
more; a refusal, like an overflow, reads in plain words (it showed ``[<class 'decimal.InvalidOperation'>]``
and ``Python int too large to convert to C int``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.api import Rulebook
from policy_eval.errors import ErrorList, PolicyError
from policy_eval.expression import compile_expression
from policy_eval.lang.ops import EvalFailure

BIG = "1" + "0" * 30  # 31 digits: beyond the 28 Python's default context keeps


def _value(expr: str, **case: Any) -> Any:
    return compile_expression(expr).evaluate(case)


def _failure(expr: str, **case: Any) -> str:
    fn = compile_expression(expr)
    with pytest.raises(EvalFailure) as info:
        fn.evaluate(case)
    message = info.value.message
    for python in ("<class", "decimal.", "C int", "magnitude", "Overflow", "InvalidOperation"):
        assert python not in message, message
    return message


@pytest.mark.parametrize("expr", [
    f"{BIG}.0 + 1.0 == {BIG}.0",
    f"{BIG}.0 - 1.0 == {BIG}.0",
    f"{BIG[:-1]}.00 CNY + 0.01 CNY == {BIG[:-1]}.00 CNY",
    f"{BIG[:-1]}.00 CNY - 0.01 CNY == {BIG[:-1]}.00 CNY",
    f"{BIG}.5 * 2 == {BIG}1.0",
])
def test_a_sum_beyond_28_digits_is_exact(expr: str) -> None:
    assert _value(expr) is False


def test_sums_negations_and_abs_of_long_decimals_are_exact() -> None:
    long = Decimal(BIG + ".01")
    assert _value("sum x in xs: x", xs=[long, Decimal("0.01")]) == Decimal(BIG + ".02")
    assert _value("-x", x=long) == Decimal("-" + BIG + ".01")  # (Python's -long rounds it to 28 digits)
    assert _value("abs(x)", x=Decimal("-" + BIG + ".01")) == long
    assert str(_value("-x", x=Decimal("0.00"))) == "0.00" and str(_value("-(0.00 CNY)")) == "0.00 CNY"  # (not -0.00)
    assert _value("x + y", x=long, y=1) == Decimal(BIG[:-1] + "1.01")  # (an untyped case: the same exact sum)


@pytest.mark.parametrize("expr", [
    "59.90 CNY + 0.10 CNY == 60.00 CNY",
    "59.90 CNY * 0.15 == 8.985 CNY",
    "to_round(59.90 CNY) == 8.99",
    "100.00 CNY * 3 - 0.01 CNY == 299.99 CNY",
    "100.00 CNY / 3 > 33.33 CNY and 100.00 CNY / 3 < 33.34 CNY",
    "amount(1234.56 CNY) * 0.0375 == 46.296",
    "(59.90 CNY - 9.90 CNY) / 59.90 CNY > 0.83",
    "round(2.675, 2) == 2.68 and round(1234.5, -2) == 1200",
    "1 / 3 * 3 < 1.0",
])
def test_ordinary_money_arithmetic_still_works(expr: str) -> None:
    assert _value(expr.replace("to_round(59.90 CNY)", "round(amount(59.90 CNY) * 15 / 100, 2)")) is True


@pytest.mark.parametrize("expr, case, words", [
    ("x + 0.1 > 0.0", {"x": Decimal("1E+150")}, "more than 100 significant digits"),
    ("money(x, \"CNY\") + 0.01 CNY > 0.00 CNY", {"x": Decimal("1" * 120)}, "more than 100 significant digits"),
    ("x * x > 0.0", {"x": Decimal("1E+999990")}, "too large for a decimal"),
    ("round(1.5, 1000000000) > 0", {}, "round() takes -100 to 100 places"),
    ("round(x, 2) > 0", {"x": Decimal("1E+999990")}, "more than 100 significant digits"),
    ("1d * 100000000000000000000000000000000 > 1d", {}, "duration out of range"),
    ("1d * 1000000000 > 1d", {}, "duration out of range"),
])
def test_an_inexact_or_out_of_range_result_is_refused_in_plain_words(expr: str, case: dict[str, Any],
                                                                       words: str) -> None:
    assert words in _failure(expr, **case)


def _after_sale_book(tmp_path: Path, condition: str) -> Rulebook:
    text = pt.policy(pt.rules_text(pt.rule("r1", condition)), id="sums", document="tests/test_redteam_leftovers_decimal.py")
    return Rulebook.load(pt.write(tmp_path / "policies" / "p.yaml", text).parent)


def test_a_case_amount_too_long_to_multiply_exactly_makes_the_verdict_undetermined_naming_the_expression(
        tmp_path: Path) -> None:
    """A money text holds at most 64 characters: its square, 120 digits here, is too long to be exact."""
    book = _after_sale_book(tmp_path, "order.paid_amount * amount(order.paid_amount) > 0.00 CNY")
    case = pt.after_sale_case()
    case["order"]["paid_amount"] = "9" * 58 + ".99"
    result = book.evaluate(case)
    assert result.error is None, result.error
    (verdict,) = [v for v in result.results if v.rule == "r1"]
    assert verdict.outcome.value == "undetermined"
    assert verdict.error is not None and "order.paid_amount * amount(order.paid_amount)" in verdict.error
    assert "more than 100 significant digits" in verdict.error and "<class" not in verdict.error, verdict.error
    case["order"]["paid_amount"] = "9" * 40 + ".99"  # 84 digits: exact, and true
    (verdict,) = [v for v in book.evaluate(case).results if v.rule == "r1"]
    assert verdict.outcome.value == "complied", verdict.error


def test_constants_whose_product_cannot_be_exact_are_refused_at_load(tmp_path: Path) -> None:
    factor = "1" * 60 + ".5"
    with pytest.raises(PolicyError) as info:
        _after_sale_book(tmp_path, f"{factor} * {factor} > 1.0")
    errors = list(info.value.errors) if isinstance(info.value, ErrorList) else [info.value]
    assert any("more than 100 significant digits" in e.message for e in errors), [e.message for e in errors]

"""amount(m) and currency(m): a money value's number and currency, so that a condition can judge an amount in any
currency (comparing money of two currencies is an error: ``fee > 0.00 CNY`` cannot judge a fee in USD)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policy_eval.errors import PolicyTypeError
from policy_eval.expression import UNKNOWN, compile_expression
from policy_eval.lang.ops import EvalFailure

SCHEMA = {"type": "object", "properties": {"fee": {"type": "string", "x-policy-type": "money"},
                                           "note": {"type": "string"}}}


@pytest.mark.parametrize(("fee", "amount", "currency"), [("1.00 USD", Decimal("1.00"), "USD"),
                                                        ("0.00", Decimal("0.00"), "CNY"),
                                                        ("80.5 EUR", Decimal("80.5"), "EUR")])
def test_amount_and_currency_of_a_money_value(fee: str, amount: Decimal, currency: str) -> None:
    assert compile_expression("amount(fee)", case_schema=SCHEMA).evaluate({"fee": fee}) == amount
    assert compile_expression("currency(fee)", case_schema=SCHEMA).evaluate({"fee": fee}) == currency


def test_any_fee_in_any_currency() -> None:
    any_fee = compile_expression("amount(fee) > 0", case_schema=SCHEMA)
    assert any_fee.evaluate({"fee": "1.00 USD"}) is True
    assert any_fee.evaluate({"fee": "0.00 USD"}) is False
    assert any_fee.evaluate({}) is UNKNOWN
    # the comparison with CNY cannot decide a fee in USD (a rule reading it is undetermined)
    with pytest.raises(EvalFailure, match="currency mismatch: USD vs CNY"):
        compile_expression("fee > 0.00 CNY", case_schema=SCHEMA).evaluate({"fee": "1.00 USD"})


def test_amount_takes_money_only() -> None:
    with pytest.raises(PolicyTypeError, match="argument 1 of amount\\(\\) must be money, got string"):
        compile_expression("amount(note) > 0", case_schema=SCHEMA)

"""Money read from a case: text is read once per text (lang.readers' memo) and must read exactly as
``parse_money`` does, every time, with the same refusals; other forms are read each time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from policy_eval.lang.readers import ReadError, reader_for
from policy_eval.lang.types import Type
from policy_eval.lang.values import Money, ValueParseError, parse_money

READ = reader_for(Type("money"))

TEXTS = ["59.90", "59.9", "0.00", "-3.50", "100", "¥59.9", " 59.90 CNY ", "59.90 USD", "1.005", "0012.30",
         "99999999999999999999.99", "1" * 64]
REFUSED: list[Any] = ["", "abc", "59,90", "1e3", "59.90 cny", "1" * 65, True, 1.5, [], {"currency": "CNY"},
                      {"amount": "1", "extra": 1}]


def _exact(m: Money) -> tuple[str, str]:
    return str(m.amount), m.currency  # (Decimal equality would hide 59.9 vs 59.90)


@pytest.mark.parametrize("text", TEXTS)
def test_text_reads_as_parse_money_every_time(text: str) -> None:
    assert READ is not None
    first, second = READ(text), READ(text)
    assert _exact(first) == _exact(second) == _exact(parse_money(text))


@pytest.mark.parametrize("raw", [Decimal("59.90"), 12, {"amount": "59.90", "currency": "USD"}, {"amount": Decimal("1.5")}])
def test_numbers_and_objects_read_as_parse_money(raw: Any) -> None:
    assert READ is not None
    assert _exact(READ(raw)) == _exact(parse_money(raw))


@pytest.mark.parametrize("raw", REFUSED)
def test_refused_text_is_refused_every_time(raw: Any) -> None:
    assert READ is not None
    with pytest.raises((ValueParseError, TypeError)):
        parse_money(raw)
    for _ in range(2):  # (a memo must not remember a refusal as a value)
        with pytest.raises(ReadError, match="expected money"):
            READ(raw)

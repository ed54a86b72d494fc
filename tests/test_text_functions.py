"""``text(x)`` (a value as a message shows it, to join into text) and ``normalize(s)`` (text compared where
spacing, width and case carry no meaning: 争议处理规则 2.2.4's order address)."""

from __future__ import annotations

import pytest

from policy_eval.expression import compile_expression
from policy_eval.lang.values import UNKNOWN


@pytest.mark.parametrize(("expr", "shown"), [
    ('text("文三路")', "文三路"),  # text as it is, not quoted
    ("text(48h)", "48h"),
    ("text(2023-06-18T00:00:00+08:00)", "2023-06-18T00:00:00+08:00"),
    ("text(1.50)", "1.50"),
    ("text(7)", "7"),
    ("text(true)", "true"),
    ('"until before " + text(2023-06-18T00:00:00+08:00)', "until before 2023-06-18T00:00:00+08:00"),
])
def test_text_shows_a_value_as_a_message_does(expr: str, shown: str) -> None:
    assert compile_expression(expr).evaluate() == shown


def test_text_of_an_unknown_is_unknown() -> None:
    expr = compile_expression("text(order.received_at)")
    assert expr.evaluate({"order": {}}) is UNKNOWN


@pytest.mark.parametrize(("a", "b", "same"), [
    ("浙江省杭州市西湖区文三路100号 张三", "浙江省杭州市西湖区文三路１００号  张三 ", True),  # full-width digits, spaces
    ("文三路100号A座", "文三路100号ａ座", True),  # full-width letter, case
    ("文三路100号", "文三路101号", False),
    ("文三路100号", "文三路10 0号", True),  # a space inside carries no meaning
])
def test_normalize_compares_addresses_as_the_same_text(a: str, b: str, same: bool) -> None:
    expr = compile_expression(f'normalize("{a}") == normalize("{b}")')
    assert expr.evaluate() is same

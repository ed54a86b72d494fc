"""Issue 18 item 3: a rule's inputs come from the version of its policy in force (or the one asked for),
and the answer says which version that was. after-sales/refund-only-window reads order.group_success_at
in v1 (售后规则 2.1: 拼团成功后) and order.confirmed_at in v2 (售后服务规则 2.1: 订单确认后)."""

from __future__ import annotations

import io

import pytest

from policy_eval import cli
from policy_eval.api import Rulebook

RULE = "after-sales/refund-only-window"


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return Rulebook.load()


def test_inputs_default_to_the_version_in_force_now(book: Rulebook) -> None:
    now = book.inputs(RULE)
    assert now.version == "2" and "order.confirmed_at" in now and "order.group_success_at" not in now


def test_inputs_as_of_a_date_and_by_version(book: Rulebook) -> None:
    old = book.inputs(RULE, as_of="2020-06-01")
    assert old.version == "1" and "order.group_success_at" in old and "order.confirmed_at" not in old
    assert old.effective_from is None  # the text gives no date: effective_from: unstated
    assert book.inputs(RULE, as_of="2010-01-01").version == "1"
    assert list(book.inputs(RULE, version=2)) == list(book.inputs(RULE, as_of="2023-01-01"))
    with pytest.raises(KeyError, match="no version 9"):
        book.inputs(RULE, version=9)
    with pytest.raises(LookupError, match="in force"):
        book.inputs("service-metrics/dispute-refund-rate-too-high", as_of="2019-06-30")


def test_rules_inputs_as_of_shows_the_version_that_answers() -> None:
    out = io.StringIO()
    assert cli.run(["rules", "--inputs", "--policy", "after-sales", "--as-of", "2020-06-01"], out, io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(RULE + " "))
    assert " v1 " in lines[i] and "order.group_success_at" in lines[i + 1]
    assert not any(" v2 " in line for line in lines)

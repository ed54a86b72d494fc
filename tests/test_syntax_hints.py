"""Syntax errors a policy author makes with a Chinese input method or an unfinished string name the fix (an
author's audit, 2026-12-02: both said only "unexpected character", at the right column)."""

from __future__ import annotations

import pytest

from policy_eval.errors import PolicyError, PolicyNameError, PolicySyntaxError
from policy_eval.expression import compile_expression


@pytest.mark.parametrize(("text", "column", "hint"), [
    ("a （ b", 3, "a full-width character; write the ASCII '('"),
    ("order.paid_amount ＞ 1", 19, "write the ASCII '>'"),
    ("f(a， b)", 4, "write the ASCII ','"),
    ('request.type == "refund_only and x', 17, 'unclosed string: the " here has no closing " on its line'),
    ("x == 'a", 6, "unclosed string: the ' here"),
])
def test_the_message_names_the_fix(text: str, column: int, hint: str) -> None:
    with pytest.raises(PolicySyntaxError) as info:
        compile_expression(text)
    assert (info.value.line, info.value.column) == (1, column)
    assert hint in info.value.message


@pytest.mark.parametrize(("text", "column", "hint"), [
    ('a == "breach" orr b', 15, "unexpected 'orr'; did you mean 'or'?"),
    ("a == 1 andd b", 8, "unexpected 'andd'; did you mean 'and'?"),
    ("if a thne b else c", 6, "did you mean 'then'?"),
    ("a AND b", 3, "keywords are written in lower case; write 'and'"),
    ("a == 1 OR b", 8, "write 'or'"),
    ("a orb", 3, "unexpected 'orb'"),  # once read as `a or b`
    ("x inside", 3, "unexpected 'inside'; expected 'and', 'or', 'not', 'in'"),  # once `x in side`
])
def test_a_misspelt_keyword_is_located_at_itself(text: str, column: int, hint: str) -> None:
    """A new user's `"breach" orr claim.provided` was reported at `claim`, expecting '(' ... : the grammar's
    keywords were literal strings, which the lexer matched at the start of a word where no name could follow
    (`orr` read as `or` then `r`; `a orb` parsed as `a or b`). Keywords are whole words now, and a word close to
    the one expected is named."""
    with pytest.raises(PolicySyntaxError) as info:
        compile_expression(text)
    assert (info.value.line, info.value.column) == (1, column)
    assert hint in info.value.message


@pytest.mark.parametrize("text", ["order_ok or notify", "inbox and order", "thenceforth or elsewhere", "nullable",
                                  "truest or falsehood", "iffy"])
def test_names_that_start_with_a_keyword_are_names(text: str) -> None:
    schema = {"type": "object", "properties": {n: {"type": "boolean"} for n in text.replace(" or ", " ").replace(
        " and ", " ").split()}}
    assert compile_expression(text, case_schema=schema) is not None


def test_a_closed_string_is_not_called_unclosed() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        compile_expression('"a" ^ "b"')
    assert "unclosed" not in info.value.message and "'^'" in info.value.message


def test_an_unknown_name_lists_definitions_among_what_it_is_not() -> None:
    with pytest.raises(PolicyNameError) as info:
        compile_expression("nope > 1", case_schema={"type": "object", "properties": {"a": {"type": "integer"}}})
    assert "not a case field, parameter, definition or let-binding" in info.value.message


SCHEMA = {"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}}}


@pytest.mark.parametrize(("text", "hint"), [
    ("t > 48", "a datetime compares with a datetime: write a deadline as a time plus a duration"),
    ("n <= t", "a datetime compares with a datetime"),
    ("t - t > 48", "a duration compares with a duration: give the number its unit (48h, 7d, 30m)"),
])
def test_ordering_a_time_against_a_number_says_what_to_write(text: str, hint: str) -> None:
    """An author's audit: `request.submitted_at > 48` said only 'cannot compare datetime with int'."""
    with pytest.raises(PolicyError) as info:
        compile_expression(text, case_schema=SCHEMA)
    assert hint in info.value.message

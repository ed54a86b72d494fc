"""Every operator against every pair of operand types, in both orders, from the tables of docs/language.md.

A pair the tables allow must compile; every other pair must be refused at load time with a type error
(never accepted and then failing on every case at run time). Expectations are the spec's tables, written
out below by hand; nothing is read from the checker's own operator table.
"""

from __future__ import annotations

import itertools

import pytest

from policy_eval.errors import PolicyTypeError
from policy_eval.expression import compile_expression

# One literal per type (docs/language.md, "Types").
LIT = {
    "int": "2",
    "decimal": "0.5",
    "bool": "true",
    "string": '"a"',
    "money": "¥10",
    "date": "2024-03-01",
    "datetime": "2024-03-01T10:00:00",
    "duration": "48h",
}
NUMBER = {"int", "decimal"}

# Arithmetic table: (left, op, right) that are well typed.
ARITH: set[tuple[str, str, str]] = set()
for a, b in itertools.product(NUMBER, NUMBER):
    for op in "+-*/":
        ARITH.add((a, op, b))
ARITH |= {("datetime", "+", "duration"), ("datetime", "-", "duration"), ("duration", "+", "datetime"),
          ("datetime", "-", "datetime"),
          ("date", "+", "duration"), ("date", "-", "duration"), ("date", "-", "date"),
          ("duration", "+", "duration"), ("duration", "-", "duration"),
          ("duration", "/", "duration"),
          ("money", "+", "money"), ("money", "-", "money"), ("money", "/", "money"),
          ("string", "+", "string")}
for n in NUMBER:
    ARITH |= {("duration", "*", n), ("duration", "/", n), (n, "*", "duration"),
              ("money", "*", n), ("money", "/", n), (n, "*", "money")}

ORDERED = {"int", "decimal", "money", "date", "datetime", "duration", "string"}


def _comparable(a: str, b: str, op: str) -> bool:
    same = a == b or (a in NUMBER and b in NUMBER)  # "same type on both sides (numbers mix)"
    if op in ("==", "!="):
        return same
    return same and a in ORDERED and b in ORDERED


def _compiles(text: str) -> bool:
    try:
        compile_expression(text)
    except PolicyTypeError:
        return False
    return True


PAIRS = sorted(itertools.product(LIT, LIT))


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
@pytest.mark.parametrize(("left", "right"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_arithmetic_operand_pairs(left: str, op: str, right: str) -> None:
    text = f"{LIT[left]} {op} {LIT[right]}"
    assert _compiles(text) == ((left, op, right) in ARITH), text


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize(("left", "right"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_comparison_operand_pairs(left: str, op: str, right: str) -> None:
    text = f"{LIT[left]} {op} {LIT[right]}"
    assert _compiles(text) == _comparable(left, right, op), text


@pytest.mark.parametrize("op", ["and", "or"])
@pytest.mark.parametrize(("left", "right"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_logic_operand_pairs(left: str, op: str, right: str) -> None:
    text = f"{LIT[left]} {op} {LIT[right]}"
    assert _compiles(text) == (left == right == "bool"), text


def test_the_table_is_not_symmetric_where_the_spec_is_not() -> None:
    # the mutation this file exists for: `1 + datetime` accepted because `datetime + 1` is refused
    assert not _compiles("1 + 2024-03-01T10:00:00")
    assert not _compiles("2024-03-01T10:00:00 + 1")
    assert _compiles("48h + 2024-03-01T10:00:00")
    assert not _compiles("48h - 2024-03-01T10:00:00")

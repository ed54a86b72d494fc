"""Generated code multiplies two ints inline (lang.threevalued.int_product): ops.int_mul without its call, with
the same product, the same bound and the same error, in the two-valued and the three-valued code alike."""

from __future__ import annotations

from typing import Any

import pytest

from policy_eval.expression import compile_expression
from policy_eval.lang.ops import MAX_INT_BITS, EvalFailure, int_mul

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                                           "c": {"type": "integer"}}}
# plain: the two-valued code decides; with `exists(c) or`, the three-valued code runs for a case without c
EXPRESSIONS = ["a * b", "a * b * 86400", "(if exists(c) then c else a * b) >= 0 and a * b >= 0 or a * b < 0"]


def _closure_and_inline(text: str, case: dict[str, Any]) -> tuple[Any, Any]:
    compiled = compile_expression(text, case_schema=SCHEMA)
    return compiled.interpret(case), compiled.fn(case, {})


@pytest.mark.parametrize("text", EXPRESSIONS)
@pytest.mark.parametrize("a, b", [(3, 4), (-7, 86400), (0, 10 ** 300), (2 ** 64, 2 ** 64), (-(2 ** 70), -3)])
def test_the_inline_product_is_int_mul_s(text: str, a: int, b: int) -> None:
    interpreted, generated = _closure_and_inline(text, {"a": a, "b": b})
    assert generated == interpreted
    assert type(generated) is type(interpreted)


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_a_product_past_the_bound_is_the_same_error(text: str) -> None:
    a, b = 2 ** (MAX_INT_BITS - 10), 2 ** 10  # a product of MAX_INT_BITS + 1 bits: one past the bound
    with pytest.raises(OverflowError):
        int_mul(a, b)
    compiled = compile_expression(text, case_schema=SCHEMA)
    with pytest.raises(EvalFailure, match="integer result over 4,300 digits"):
        compiled.fn({"a": a, "b": b}, {})
    if text == "a * b":
        at_bound = compiled.fn({"a": a, "b": 2 ** 10 - 1}, {})  # MAX_INT_BITS bits: a value
        assert at_bound == compiled.interpret({"a": a, "b": 2 ** 10 - 1}) == a * (2 ** 10 - 1)


def test_the_generated_code_calls_no_int_mul() -> None:
    compiled = compile_expression("a * b * 86400 > 0", case_schema=SCHEMA)
    assert compiled.fn({"a": 2, "b": 3}, {}) is True  # (generated on its first call)
    called = [v for k, v in compiled.fn.__globals__.items() if k.startswith("_f") and k != "_f"]
    assert int_mul not in called and called  # (its helpers are there: the readers)


def test_an_unknown_operand_is_unknown() -> None:
    compiled = compile_expression("a * b", case_schema=SCHEMA)
    assert repr(compiled.fn({"a": 3}, {})) == "UNKNOWN"

"""Operations the spec rejects at run time (docs/language.md, "Arithmetic"), in both evaluators.

Written for survivors of the mutation run on lang/ops.py (bench/mutation.md): nothing else checked that
ordering money of two currencies, or moving a date by a part of a day, fails rather than answering.
"""

from __future__ import annotations

import pytest

from policy_eval.expression import compile_expression
from policy_eval.lang.ops import EvalFailure

FAILING = {
    "10 CNY + 10 USD": "currency mismatch",
    "10 CNY - 10 USD": "currency mismatch",
    "10 CNY < 20 USD": "currency mismatch",
    "10 CNY >= 20 USD": "currency mismatch",
    "10 CNY / 5 USD": "currency mismatch",
    "2024-03-01 + 1d12h": "whole days",
    "2024-03-01 - 12h": "whole days",
    "2024-03-01 + 1s": "whole days",
}


@pytest.mark.parametrize("text", sorted(FAILING))
def test_generated_code_fails(text: str) -> None:
    with pytest.raises(EvalFailure, match=FAILING[text]):
        compile_expression(text).evaluate({})


@pytest.mark.parametrize("text", sorted(FAILING))
def test_interpreter_fails(text: str) -> None:
    with pytest.raises(EvalFailure, match=FAILING[text]):
        compile_expression(text).interpret({})


@pytest.mark.parametrize(("text", "expected"), [("2024-03-01 + 2d", "2024-03-03"), ("2024-03-01 - 24h", "2024-02-29"),
                                                ("10 CNY < 20 CNY", "true")])
def test_the_same_operations_in_range_answer(text: str, expected: str) -> None:
    from policy_eval.expression import render

    assert render(compile_expression(text).evaluate({})) == expected

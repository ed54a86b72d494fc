"""lang.budget.never_charges: the one answer to "can calling this function charge the evaluation budget?".

Two places ask it: run.lazycode (a version whose conditions cannot charge is run without the budget's context
variable) and lang.twovalued (two-valued code that may have charged gives the budget back before the
three-valued code decides from the start). A ``functools.partial`` says it is of functools whatever it wraps,
so a partial of a plugin's charging function must count as charging in both."""

from __future__ import annotations

import functools
import operator

from policy_eval.lang import functions, ir
from policy_eval.lang.ast import Span
from policy_eval.lang.budget import charge, may_charge, metered, never_charges
from policy_eval.lang.codegen import compile_fast, generate
from policy_eval.lang.compiler import compile_ir
from policy_eval.lang.types import BOOL, INT, STRING
from policy_eval.lang.values import UNKNOWN

_SPAN = Span(1, 1, 1, 1, 0, 0)
_SPENT = 6  # what one call of the plugin function below charges


def _spend(value: object) -> bool:
    """A plugin's function that charges the budget."""
    charge(_SPENT, "spend(a)", 1, 1)
    return True


_PARTIAL = functools.partial(_spend)


def _condition(fn: object) -> ir.IR:
    """``spend(a) and b > 1``: the call charges, then ``b`` (missing from the case) is unknown."""
    a = ir.Field(STRING, _SPAN, "a", None, "a", None)
    b = ir.Field(INT, _SPAN, "b", None, "b", None)
    call = ir.Call(BOOL, _SPAN, "spend(a)", "spend", fn, (a,))  # type: ignore[arg-type]
    return ir.And(BOOL, _SPAN, "spend(a) and b > 1", call,
                  ir.Op(BOOL, _SPAN, "b > 1", ">", operator.gt, (b, ir.Const(INT, _SPAN, "1", 1))))


def test_the_language_and_pythons_operators_never_charge_a_partial_or_a_plugin_function_may() -> None:
    assert never_charges(operator.gt) and never_charges(len)
    assert all(never_charges(f.impl) for f in functions.core_functions())
    assert not never_charges(_spend)
    assert not never_charges(_PARTIAL)
    assert not never_charges(functools.partial(len))  # what a partial wraps is not looked into


def test_a_partial_of_a_charging_function_makes_a_version_metered() -> None:
    assert may_charge([_condition(_spend)])
    assert may_charge([_condition(_PARTIAL)])


def test_two_valued_code_calling_a_partial_gives_back_what_it_charged() -> None:
    """The two-valued code calls the partial (6 items), meets the unknown ``b`` and gives up; the three-valued
    code calls it again from the start. With a budget of 10 the condition is unknown, 6 items spent, as the
    closures say: had the two-valued code's spending not been given back, 12 items would have passed it."""
    node = _condition(_PARTIAL)
    source, _ = generate(node)
    assert "_m.left = _left" in source  # the two-valued code's spending is given back
    for fn in (compile_fast(node), compile_ir(node)):
        with metered(10) as meter:
            assert fn({"a": "x"}, {}) is UNKNOWN
            assert meter is not None and meter.left == 10 - _SPENT

"""Operations on constants that fail whatever the case: found at load time, so that a policy's loader reports
them where they are written (``2024-01-01 + 12h``, ``1.00 CNY + 1.00 USD``) rather than each case's verdict being
undetermined by them. Input: a checked IR tree (:mod:`policy_eval.lang.checker`); output: the first such operation
and why, or None.
"""

from __future__ import annotations

from policy_eval.lang import decimals, ir
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN

__all__ = ["failing_on_constants"]

# the types whose operations may fail on constants (whole days; currencies; more digits than exact arithmetic keeps)
_FOLDED = frozenset({"date", "money", "decimal"})


def failing_on_constants(node: ir.IR) -> tuple[ir.Op, str] | None:
    """The first date or money operation on two constants (literals, parameters with a value) in ``node`` that
    fails whatever the case (``2024-01-01 + 12h``: a date moves by whole days; ``1.00 CNY + 1.00 USD``), with
    why; else None. A policy's loader makes it an error where it is written, not an undetermined verdict on
    every case (:func:`check` itself keeps the language's run-time semantics)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ir.LetRef):
            continue  # (a let, a definition: checked where it is written)
        stack.extend(ir.children(n))
        if not (isinstance(n, ir.Op) and len(n.args) == 2 and all(isinstance(a, ir.Const) for a in n.args)):
            continue
        left, right = n.args
        assert isinstance(left, ir.Const) and isinstance(right, ir.Const)
        if left.value is UNKNOWN or right.value is UNKNOWN or not {left.type.name, right.type.name} & _FOLDED:
            continue
        try:
            n.fn(left.value, right.value)
        except EvalFailure as exc:
            return n, exc.message
        except decimals.DecimalRefused as exc:
            return n, f"{n.text}: {exc}"
        except (ArithmeticError, TypeError, ValueError):  # (division by zero is unknown, not an error)
            continue
    return None

"""Generated code for a trace with steps: an explanation's steps, as the interpreter records them.

An explained verdict (an undetermined one in full detail, every violated one with ``eval --explain``, a verdict's
``explanation`` read through the API) lists the value of each sub-expression of its rule's ``when`` and condition
that was evaluated, in the order the reference interpreter (:mod:`policy_eval.lang.interpreter`) evaluates them:
post-order, a junction's right side only when its left does not decide, an ``if``'s taken branch only, a
let-binding's expression at its first use in each condition, at most ``MAX_STEPS``. The interpreter walking the
tree cost about 50 µs such a verdict on the bundled after-sale rules. Here :mod:`policy_eval.lang.tracecode`'s
templates, which already evaluate in the interpreter's order and find its missing paths and reads, also append
each node's step after its statements (a nameless constant has none, as in the interpreter); a node they hand to
the interpreter (a quantifier, an index, a dated parameter, a field read through an item) records its own steps
and witnesses there, sharing the trace. tests/test_step_code.py compares the steps, witnesses, missing paths and
reads with the interpreter's over every golden rule and case, variants of each, and each construct.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from policy_eval.lang import ir, tracecode
from policy_eval.lang.interpreter import MAX_STEPS, Step, Trace
from policy_eval.lang.ops import EvalFailure

__all__ = ["trace_with_steps", "traced_steps"]

_TRACED: weakref.WeakKeyDictionary[ir.IR, Any] = weakref.WeakKeyDictionary()
_LETS: weakref.WeakKeyDictionary[ir.IR, Any] = weakref.WeakKeyDictionary()


class _StepGen(tracecode._Gen):
    """tracecode's templates, each node's step appended after its statements."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: set[int] = set()  # (nodes the interpreter evaluates: it records their steps itself)

    def delegate(self, node: ir.IR, ind: int) -> tuple[str, str]:
        self.handed.add(id(node))
        return super().delegate(node, ind)

    def ev(self, node: ir.IR, ind: int) -> tuple[str, str]:
        val, bl = super().ev(node, ind)
        if id(node) not in self.handed and not (isinstance(node, ir.Const) and node.name is None):
            span = node.span
            step = f"{self.const(node.text)}, {val}, {self.const(span.line)}, {self.const(span.column)}"
            self.put(ind, "if _len(_S) < _MAXS:")
            self.put(ind + 1, f"_S.append(_Step({step}))")
        return val, bl

    def let_of(self, expr: ir.IR) -> Callable[..., tuple[Any, tuple[str, ...]]]:
        return tracecode.let_function(expr, _LETS, _generate)


def _generate(node: ir.IR, let: bool = False) -> tuple[str, dict[str, Any]]:
    source, namespace = tracecode.generate(node, let, _StepGen())
    namespace.update({"_Step": Step, "_MAXS": MAX_STEPS, "_len": len})
    return source, namespace


def traced_steps(node: ir.IR) -> tracecode.Traced:
    """``interpret(node, case, env, trace, lets)`` for a trace with steps, as generated code (made on the first
    call for this node, then kept; the interpreter itself for a condition too large or deep for it)."""
    return tracecode.traced(node, _TRACED, _generate)


def trace_with_steps(when: ir.IR | None, condition: ir.IR, case: dict[str, Any], env: dict[str, Any],
                     data_errors: tuple[type[BaseException], ...] = (EvalFailure, ArithmeticError)) -> Trace:
    """A rule's ``when`` and (if it holds) condition traced on the case with steps, each condition with let values
    of its own (a let used by both is walked, and shown, in each), up to a data error (one of ``data_errors``,
    which ends the walk as it does the interpreter's). Any other exception is raised."""
    trace = Trace(explain=True)
    try:
        applies = traced_steps(when)(case, env, trace, {}) if when is not None else True
        if applies is True:
            traced_steps(condition)(case, env, trace, {})
    except data_errors:
        pass
    return trace

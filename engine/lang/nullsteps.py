"""Generated code for the null reading with its blame and its steps: what
:func:`~policy_eval.lang.interpreter.interpret_nulls` finds with a trace that explains.

A rule that an explicit null decides is undetermined; in full detail (and wherever its verdict is explained) its
explanation lists the steps of its ``when`` and condition as the reference interpreter walks them with the nulls
read as unknown. That walk cost about 100 µs an after-sale record with ``order.shipped_at`` null (bench/README).
Here :mod:`policy_eval.lang.nulltrace`'s templates (the null reading and its blame) also append each node's step
after its statements, as :mod:`policy_eval.lang.stepcode` does for the ordinary reading: one class of templates
made of both. A let-binding's expression is spelled with steps too, its value kept in the reading's lets (shared
by a rule's ``when`` and condition, as ``compose.unknown`` shares one reading between them). A node the templates
hand to the interpreter records its own steps there, sharing the trace. ``tests/test_nullsteps.py`` compares the
value, blame, null blame, missing paths, reads, steps and witnesses with ``interpret_nulls``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from policy_eval.lang import ir, nulltrace, stepcode
from policy_eval.lang.interpreter import MAX_STEPS, Step

__all__ = ["traced_null_steps"]

_TRACED: weakref.WeakKeyDictionary[ir.IR, Any] = weakref.WeakKeyDictionary()
_LETS: weakref.WeakKeyDictionary[ir.IR, Any] = weakref.WeakKeyDictionary()


class _Gen(nulltrace._Gen, stepcode._StepGen):
    """The null reading's templates (lang.nulltrace), each node's step appended (lang.stepcode)."""

    def let_of(self, expr: ir.IR) -> Callable[..., tuple[Any, tuple[str, ...]]]:
        return nulltrace.let_function(expr, _LETS, _generate)


def _generate(node: ir.IR) -> tuple[str, dict[str, Any]]:
    source, namespace = nulltrace.generate(node, _Gen())
    namespace.update({"_Step": Step, "_MAXS": MAX_STEPS, "_len": len})
    return source, namespace


def traced_null_steps(node: ir.IR) -> nulltrace.TracedNulls:
    """``interpret_nulls(node, case, env, trace, reading)`` for a trace with steps, as generated code (made on the
    first call for this node, then kept; the interpreter itself for a condition too large or deep for it)."""
    return nulltrace.traced_nulls(node, _TRACED, _generate)

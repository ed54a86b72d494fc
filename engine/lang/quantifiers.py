"""Compile a quantifier (``any``, ``all``, ``count``, ``filter``, ``collect``, ``sum``) to a closure.

Part of :mod:`policy_eval.lang.compiler`, which passes its own ``compile_ir`` for the collection and
the body. Every list walked is charged to the evaluation budget before it is walked.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policy_eval.errors import shown_repr
from policy_eval.lang import ir
from policy_eval.lang.budget import charge
from policy_eval.lang.decimals import plus
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN, Money

__all__ = ["quantifier", "zero_of", "plus"]

Compiled = Callable[[dict[str, Any], dict[str, Any]], Any]


def quantifier(node: ir.Quant, compile_ir: Callable[[ir.IR], Compiled],
               compile_body: Callable[[ir.IR], Compiled] | None = None) -> Compiled:
    """``any``/``all`` (short-circuit, Kleene logic) and the folds: count, filter, collect, sum. ``compile_body``
    compiles the body (``compile_ir`` where None)."""
    # (the body by ``compile_body`` where given, and the list too unless it is a plain read: a ``filter`` or
    # ``collect`` under the quantifier runs a body of its own once an item)
    coll = (compile_body if compile_body is not None and not isinstance(node.collection, ir.Field)
            else compile_ir)(node.collection)
    body, var, kind = (compile_body or compile_ir)(node.body), node.var, node.kind
    zero = zero_of(node.type)
    path = node.collection.text
    where, line, column = node.text, node.span.line, node.span.column

    def items(c: dict[str, Any], v: dict[str, Any]) -> Any:
        seq = coll(c, v)
        if seq is UNKNOWN:
            return UNKNOWN
        if type(seq) is not list:
            raise EvalFailure(f"{path}: expected a list, got {shown_repr(seq, 60)}", path)
        charge(len(seq) + 1, where, line, column)  # the whole list, before walking it
        return seq

    if kind in ("any", "all"):
        # any stops at the first true item, all at the first false one; otherwise an unknown
        # item makes the answer unknown (Kleene logic)
        decisive = kind == "any"

        def f_exists(c: dict[str, Any], v: dict[str, Any]) -> Any:
            seq = items(c, v)
            if seq is UNKNOWN:
                return UNKNOWN
            saw_unknown = False
            saved = v.get(var, UNKNOWN)
            try:
                for item in seq:
                    v[var] = UNKNOWN if item is None else item
                    r = body(c, v)
                    if r is decisive:
                        return decisive
                    if r is UNKNOWN:
                        saw_unknown = True
            finally:
                v[var] = saved
            return UNKNOWN if saw_unknown else not decisive
        return f_exists

    def f_fold(c: dict[str, Any], v: dict[str, Any]) -> Any:
        seq = items(c, v)
        if seq is UNKNOWN:
            return UNKNOWN
        total: Any = None
        n = 0
        kept: list[Any] = []
        unknown = False
        saved = v.get(var, UNKNOWN)
        try:
            for item in seq:
                v[var] = UNKNOWN if item is None else item
                r = body(c, v)
                # (an unknown item makes the answer unknown, but the items after it are still evaluated: a fold
                # takes every item, as a strict operator takes every operand, so a data error in a later item is
                # the answer's error, as the interpreter says; only any and all stop, at their deciding item)
                if r is UNKNOWN or unknown:
                    unknown = True
                    continue
                if kind == "count":
                    n += r is True
                elif kind == "filter":
                    if r is True:
                        kept.append(item)
                elif kind == "collect":
                    charge(len(r), where, line, column)
                    kept.extend(r)
                else:
                    total = r if total is None else plus(total, r)
        finally:
            v[var] = saved
        if unknown:
            return UNKNOWN
        if kind == "count":
            return n
        if kind in ("filter", "collect"):
            return kept
        return zero if total is None else total
    return f_fold


def zero_of(t: Any) -> Any:
    """The empty sum of a type (0, 0.0, 0s, 0.00 CNY)."""
    return {"duration": _dt.timedelta(0), "money": Money(Decimal("0.00")), "decimal": Decimal(0)}.get(t.name, 0)

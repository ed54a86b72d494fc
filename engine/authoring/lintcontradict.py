"""Conjuncts that cannot all hold: ``request.type == "refund_only" and request.type == "return_refund"``.

Input: the conjuncts of a condition (``a and b and c``, through lets). Output: why they can never all be true,
or None. Two kinds are recognised, both read from the checked IR, never from text:

* one case field compared with ``==`` to two different constants (a string, a number or a boolean; a
  parameter's value counts as its constant): ``order.category == "水果" and order.category == "服饰"``;
* ``exists(p)`` beside ``not exists(p)``, or ``not exists(p)`` beside a conjunct that compares or computes with
  ``p`` itself (``not exists(x) and x > 0.00 CNY``): where ``p`` is absent the other conjunct is unknown, so
  the whole is never true (at most unknown: undetermined, never violated or applicable).

The lint check ``rule-never-applies`` reports it for a ``when``, ``constant-condition`` for a ``require`` or
``forbid`` (always violated or never violated).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policy_eval.lang import ir
from policy_eval.rulebook.policy import inputs_of

__all__ = ["contradiction"]


def _path(node: ir.IR) -> str | None:
    return next(inputs_of(node), None) if isinstance(node, ir.Field) else None


def _equality(node: ir.IR) -> tuple[str, tuple[type, Any]] | None:
    """``field == constant`` (either way round): the field's path and the constant with its type."""
    if not (isinstance(node, ir.Op) and node.symbol == "==" and len(node.args) == 2):
        return None
    left, right = node.args
    if isinstance(left, ir.Const):
        left, right = right, left
    path = _path(left)
    if path is None or not isinstance(right, ir.Const) or not isinstance(right.value, (str, int, bool)):
        return None
    return path, (type(right.value), right.value)


def _exists(node: ir.IR) -> str | None:
    """The path of ``exists(field)``."""
    if isinstance(node, ir.Call) and node.name == "exists" and len(node.args) == 1:
        return _path(node.args[0])
    return None


def _strict_reads(node: ir.IR) -> set[str]:
    """Paths a strict operator reads directly (``x > 0``, ``x + 1d``): unknown where ``x`` is absent."""
    if not isinstance(node, ir.Op):
        return set()
    return {p for a in node.args if (p := _path(a)) is not None}


def contradiction(conjuncts: Iterable[ir.IR]) -> str | None:
    equal: dict[str, tuple[tuple[type, Any], str]] = {}
    present: dict[str, str] = {}
    absent: dict[str, str] = {}
    strict: list[tuple[set[str], str]] = []
    for node in conjuncts:
        text = node.text or ""
        if (eq := _equality(node)) is not None:
            path, value = eq
            if path in equal and equal[path][0] != value:
                return f"'{equal[path][1]}' and '{text}' cannot both hold"
            equal.setdefault(path, (value, text))
        if (there := _exists(node)) is not None:
            present.setdefault(there, text)
        if isinstance(node, ir.Not) and (gone := _exists(node.operand)) is not None:
            absent.setdefault(gone, text)
        strict.append((_strict_reads(node), text))
    for path, text in absent.items():
        if path in present:
            return f"'{present[path]}' and '{text}' cannot both hold"
        for reads, other in strict:
            if path in reads:
                return (f"'{text}' and '{other}' cannot both be true: where {path} is absent the second is unknown "
                        "(undetermined), and where it is present the first is false")
    return None

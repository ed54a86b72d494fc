"""Static cost estimate of a checked condition: the worst case of the runtime budget, before any case.

Input: checked IR. Output: a :class:`Estimate` — the most items the condition
can visit on one record (the unit of :mod:`policy_eval.lang.budget`) and the
construct that costs the most. As in CEL's cost checker, sizes are bounded by
what an input can hold: a list read from a case holds at most
:data:`CASE_LIST_ITEMS` items (a record is at most 16 MiB and a list item takes
at least two bytes, ``0,``); a list written in the policy holds what it lists.
A quantifier costs its list's size times (one plus its body's cost); ``collect``
makes a list of its list's size times its body's size; joining lists or
strings makes their sum. A let-binding is paid once, where it is defined; its
uses cost nothing but carry its size.

The loader refuses a condition whose estimate is above the configured ceiling
(``max_cost``; :data:`DEFAULT_CEILING`), with the position of the construct that costs most.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from policy_eval.lang import ir

__all__ = ["Estimate", "estimate", "remember_let", "CASE_LIST_ITEMS", "CASE_STRING_BLOCKS", "DEFAULT_CEILING"]

CASE_LIST_ITEMS = 8 * 1024 * 1024  # 16 MiB record / 2 bytes an item
CASE_STRING_BLOCKS = 256 * 1024  # 16 MiB of text in 64-character blocks (the budget's unit for strings)
# No ceiling by default yet: the bundled conduct rules still walk messages inside walks of messages
# (timely-response) and the estimate counts nested lists of one record as if independent. With
# --max-cost 1,000,000,000 a flat walk of the largest list (8.4 million) passes and two nested walks
# of case lists are far above.
DEFAULT_CEILING: int | None = None


@dataclass(frozen=True, slots=True)
class Estimate:
    cost: int  # items visited, worst case
    size: int  # items (list) or 64-character blocks (string) of the value, worst case; 1 otherwise
    hot: ir.IR | None = None  # the construct that costs most
    hot_cost: int = 0


_UNIT = Estimate(0, 1)
_LETS: weakref.WeakKeyDictionary[ir.IR, Estimate] = weakref.WeakKeyDictionary()


def remember_let(target: ir.IR, est: Estimate) -> None:
    """Record a let-binding's estimate where it is defined, so its uses need not walk it again."""
    _LETS[target] = est


def _input_size(node: ir.IR) -> int:
    name = node.type.name
    if name == "list":
        return CASE_LIST_ITEMS
    if name == "string":
        return CASE_STRING_BLOCKS
    return 1


def _hottest(*parts: Estimate) -> tuple[ir.IR | None, int]:
    best: tuple[ir.IR | None, int] = (None, 0)
    for p in parts:
        if p.hot is not None and p.hot_cost > best[1]:
            best = (p.hot, p.hot_cost)
    return best


def estimate(node: ir.IR) -> Estimate:
    """The worst-case cost and value size of ``node`` (iteratively: no recursion limit to reach)."""
    done: dict[int, Estimate] = {}
    stack: list[tuple[ir.IR, bool]] = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if id(n) in done:
            continue
        if isinstance(n, ir.LetRef):
            known = _LETS.get(n.expr)
            if known is not None or id(n.expr) in done:
                target = known if known is not None else done[id(n.expr)]
                done[id(n)] = Estimate(0, target.size)
                continue
        kids = (n.expr,) if isinstance(n, ir.LetRef) else ir.children(n)
        if not expanded:
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in done)
            continue
        if isinstance(n, ir.LetRef):
            target = done[id(n.expr)]
            _LETS[n.expr] = target
            done[id(n)] = Estimate(0, target.size)
            continue
        done[id(n)] = _combine(n, [done[id(k)] for k in kids])
    return done[id(node)]


def _combine(n: ir.IR, kids: list[Estimate]) -> Estimate:
    base = sum(k.cost for k in kids)
    hot, hot_cost = _hottest(*kids)
    if isinstance(n, ir.Quant):
        coll, body = kids
        walk = coll.size * (1 + body.cost) + 1
        cost = coll.cost + walk
        size = {"filter": coll.size, "collect": coll.size * body.size}.get(n.kind, 1)
        if n.kind == "collect":
            cost += size
        if cost - coll.cost >= hot_cost:
            hot, hot_cost = n, cost - coll.cost
        return Estimate(cost, size, hot, hot_cost)
    if isinstance(n, (ir.Field, ir.Index, ir.Var)):
        return Estimate(base, _input_size(n), hot, hot_cost)
    if isinstance(n, ir.Const):
        value = n.value
        size = len(value) if isinstance(value, list) else (len(value) // 64 + 1 if isinstance(value, str) else 1)
        return Estimate(0, size)
    if isinstance(n, ir.ListIR):
        return Estimate(base, len(n.items), hot, hot_cost)
    if isinstance(n, ir.Op) and n.symbol == "+" and n.type.name in ("string", "list", "any"):
        size = sum(k.size for k in kids)
        return Estimate(base + size, size, hot, hot_cost)
    if isinstance(n, ir.Op) and n.symbol in ("in", "not in"):
        return Estimate(base + kids[1].size, 1, hot, hot_cost)
    if isinstance(n, ir.If):
        return Estimate(base, max(kids[1].size, kids[2].size), hot, hot_cost)
    if isinstance(n, ir.Call):
        # a function's own work is not metered (built-ins are linear in their arguments); its result is
        # taken to be no bigger than its largest argument
        size = max((k.size for k in kids), default=1) if n.type.name in ("list", "string", "any") else 1
        return Estimate(base, size, hot, hot_cost)
    return Estimate(base, 1, hot, hot_cost)

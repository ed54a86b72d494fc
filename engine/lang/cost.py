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
from policy_eval.lang.budget import SCAN_STEPS

__all__ = ["Estimate", "estimate", "remember_let", "CASE_LIST_ITEMS", "CASE_STRING_BLOCKS", "DEFAULT_CEILING"]

CASE_LIST_ITEMS = 8 * 1024 * 1024  # 16 MiB record / 2 bytes an item
CASE_STRING_BLOCKS = 256 * 1024  # 16 MiB of text in 64-character blocks (the budget's unit for strings)
# One walk of the largest case list with a body of up to about a hundred items passes; a walk of a case
# list inside a walk of another (or of the same) is far above. The bundled rulebook's largest is about
# 2 x 10**8 (`policy-eval check` prints it).
DEFAULT_CEILING: int | None = 1_000_000_000


# What an estimate's sizes and costs depend on: no case data (NEUTRAL), the data of one quantifier
# variable's item (its name), or anything else in the record (GLOBAL).
NEUTRAL = ""
GLOBAL = None


@dataclass(frozen=True, slots=True)
class Estimate:
    cost: int  # items visited, worst case
    size: int  # items (list) or 64-character blocks (string) of the value, worst case; 1 otherwise
    hot: ir.IR | None = None  # the construct that costs most
    hot_cost: int = 0
    # Amortization over one record (see _walk): the variable whose item data alone the figures grow with,
    # the figures again with that item data at size 1, and whether a list value's items are distinct
    # parts of the record (read from the case, or filtered from such a list).
    var: str | None = GLOBAL
    cost1: int = 0
    size1: int = 1
    distinct: bool = False


_UNIT = Estimate(0, 1, var=NEUTRAL)
_LETS: weakref.WeakKeyDictionary[ir.IR, Estimate] = weakref.WeakKeyDictionary()


def remember_let(target: ir.IR, est: Estimate) -> None:
    """Record a let-binding's estimate where it is defined, so its uses need not walk it again: what a use
    carries (:func:`_used`), not the construct that costs most (``hot``), which may be the binding's own node and
    would keep the weakly keyed entry, and its tree, for the process's life."""
    _LETS[target] = _used(est)


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


def _merge(*vars_: str | None) -> str | None:
    found = {v for v in vars_ if v != NEUTRAL}
    if not found:
        return NEUTRAL
    return found.pop() if len(found) == 1 else GLOBAL


def _used(target: Estimate) -> Estimate:
    """A let-binding's use: paid where it is defined, it carries its size."""
    return Estimate(0, target.size, var=target.var, size1=target.size1, distinct=target.distinct)


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
                done[id(n)] = _used(known if known is not None else done[id(n.expr)])
                continue
        kids = (n.expr,) if isinstance(n, ir.LetRef) else ir.children(n)
        if not expanded:
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in done)
            continue
        if isinstance(n, ir.LetRef):
            used = _LETS[n.expr] = _used(done[id(n.expr)])  # (see remember_let)
            done[id(n)] = used
            continue
        done[id(n)] = _combine(n, [done[id(k)] for k in kids])
    return done[id(node)]


def _walk(n: ir.Quant, coll: Estimate, body: Estimate) -> Estimate:
    """A quantifier: its list's size times (one plus the body's cost), with one refinement.

    When the list's items are distinct parts of the record and the body's cost and size grow with the
    item's own data only (``m.text``, ``m.tags``), the items' data together are at most the record: the
    walk costs at most the list's size times the body's cost on an item of size 1, plus the body's cost on
    an item as large as the record (the body's figures are sums and products of sizes, so they are
    superadditive in the item's data). Otherwise each item is taken as large as the record.
    """
    local = body.var == n.var and coll.distinct
    if local:
        walk = coll.size * (1 + body.cost1) + body.cost + 1
        walk1 = coll.size1 * (1 + body.cost1) + body.cost1 + 1
        gathered = coll.size * body.size1 + body.size
        gathered1 = coll.size1 * body.size1 + body.size1
    else:
        walk = coll.size * (1 + body.cost) + 1
        walk1 = coll.size1 * (1 + body.cost1) + 1
        gathered = coll.size * body.size
        gathered1 = coll.size1 * body.size1
    cost, cost1 = coll.cost + walk, coll.cost1 + walk1
    size, size1 = {"filter": (coll.size, coll.size1), "collect": (gathered, gathered1)}.get(n.kind, (1, 1))
    if n.kind == "collect":
        cost, cost1 = cost + size, cost1 + size1
    hot, hot_cost = _hottest(coll, body)
    if cost - coll.cost >= hot_cost:
        hot, hot_cost = n, cost - coll.cost
    var = _merge(coll.var, NEUTRAL if body.var == n.var else body.var)
    return Estimate(cost, size, hot, hot_cost, var, cost1, size1, distinct=n.kind == "filter" and coll.distinct)


def _combine(n: ir.IR, kids: list[Estimate]) -> Estimate:
    base = sum(k.cost for k in kids)
    base1 = sum(k.cost1 for k in kids)
    hot, hot_cost = _hottest(*kids)
    var = _merge(*(k.var for k in kids))
    if isinstance(n, ir.Quant):
        return _walk(n, kids[0], kids[1])
    if isinstance(n, ir.Var):
        return Estimate(0, _input_size(n), var=n.name, size1=1, distinct=True)
    if isinstance(n, (ir.Field, ir.Index)):
        # read from the case (rooted at the case: GLOBAL; at a quantifier's item: that item's data)
        root = kids[0].var if kids else GLOBAL
        var = _merge(root, *(k.var for k in kids[1:]))
        return Estimate(base, _input_size(n), hot, hot_cost, var, base1, 1 if var else _input_size(n),
                        distinct=True)
    if isinstance(n, (ir.Const, ir.DatedParam)):
        values = [n.value] if isinstance(n, ir.Const) else list(n.values)
        size = max((len(v) if isinstance(v, list) else (len(v) // 64 + 1 if isinstance(v, str) else 1)
                    for v in values), default=1)
        return Estimate(0, size, var=NEUTRAL, size1=size)
    if isinstance(n, ir.ListIR):
        return Estimate(base, len(n.items), hot, hot_cost, var, base1, len(n.items))
    if isinstance(n, ir.Op) and n.symbol == "+" and n.type.name in ("string", "list", "any"):
        size, size1 = sum(k.size for k in kids), sum(k.size1 for k in kids)
        return Estimate(base + size, size, hot, hot_cost, var, base1 + size1, size1)
    if isinstance(n, ir.Op) and n.symbol in ("in", "not in"):
        return Estimate(base + kids[1].size, 1, hot, hot_cost, var, base1 + kids[1].size1)
    if isinstance(n, ir.If):
        return Estimate(base, max(kids[1].size, kids[2].size), hot, hot_cost, var, base1,
                        max(kids[1].size1, kids[2].size1), distinct=kids[1].distinct and kids[2].distinct)
    if isinstance(n, ir.Call):
        # a function's own work is metered where it is a product of its arguments' sizes (lang.budget.scan_at:
        # ``contains_any``), not where it is linear in them; its result is taken to be no bigger than its
        # largest argument. Here only the lists' sizes count, not a text's: a text of the record searched for a
        # policy's words is linear in the record, and a walk over the parts of a text (the matches of a pattern,
        # ``g.text``) would count the whole text for each part. The runtime charge counts both.
        if n.type.name in ("list", "string", "any"):
            size, size1 = max((k.size for k in kids), default=1), max((k.size1 for k in kids), default=1)
        else:
            size, size1 = 1, 1
        scans = getattr(n.fn, "scans", ())
        if scans:
            own, own1 = 1, 1
            for i in scans:
                if n.args[i].type.name != "string":
                    own, own1 = own * kids[i].size, own1 * kids[i].size1
            steps = getattr(n.fn, "steps", SCAN_STEPS)
            base, base1 = base + own // steps, base1 + own1 // steps
            if own // steps >= hot_cost:
                hot, hot_cost = n, own // steps
        return Estimate(base, size, hot, hot_cost, var, base1, size1)
    return Estimate(base, 1, hot, hot_cost, var, base1, 1)

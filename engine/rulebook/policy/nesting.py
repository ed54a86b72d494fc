"""How deep a checked condition reaches once the lets and definitions it uses are counted in.

Input: checked IR nodes, one condition at a time, in the order the builder checks them (a let before
the lets and conditions that use it). Output: for each node its :class:`Reach`, memoised per node, so
checking a policy walks each node once however many lets refer to it.

Every evaluator walks a condition recursively, and a let is evaluated where it is first used: the
compiled functions, the explanation's reference interpreter and ``due`` all recurse through a chain of
lets. Two bounds keep every policy that loads inside Python's recursion limit, whatever command runs it
(issue 13, item 2; docs/language.md, Limits):

* a chain of lets and definitions referring to one another is at most :data:`MAX_LET_CHAIN` references
  deep (``b64: b63 and b63`` … ``b0``; ``b65`` is refused, at its name);
* a condition counted through the lets it uses nests at most :data:`MAX_NESTING` levels, the depth one
  condition may have on its own (:data:`policy_eval.lang.parser.MAX_DEPTH`).
"""

from __future__ import annotations

from dataclasses import dataclass

from policy_eval.lang import ir
from policy_eval.lang.parser import MAX_DEPTH

__all__ = ["MAX_LET_CHAIN", "MAX_NESTING", "Reach", "Nesting"]

MAX_LET_CHAIN = 64
MAX_NESTING = MAX_DEPTH


@dataclass(frozen=True, slots=True)
class Reach:
    """``depth``: IR levels below and including a node, each let counted where it is used; ``hops``: the
    let references on the longest chain of lets below it; ``first``: the reference that chain starts at."""

    depth: int
    hops: int
    first: ir.LetRef | None


class Nesting:
    """The :class:`Reach` of checked nodes, each computed once (keyed by the node itself: identity, and
    kept alive here, so a node's entry can never be taken for another's)."""

    def __init__(self) -> None:
        self.known: dict[ir.IR, Reach] = {}

    def of(self, node: ir.IR) -> Reach:
        """The reach of ``node``, walking (without recursion) only what was not measured before."""
        known = self.known
        stack: list[tuple[ir.IR, bool]] = [(node, False)]
        while stack:
            n, ready = stack.pop()
            if n in known:
                continue
            kids = ir.children(n)
            if not ready:
                stack.append((n, True))
                stack.extend((k, False) for k in kids if k not in known)
                continue
            depth, hops, first = 0, 0, None
            for k in kids:
                r = known[k]
                depth = max(depth, r.depth)
                if r.hops > hops:
                    hops, first = r.hops, r.first
            if isinstance(n, ir.LetRef):
                hops, first = known[n.expr].hops + 1, n
            known[n] = Reach(depth + 1, hops, first)
        return known[node]

    def chain(self, node: ir.IR) -> list[str]:
        """The names on the longest chain of lets below ``node``, nearest first."""
        names: list[str] = []
        ref = self.of(node).first
        while ref is not None:
            names.append(ref.name)
            ref = self.known[ref.expr].first
        return names

    def deepest_reference(self, node: ir.IR) -> ir.LetRef | None:
        """The let reference in ``node``'s own text through which it reaches deepest (None if none does)."""
        n = node
        while not isinstance(n, ir.LetRef):
            kids = ir.children(n)
            if not kids:
                return None
            n = max(kids, key=lambda k: self.of(k).depth)
        return n

"""What a condition reads: the case paths, and a reader for each path's raw JSON value."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from policy_eval.lang import ir

__all__ = ["inputs_of", "condition_inputs", "params_used"]


def inputs_of(node: ir.IR) -> Iterator[str]:
    """The case paths a condition reads (``messages[].text`` for items of a list)."""
    for path, _ in condition_inputs(node, {}):
        yield path


def condition_inputs(node: ir.IR, variables: dict[str, str] | None = None
                     ) -> Iterator[tuple[str, Callable[[Any], Any] | None]]:
    """:func:`_inputs` of a condition and of every let-binding it uses, each let walked once."""
    seen: set[int] = set()
    todo: list[ir.IR] = [node]
    lets: list[ir.IR] = []
    while todo:
        n = todo.pop()
        if id(n) not in seen:
            seen.add(id(n))
            yield from _inputs(n, {}, lets)
            todo += lets
            lets.clear()


def _static_path(node: ir.IR, variables: dict[str, str]) -> str | None:
    if isinstance(node, ir.Field):
        if node.base is None:
            return node.key
        base = _static_path(node.base, variables)
        return f"{base}.{node.key}" if base is not None else None
    if isinstance(node, ir.Var):
        return variables.get(node.name)
    if isinstance(node, ir.Index):
        base = _static_path(node.base, variables)
        return f"{base}[]" if base is not None else None
    return None


def _inputs(node: ir.IR, variables: dict[str, str], lets: list[ir.IR]
            ) -> Iterator[tuple[str, Callable[[Any], Any] | None]]:
    """(case path, reader of its raw JSON value) for every field a condition reads; let-bindings go to ``lets``."""
    if isinstance(node, ir.LetRef):
        lets.append(node.expr)  # a let has no free variables: walked once, by condition_inputs
        return
    if isinstance(node, ir.Field) and node.type.name != "record":
        p = _static_path(node, variables)
        if p is not None:
            yield p, node.convert
            return
    if isinstance(node, ir.Quant):
        coll = _static_path(node.collection, variables)
        yield from _inputs(node.collection, variables, lets)
        inner = dict(variables)
        inner[node.var] = f"{coll}[]" if coll is not None else "?"
        yield from _inputs(node.body, inner, lets)
        return
    for child in ir.children(node):
        yield from _inputs(child, variables, lets)


def params_used(nodes: Iterable[ir.IR], params: Mapping[str, ir.IR]) -> Iterator[str]:
    """The names of the parameters some conditions use (through lets and definitions too).

    The IR is a DAG (a let used twice is one node): each node is visited once however many of ``nodes``
    reach it, so the walk over a rule's conditions and lets together is linear in the policy's size, not in
    the size of the expanded tree (issue 13: doubling lets) nor quadratic in a chain of lets walked once per let.
    """
    stack: list[ir.IR] = list(nodes)
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        name = n.name if isinstance(n, (ir.Const, ir.DatedParam)) else None
        if name is not None and name in params and params[name] is n:
            yield name
        stack.extend(ir.children(n))

"""What a condition reads: the case paths, and a reader for each path's raw JSON value."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from policy_eval.lang import ir

__all__ = ["inputs_of", "condition_inputs", "params_used"]


def inputs_of(node: ir.IR) -> Iterator[str]:
    """The case paths a condition reads (``messages[].text`` for items of a list)."""
    for path, _ in condition_inputs(node, {}):
        yield path


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


def condition_inputs(node: ir.IR, variables: dict[str, str]) -> Iterator[tuple[str, Callable[[Any], Any] | None]]:
    """(case path, reader of its raw JSON value) for every field a condition reads."""
    if isinstance(node, ir.Field) and node.type.name != "record":
        p = _static_path(node, variables)
        if p is not None:
            yield p, node.convert
            return
    if isinstance(node, ir.Quant):
        coll = _static_path(node.collection, variables)
        yield from condition_inputs(node.collection, variables)
        inner = dict(variables)
        inner[node.var] = f"{coll}[]" if coll is not None else "?"
        yield from condition_inputs(node.body, inner)
        return
    for child in ir.children(node):
        yield from condition_inputs(child, variables)


def params_used(node: ir.IR, params: Mapping[str, ir.IR]) -> Iterator[str]:
    """The names of the parameters a condition uses (through lets and definitions too)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (ir.Const, ir.DatedParam)) and n.name in params and params[n.name] is n:
            yield n.name
        stack.extend(ir.children(n))

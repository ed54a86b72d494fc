"""The checked intermediate representation: typed, names resolved.

Produced by :mod:`policy_eval.lang.checker` from the AST; consumed by the
compiler (fast closures) and the interpreter (reference semantics and
explanations). Nothing here parses or looks at schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from policy_eval.lang.ast import Span
from policy_eval.lang.types import Type

__all__ = [
    "IR", "Const", "Field", "Index", "Var", "DatedParam", "LetRef", "Op", "And", "Or", "Not",
    "If", "Quant", "Call", "ListIR", "children", "root_path", "root_paths", "walk", "same", "lets_read",
]


@dataclass(eq=False, slots=True, weakref_slot=True)  # weakly keyed: compiled let-bindings (compiler)
class IR:
    type: Type
    span: Span
    text: str  # the source of this sub-expression, for explanations


@dataclass(eq=False, slots=True)
class Const(IR):
    value: Any
    name: str | None = None  # set for parameters


@dataclass(eq=False, slots=True)
class Field(IR):
    """``base.key``; base None means the case root. ``convert`` reads the raw JSON leaf."""

    base: IR | None
    key: str
    convert: Callable[[Any], Any] | None


@dataclass(eq=False, slots=True)
class Index(IR):
    base: IR
    index: IR
    convert: Callable[[Any], Any] | None


@dataclass(eq=False, slots=True)
class Var(IR):
    name: str


@dataclass(eq=False, slots=True)
class DatedParam(IR):
    """A parameter whose value depends on the case's reference time."""

    name: str
    starts: tuple[Any, ...]  # aware datetimes, ascending
    values: tuple[Any, ...]


@dataclass(eq=False, slots=True)
class LetRef(IR):
    name: str
    expr: IR


@dataclass(eq=False, slots=True)
class Op(IR):
    """A strict operator or comparison: unknown if either side is unknown."""

    symbol: str
    fn: Callable[..., Any]
    args: tuple[IR, ...]
    guard_zero: bool = False


@dataclass(eq=False, slots=True)
class And(IR):
    left: IR
    right: IR


@dataclass(eq=False, slots=True)
class Or(IR):
    left: IR
    right: IR


@dataclass(eq=False, slots=True)
class Not(IR):
    operand: IR


@dataclass(eq=False, slots=True)
class If(IR):
    test: IR
    then: IR
    other: IR


@dataclass(eq=False, slots=True)
class Quant(IR):
    kind: str
    var: str
    collection: IR
    body: IR


@dataclass(eq=False, slots=True)
class Call(IR):
    name: str
    fn: Callable[..., Any]
    args: tuple[IR, ...]
    strict: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    answers: dict[Any, Any] | None = None  # (lang.functions.Function.bind's: looked up before ``fn`` is called)


@dataclass(eq=False, slots=True)
class ListIR(IR):
    items: tuple[IR, ...]


def children(node: IR) -> tuple[IR, ...]:
    if isinstance(node, Field):
        return (node.base,) if node.base is not None else ()
    if isinstance(node, Index):
        return (node.base, node.index)
    if isinstance(node, LetRef):
        return (node.expr,)
    if isinstance(node, (Op, Call)):
        return node.args
    if isinstance(node, (And, Or)):
        return (node.left, node.right)
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, If):
        return (node.test, node.then, node.other)
    if isinstance(node, Quant):
        return (node.collection, node.body)
    if isinstance(node, ListIR):
        return node.items
    return ()


def root_path(node: IR) -> tuple[str, ...] | None:
    """The key path of a field read from the case root (None for reads under variables, and for other nodes)."""
    keys: list[str] = []
    while isinstance(node, Field):
        keys.append(node.key)
        if node.base is None:
            return tuple(reversed(keys))
        node = node.base
    return None


def walk(*roots: IR, lets: bool = True) -> Iterator[IR]:
    """Every node under ``roots`` once, let-bindings' expressions included (the IR is a DAG: a let used twice
    is one node); ``lets=False``: a let reference's expression left out (the node itself is walked)."""
    stack = list(roots)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if lets or not isinstance(node, LetRef):
            stack.extend(children(node))


def lets_read(*roots: IR | None) -> list[IR]:
    """The let-bindings' expressions that ``roots`` read themselves (None: none), not through other lets, each once."""
    return list({id(n.expr): n.expr for n in walk(*(r for r in roots if r is not None), lets=False)
                 if isinstance(n, LetRef)}.values())


def root_paths(*nodes: IR) -> tuple[tuple[str, ...], ...]:
    """The case paths that ``nodes`` read from the root through fields only, the records on the way and their
    lets' reads included (objects too: ``exists(request.merchant_response)`` reads one), each once."""
    out: dict[tuple[str, ...], None] = {}
    for node in walk(*nodes):
        path = root_path(node)
        if path is not None:
            out[path] = None
    return tuple(out)


def same(a: IR, b: IR) -> bool:
    """Whether two checked trees compute the same thing: the same node classes, and every field equal but where
    each was written (``span``), sub-trees compared alike (nodes compare by identity otherwise). A constant's value
    is compared with its type (a parameter's value included), a function by identity."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    for f in fields(a):
        if f.name == "span":
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, IR):
            if not (isinstance(y, IR) and same(x, y)):
                return False
        elif type(x) is tuple and x and isinstance(x[0], IR):
            if type(y) is not tuple or len(x) != len(y) or not all(same(p, q) for p, q in zip(x, y, strict=True)):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True

"""The typed syntax tree of a condition, as frozen dataclasses with spans.

Produced by :mod:`policy_eval.lang.parser`; Lark trees never leave that module.
Spans are 1-based lines and columns inside the condition text, plus
character offsets so tools can quote the source of any sub-expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "Span",
    "Node",
    "Literal",
    "Name",
    "Attr",
    "Index",
    "Call",
    "Unary",
    "Binary",
    "Cond",
    "Quant",
    "ListLit",
]


@dataclass(frozen=True, slots=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Node:
    span: Span


@dataclass(frozen=True, slots=True)
class Literal(Node):
    kind: str  # bool, int, decimal, string, money, date, datetime, duration, null
    value: Any


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Attr(Node):
    obj: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    obj: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # + - * / == != < <= > >= in notin and or
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Cond(Node):
    test: Node
    then: Node
    other: Node


@dataclass(frozen=True, slots=True)
class Quant(Node):
    kind: str  # any, all, count, sum
    var: str
    collection: Node
    body: Node


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]

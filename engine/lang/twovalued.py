"""The two-valued templates of generated code: plain Python for cases that hold every fact a rule reads.

Input: checked IR. Output: Python source of an expression that assumes no operand is unknown and calls
``_u()`` (raising :class:`Unsure`) where one is; the caller then runs the three-valued code
(:mod:`policy_eval.lang.threevalued`) of the same node from the start.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NoReturn

from policy_eval.lang import ir
from policy_eval.lang.budget import never_charges
from policy_eval.lang.threevalued import (
    _CONSTANT,
    _INFIX,
    _NAME,
    _PURE_OPS,
    _Gen,
    _root_path,
)
from policy_eval.lang.values import UNKNOWN

__all__ = ["Unsure", "unsure", "SureGen"]


class Unsure(Exception):
    """Raised by two-valued generated code where it meets an unknown: the three-valued code then decides."""


def unsure() -> NoReturn:
    raise Unsure


class SureGen(_Gen):
    """codegen's templates, plus two-valued ones: code that assumes no operand is unknown and calls ``_u()``
    (raising :class:`Unsure`) where one is.

    Most cases have every fact a rule reads, and plain Python (``a <= b``, ``x and y``) decides them
    with a fraction of the three-valued tests. The two-valued code is exact whenever it returns: until
    the first unknown it computes what the three-valued code computes, in the same order (``and`` and
    ``or`` stop at the same operand, ``if`` takes the same branch), so it raises what that would raise;
    at the first unknown it gives up and the three-valued code decides from the start. Sub-expressions
    that take unknowns as ordinary values (``exists``, ``default``'s first operand, non-strict
    functions, closures) are generated three-valued inside it, and their result tested.

    A path read once at the top (``hoisted``: a local that is never assigned again) is used without its test
    where the code runs only after the test could not fail: after ``exists`` of it was found true (the right
    operand of ``exists(p) and ...`` and of ``not exists(p) or ...``, the ``then`` of ``if exists(p)``), and after
    code that tested it on every way through that returned (``p > 1 and p < 9``: the second ``p``; ``p - q``'s
    operands are computed in turn). The value and what is raised are the same (``present``, below). Each use
    of a let is generated again where it is (lang.fusion inlines it at every use), so no code runs outside the
    context it was generated for.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sure = False
        self.in_sure = False
        self.charging = False  # the two-valued code calls something that may charge the budget
        # the hoisted reads known not to be unknown where the code being generated runs (see the class)
        self.present: frozenset[str] = frozenset()
        # checked's answers by node: once each, whatever the nesting (a let's expression, shared by its uses, is
        # walked once, not once a use: a chain of lets each used twice would cost 2 ** length)
        self._checked: dict[int, tuple[ir.IR, frozenset[str]]] = {}  # (the node kept: its id stays its own)

    def sure_expr(self, node: ir.IR, facts: frozenset[str] = frozenset()) -> str:
        """Two-valued code for ``node`` (see the class); ``facts``: hoisted reads known not to be unknown where it
        runs (a rule's condition, run only where its ``when``'s two-valued code returned true: lang.fusion)."""
        self.sure = self.in_sure = True
        self.present = facts
        try:
            return self.expr(node)
        finally:
            self.sure = self.in_sure = False
            self.present = frozenset()

    def known(self, node: ir.IR, outcome: bool = True) -> frozenset[str]:
        """The hoisted reads that are not unknown wherever ``node``'s two-valued code gives ``outcome``: those
        ``exists`` found, through ``and`` (true), ``or`` (false) and ``not``."""
        if isinstance(node, ir.Not):
            return self.known(node.operand, not outcome)
        if isinstance(node, ir.And if outcome else ir.Or):
            return self.known(node.left, outcome) | self.known(node.right, outcome)
        if outcome and isinstance(node, ir.Call) and node.name == "exists" and len(node.args) == 1 \
                and (path := _root_path(node.args[0])) is not None and (name := self.hoisted.get(path)) is not None \
                and _NAME.fullmatch(name):
            return frozenset((name,))
        return frozenset()

    def checked(self, node: ir.IR) -> frozenset[str]:
        """The hoisted reads that ``node``'s two-valued code tests (or knows) on every way through it that returns:
        what follows it in the same expression may use them untested. Mirrors the ``s_`` templates below: an
        operand computed in any case counts, one computed on a condition (``and``'s right, a branch, a let's code
        behind its "computed yet?" test) or in three-valued code (``exists``, ``default``) does not."""
        hit = self._checked.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        found = self.tested(node)
        self._checked[id(node)] = (node, found)
        return found

    def tested(self, node: ir.IR) -> frozenset[str]:
        """:meth:`checked`'s answer for ``node``, worked out (its operands' through :meth:`checked`)."""
        if isinstance(node, ir.Field):
            path = _root_path(node)
            name = self.hoisted.get(path) if path is not None else None
            return frozenset((name,)) if name is not None and _NAME.fullmatch(name) else frozenset()
        if isinstance(node, ir.Op):
            if node.guard_zero or all(isinstance(a, ir.Const) for a in node.args):
                return frozenset()
            return frozenset().union(*(self.checked(a) for a in node.args))
        if isinstance(node, (ir.And, ir.Or)):
            return self.checked(node.left)
        if isinstance(node, ir.Not):
            return self.checked(node.operand)
        if isinstance(node, ir.If):
            return self.checked(node.test) | (self.checked(node.then) & self.checked(node.other))
        if isinstance(node, ir.Call) and node.args and (
                (node.name in ("max", "min") and len(node.args) == 2 and node.args[0].type.name != "list")
                or (node.strict and node.name not in ("exists", "default"))):
            return frozenset().union(*(self.checked(a) for a in node.args))
        return frozenset()

    def in_turn(self, nodes: tuple[ir.IR, ...] | list[ir.IR]) -> list[str]:
        """Two-valued code for operands computed one after the other: each knows what those before it tested."""
        codes: list[str] = []
        seen: frozenset[str] = frozenset()
        for node in nodes:
            codes.append(self.knowing(seen, node))
            seen |= self.checked(node)
        return codes

    def knowing(self, facts: frozenset[str], node: ir.IR) -> str:
        """Two-valued code for ``node`` where ``facts`` (hoisted reads) are known not to be unknown too."""
        before = self.present
        self.present = before | facts
        try:
            return self.expr(node)
        finally:
            self.present = before

    def fn(self, f: Callable[..., Any]) -> str:
        # a closure, a let's function, a function (string concatenation, a plugin's) may charge the budget;
        # the operators, readers and functions of the language never do (lang.budget.never_charges)
        if self.in_sure and not never_charges(f):
            self.charging = True
        return super().fn(f)


    def expr(self, node: ir.IR) -> str:
        if not self.sure:
            return super().expr(node)
        method = getattr(self, "s_" + type(node).__name__, None)
        if method is not None:
            code: str = method(node)
            return code
        return self.guard(self.three(node))

    def three(self, node: ir.IR) -> str:
        """Three-valued code for ``node``, inside two-valued code."""
        self.sure = False
        try:
            return super().expr(node)
        finally:
            self.sure = True

    def guard(self, code: str) -> str:
        """``code``'s value, or ``_u()`` when it is unknown."""
        if _CONSTANT.fullmatch(code) and not (code.startswith("_k") and self.K[int(code[2:])] is UNKNOWN):
            return code
        if _NAME.fullmatch(code):
            return f"({code} if {code} is not U else _u())"
        t = self.tmp()
        return f"({t} if ({t} := {code}) is not U else _u())"

    def s_Field(self, node: ir.Field) -> str:
        path = _root_path(node)
        if path is None:  # a read under a variable: its base may be unknown
            return self.guard(self.three(node))
        if path in self.hoisted:
            name = self.hoisted[path]
            return name if name in self.present else self.guard(name)
        self.sure = False  # a reader never returns unknown: only a missing key or a null is
        try:
            return self.g_Field(node, missing="_u()")
        finally:
            self.sure = True

    def s_Const(self, node: ir.Const) -> str:
        return "_u()" if node.value is UNKNOWN else self.const(node.value)

    def s_Op(self, node: ir.Op) -> str:
        if node.guard_zero or all(isinstance(a, ir.Const) for a in node.args):
            return self.guard(self.three(node))
        args = self.in_turn(node.args)
        fn = node.fn
        if len(args) == 1 and fn is operator.neg:
            return f"(-{args[0]})"
        if len(args) == 2 and fn in _INFIX:
            return f"({args[0]} {_INFIX[fn]} {args[1]})"
        if len(args) == 2 and (product := self.int_product(node, args[0], args[1])) is not None:
            return product
        code = f"{self.fn(fn)}({', '.join(args)})"
        return code if getattr(fn, "__module__", None) in _PURE_OPS else self.guard(code)

    def s_And(self, node: ir.And) -> str:
        left = self.expr(node.left)
        return f"({left} and {self.knowing(self.known(node.left) | self.checked(node.left), node.right)})"

    def s_Or(self, node: ir.Or) -> str:
        left = self.expr(node.left)
        return f"({left} or {self.knowing(self.known(node.left, False) | self.checked(node.left), node.right)})"

    def s_Not(self, node: ir.Not) -> str:
        return f"(not {self.expr(node.operand)})"

    def s_If(self, node: ir.If) -> str:
        test = self.expr(node.test)
        tested = self.checked(node.test)
        then = self.knowing(self.known(node.test) | tested, node.then)
        return f"({then} if {test} else {self.knowing(self.known(node.test, False) | tested, node.other)})"

    def s_Call(self, node: ir.Call) -> str:
        if node.name == "exists" and len(node.args) == 1:
            return self.three(node)  # never unknown
        if node.name == "default" and len(node.args) == 2:  # (both computed: see threevalued's)
            t, u = self.tmp(), self.tmp()
            first, fallback = self.three(node.args[0]), self.three(node.args[1])
            return (f"({t} if ({t} := {first}) is {t} and ({u} := {fallback}) is {u} and {t} is not U "
                    f"else {self.guard(u)})")
        if node.name in ("max", "min") and len(node.args) == 2 and node.args[0].type.name != "list":
            op = ">=" if node.name == "max" else "<="
            a, b = self.tmp(), self.tmp()
            first, second = self.in_turn(node.args)
            return f"({a} if ({a} := {first}) {op} ({b} := {second}) else {b})"
        if node.strict and node.args:
            return self.guard(self.called(node, self.in_turn(node.args)))
        return self.guard(self.three(node))

"""Resolve names and check types: AST → checked IR.

Input: an AST from :mod:`policy_eval.lang.parser`, the case record type (from the
case JSON Schema), the policy's parameters and let-bindings, and the function
registry. Output: :mod:`policy_eval.lang.ir` nodes carrying types, resolved
references and the readers for case fields; or a located
:class:`~policy_eval.errors.PolicyNameError` / ``PolicyTypeError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import PolicyError, PolicyNameError, PolicyTypeError
from policy_eval.lang import ast, dynamic, ir
from policy_eval.lang.budget import concat_at, scan_at
from policy_eval.lang.functions import ArgumentError, FunctionRegistry
from policy_eval.lang.ops import binary, negate
from policy_eval.lang.readers import reader_for
from policy_eval.lang.types import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INT,
    MONEY,
    NULL,
    STRING,
    Type,
    is_number,
    list_of,
    unify,
)
from policy_eval.lang.values import UNKNOWN

__all__ = ["Scope", "check", "written_below", "LITERAL_TYPES"]

LITERAL_TYPES: dict[str, Type] = {
    "bool": BOOL, "int": INT, "decimal": DECIMAL, "string": STRING, "money": MONEY, "date": DATE,
    "datetime": DATETIME, "duration": DURATION, "null": NULL,
}


@dataclass
class Scope:
    """What names mean inside one condition."""

    case_type: Type
    functions: FunctionRegistry
    params: Mapping[str, ir.IR] = field(default_factory=dict)
    lets: Mapping[str, ir.IR] = field(default_factory=dict)
    variables: dict[str, Type] = field(default_factory=dict)
    # names not in scope yet (a let or definition written below the one being checked, which may use only
    # those above it), each with what to say when one is used: "a let defined below (line 12); ..."
    later: Mapping[str, str] = field(default_factory=dict)


def written_below(kind: str, name: str, below: Iterable[tuple[str, str]]) -> dict[str, str]:
    """:attr:`Scope.later` for the let or definition ``name`` (``kind``): itself, and each (name, where it is
    written) of those below it, which it may not use (each may use only those above it)."""
    later = {n: f"a {kind} defined below ({where}); a {kind} can use only the {kind}s above it" for n, where in below}
    later[name] = f"the {kind} being defined; a {kind} cannot use itself"
    return later


def _err(cls: type[PolicyError], node: ast.Node, message: str, *, column: int | None = None) -> PolicyError:
    s = node.span
    end = s.end_column if s.end_line == s.line else None
    return cls(message, line=s.line, column=column or s.column, end_column=end)


def _unknown(cls: type[PolicyError], node: ast.Node, message: str, name: str, candidates: list[str], *,
             column: int | None = None) -> PolicyError:
    """An unknown name's error, saying which candidate it is closest to; that one is the error's ``fix`` too
    (what the language server offers to write in place of ``name``)."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    exc = _err(cls, node, message + (f"; did you mean '{close[0]}'?" if close else ""), column=column)
    if close:
        exc.fix = (name, close[0])
    return exc


class _Checker:
    def __init__(self, scope: Scope, text: str) -> None:
        self.scope = scope
        self.text = text

    def src(self, node: ast.Node) -> str:
        return self.text[node.span.start:node.span.end] or "?"

    def run(self, node: ast.Node) -> ir.IR:
        method = getattr(self, "c_" + type(node).__name__)
        result: ir.IR = method(node)
        return result

    def expect_bool(self, node: ast.Node, what: str) -> ir.IR:
        out = self.run(node)
        if out.type not in (BOOL, ANY):
            raise _err(PolicyTypeError, node, f"{what} must be bool, got {out.type}")
        return dynamic.cast(out, BOOL, what)  # (a value of type any: a boolean, checked when it is read)

    # --- leaves ---------------------------------------------------------------------------------------
    def c_Literal(self, node: ast.Literal) -> ir.IR:
        return ir.Const(LITERAL_TYPES[node.kind], node.span, self.src(node), node.value)

    def c_Name(self, node: ast.Name) -> ir.IR:
        name = node.name
        sc = self.scope
        if name in sc.variables:
            return ir.Var(sc.variables[name], node.span, name, name)
        if name in sc.lets:
            target = sc.lets[name]
            return ir.LetRef(target.type, node.span, name, name, target)
        if name in sc.params:
            p = sc.params[name]
            return p
        ftype = sc.case_type.field_type(name)
        if ftype is not None:
            return ir.Field(ftype, node.span, name, None, name, reader_for(ftype))
        if sc.case_type.name == "any":
            return ir.Field(ANY, node.span, name, None, name, None)
        candidates = list(sc.variables) + list(sc.lets) + list(sc.params) + sc.case_type.field_names()
        if name in sc.later:
            raise _err(PolicyNameError, node, f"'{name}' is {sc.later[name]}")
        if sc.functions.get(name) is not None:
            raise _err(PolicyNameError, node, f"'{name}' is a function; call it as {name}(...)")
        raise _unknown(PolicyNameError, node, f"unknown name '{name}': not a case field, parameter, definition or "
                       "let-binding", name, candidates)

    def c_Attr(self, node: ast.Attr) -> ir.IR:
        base = self.run(node.obj)
        t = base.type
        if t.name == "any":
            return ir.Field(ANY, node.span, self.src(node), base, node.name, None)
        if t.name != "record":
            raise _err(PolicyTypeError, node, f"'{self.src(node.obj)}' is {t} and has no field '{node.name}'")
        ftype = t.field_type(node.name)
        if ftype is None:
            name_column = node.span.end_column - len(node.name) if node.span.line == node.span.end_line else None
            raise _unknown(PolicyNameError, node, f"unknown field '{node.name}' of '{self.src(node.obj)}'",
                           node.name, t.field_names(), column=name_column)
        return ir.Field(ftype, node.span, self.src(node), base, node.name, reader_for(ftype))

    def c_Index(self, node: ast.Index) -> ir.IR:
        base = self.run(node.obj)
        idx = self.run(node.index)
        if base.type.name not in ("list", "any"):
            raise _err(PolicyTypeError, node, f"cannot index {base.type} '{self.src(node.obj)}'")
        if idx.type not in (INT, ANY):
            raise _err(PolicyTypeError, node.index, f"a list index must be int, got {idx.type}")
        item = base.type.item if base.type.item is not None else ANY
        idx = dynamic.cast(idx, INT, "a list index")  # (an index of type any: an int, checked when it is read)
        return ir.Index(item, node.span, self.src(node), base, idx, None)

    # --- operators --------------------------------------------------------------------------------------
    def c_Unary(self, node: ast.Unary) -> ir.IR:
        if node.op == "not":
            operand = self.expect_bool(node.operand, "the operand of 'not'")
            return ir.Not(BOOL, node.span, self.src(node), operand)
        operand = self.run(node.operand)
        fn = negate(operand.type) if operand.type.name != "any" else dynamic.any_neg
        if fn is None:
            raise _err(PolicyTypeError, node, f"cannot negate {operand.type}")
        return ir.Op(operand.type, node.span, self.src(node), "-", fn, (operand,))

    def c_Binary(self, node: ast.Binary) -> ir.IR:
        if node.op in ("and", "or"):
            left = self.expect_bool(node.left, f"the left side of '{node.op}'")
            right = self.expect_bool(node.right, f"the right side of '{node.op}'")
            cls = ir.And if node.op == "and" else ir.Or
            return cls(BOOL, node.span, self.src(node), left, right)
        left = self.run(node.left)
        right = self.run(node.right)
        lt, rt = left.type, right.type
        if lt.name == "any" and rt.name != "any":
            lt = rt.item if node.op in ("in", "notin") and rt.item is not None else rt
        elif rt.name == "any" and lt.name != "any":
            rt = list_of(lt) if node.op in ("in", "notin") else lt
        elif lt.name == "any" and rt.name == "any":
            lt = rt = ANY
        result: tuple[Type, Any] | str = dynamic.any_op(node.op) if lt.name == "any" else binary(node.op, lt, rt)
        guessed = False
        if isinstance(result, str) and ANY in (left.type, right.type):
            # a side of unknown type (an untyped case field; a parameter, let or definition already reported)
            # was taken as the other side's type, a guess: '+' and '-' also join a datetime and a duration
            result, guessed = dynamic.any_op(node.op), True
        if isinstance(result, str):
            raise _err(PolicyTypeError, node, result)
        rtype, fn = result
        symbol = "not in" if node.op == "notin" else node.op
        # a side of type any taken as the other's: checked when it is read (not beside a time in '+' and '-', where
        # it may be a datetime or a duration, and the operator itself refuses anything else)
        if lt.name != "any" and not guessed and not (node.op in ("+", "-") and lt.name in _TIMES):
            left = dynamic.cast(left, dynamic.operand_type(lt), f"the left side of '{symbol}'")
            right = dynamic.cast(right, dynamic.operand_type(rt), f"the right side of '{symbol}'")
        if node.op == "+" and (rtype in (STRING, ANY) or rtype.name == "list") \
                and not (isinstance(left, ir.Const) and isinstance(right, ir.Const)):
            # (two constants, e.g. two parameter lists, join into a value of the policy's own size: nothing to
            # meter, and a join inside a quantifier must not spend the budget once per item)
            fn = concat_at(self.src(node), node.span.line, node.span.column)
            if rtype == ANY:
                fn = dynamic.no_bool(fn, "+")
        if node.op in ("in", "notin") and not _policy_sized(right):
            fn = scan_at(fn, (1,), self.src(node), node.span.line, node.span.column)  # (a list of the case: n items)
        return ir.Op(rtype, node.span, self.src(node), symbol, fn, (left, right), guard_zero=node.op == "/")

    def c_Cond(self, node: ast.Cond) -> ir.IR:
        test = self.expect_bool(node.test, "the condition of 'if'")
        then = self.run(node.then)
        other = self.run(node.other)
        for branch, ir_branch in ((node.then, then), (node.other, other)):
            if ir_branch.type == NULL:  # it would be Python's None, not unknown: wrong values later, or a crash
                raise _err(PolicyTypeError, branch,
                           "an 'if' branch cannot be null: give a value of the other branch's type (an unknown "
                           "comes from the case, not from the policy)")
        common = unify(then.type, other.type)
        if common is None:
            raise _err(PolicyTypeError, node,
                       f"the branches of 'if' have different types: {then.type} and {other.type}")
        # (a branch of type any: checked to be of the other's type)
        then = dynamic.cast(then, dynamic.operand_type(common), "the 'then' branch of 'if'")
        other = dynamic.cast(other, dynamic.operand_type(common), "the 'else' branch of 'if'")
        return ir.If(common, node.span, self.src(node), test, then, other)

    def c_Quant(self, node: ast.Quant) -> ir.IR:
        coll = self.run(node.collection)
        if coll.type.name not in ("list", "any"):
            raise _err(PolicyTypeError, node.collection,
                       f"'{node.kind}' needs a list after 'in', got {coll.type}")
        item = coll.type.item if coll.type.item is not None else ANY
        saved = self.scope.variables.get(node.var)
        self.scope.variables[node.var] = item
        try:
            if node.kind in ("any", "all", "count", "filter"):
                body = self.expect_bool(node.body, f"the body of '{node.kind}'")
                rtype = {"count": INT, "filter": list_of(item)}.get(node.kind, BOOL)
            elif node.kind == "collect":
                body = self.run(node.body)
                if body.type.name not in ("list", "any"):
                    raise _err(PolicyTypeError, node.body, f"'collect' gathers lists, got {body.type}")
                body = dynamic.cast(body, list_of(ANY), "the body of 'collect'")
                rtype = body.type if body.type.name == "list" else list_of(ANY)
            else:
                body = self.run(node.body)
                if not (is_number(body.type) or body.type in (MONEY, DURATION) or body.type.name == "any"):
                    raise _err(PolicyTypeError, node.body, f"'sum' adds numbers, money or durations, got {body.type}")
                rtype = body.type
                body = dynamic.cast(body, DECIMAL, "the body of 'sum'")  # (JSON holds no money or durations)
        finally:
            if saved is None:
                del self.scope.variables[node.var]
            else:
                self.scope.variables[node.var] = saved
        return ir.Quant(rtype, node.span, self.src(node), node.kind, node.var, coll, body)

    def c_ListLit(self, node: ast.ListLit) -> ir.IR:
        items = tuple(self.run(i) for i in node.items)
        item_type: Type | None = ANY
        for i, (it, raw) in enumerate(zip(items, node.items, strict=True)):
            if it.type == NULL:  # (Python's None in the list: a value to `in` and to functions, not unknown)
                raise _err(PolicyTypeError, raw, f"item {i + 1} of the list is null: a list written in a policy holds "
                           "values; leave the item out (a missing value in the case is tested with exists(...))")
            if (item_type := unify(item_type or ANY, it.type)) is None:
                raise _err(PolicyTypeError, raw, f"list items must have one type; found {items[0].type} and {it.type}")
        if item_type is not None and item_type.name != "any":  # (an item of type any: the others' type)
            want = dynamic.operand_type(item_type)
            items = tuple(dynamic.cast(it, want, f"item {i + 1} of the list") for i, it in enumerate(items))
        return ir.ListIR(list_of(item_type or ANY), node.span, self.src(node), items)

    def c_Call(self, node: ast.Call) -> ir.IR:
        fn = self.scope.functions.get(node.name)
        if fn is None:
            raise _unknown(PolicyNameError, node, f"unknown function '{node.name}'", node.name,
                           list(self.scope.functions.names()))
        args = tuple(_no_value(self.run(a)) for a in node.args)
        try:
            rtype = fn.result_type([a.type for a in args])
        except ArgumentError as exc:
            raise _err(PolicyTypeError, node.args[exc.index], str(exc)) from None
        except ValueError as exc:
            raise _err(PolicyTypeError, node, str(exc)) from None
        if fn.check_constant is not None:
            for i, a in enumerate(args):
                value = _constant_value(a)
                if value is not _NOT_CONSTANT:
                    try:
                        fn.check_constant(i, value)
                    except ValueError as exc:
                        raise _err(PolicyTypeError, node.args[i], str(exc)) from None
        impl = fn.impl
        if fn.typer is None:  # an argument of type any where the function declares a type: checked when it is read
            last = len(fn.params) - 1
            args = tuple(dynamic.cast(a, fn.params[min(i, last)], f"argument {i + 1} of {node.name}()")
                         for i, a in enumerate(args))
        elif (node.name in _UNIFYING and rtype.name not in ("any", "list")) or node.name in _CHECKED:
            # (an argument of type any where a generic core function took the others' type, or needs a kind of value)
            want = dynamic.operand_type(rtype) if node.name in _UNIFYING else _CHECKED[node.name]
            args = tuple(dynamic.cast(a, want, f"argument {i + 1} of {node.name}()") for i, a in enumerate(args))
        answers = bound = None
        held = [_constant_value(a) for a in args[1:]] if (bind := fn.bind) is not None else []
        if bind is not None and held and all(_bindable(v) for v in held):
            try:
                bound = bind(*held)  # (a partial application, made once: see Function.bind)
            except ValueError as exc:  # (as check_constant's: a constant the function cannot take)
                raise _err(PolicyTypeError, node, str(exc)) from None
            except Exception:  # noqa: BLE001, S110 - binding only saves work: the call stays unbound (bound is None)
                pass  # and fails where it runs, if it does
        if bound is not None:
            impl, answers = bound
        elif any(not _policy_sized(args[i]) for i in fn.scans if 0 < i < len(args)):
            # what is looked for (the words, the pattern) comes from the case: the work is a product of the
            # record's sizes. Looked for in the case's text, a policy's words cost work linear in the record,
            # as any function of the text does: not charged, so that the common call costs no more.
            impl = scan_at(impl, fn.scans, self.src(node), node.span.line, node.span.column, fn.scan_steps)
        return ir.Call(rtype, node.span, self.src(node), node.name, impl, args, fn.strict,
                       answers=answers if answers is not None and args[0].type.name == "string" else None)


_NOT_CONSTANT = object()


def _bindable(value: Any) -> bool:
    """Whether a constant argument is a value a function's ``bind`` is given: not unknown (a parameter declared
    without a value) or null, nor a list holding either (the call then stays unbound and runs as written)."""
    if value is _NOT_CONSTANT or value is UNKNOWN or value is None:
        return False
    return type(value) is not list or all(v is not None and v is not UNKNOWN for v in value)


def _no_value(arg: ir.IR) -> ir.IR:
    """A call's argument; a ``null`` written there as no value, unknown, as a null in the case is (Python's None
    would be a value the functions take for one: ``exists(null)`` was true, ``default(x, null) > 1`` an error)."""
    return ir.Const(NULL, arg.span, arg.text, UNKNOWN) if isinstance(arg, ir.Const) and arg.type == NULL else arg

_TIMES = frozenset({"datetime", "date", "duration"})
_UNIFYING = frozenset({"default", "max", "min"})  # (core functions whose result has their arguments' common type)
# (a value of type any given to these: what JSON value they take; abs takes no JSON money or duration)
_CHECKED = {"abs": DECIMAL, "len": dynamic.TEXT_OR_LIST}


def _policy_sized(node: ir.IR) -> bool:
    """Whether the size of ``node``'s value is written in the policy (a literal, a list written out, a parameter)."""
    return isinstance(node, (ir.Const, ir.ListIR, ir.DatedParam))


def _constant_value(node: ir.IR) -> Any:
    """The value of a constant argument: a constant, a list written of constants, or constant lists joined with
    ``+`` (two parameter lists, ``refusal_contexts + harmless_insult_contexts``, kept as two parameters so that
    each is seen as used)."""
    if isinstance(node, ir.Const):
        return node.value
    if isinstance(node, ir.ListIR):
        items = [item.value for item in node.items if isinstance(item, ir.Const)]
        if len(items) == len(node.items):
            return items
    if isinstance(node, ir.Op) and node.symbol == "+" and node.type.name == "list":
        parts = [_constant_value(a) for a in node.args]
        if all(isinstance(v, list) for v in parts):
            return [item for v in parts for item in v]
    return _NOT_CONSTANT


def check(node: ast.Node, scope: Scope, text: str) -> ir.IR:
    """Check one parsed condition in a scope; return its IR."""
    return _Checker(scope, text).run(node)

"""Compile checked IR to plain Python closures (the evaluation hot path).

Input: :mod:`policy_eval.lang.ir` nodes. Output: a callable ``f(case, env)``
returning the value (``UNKNOWN`` for a missing fact). ``case`` is the raw
JSON record; ``env`` maps quantifier variables (and ``"$ref"``, the case's
reference time) to values. No parsing, schema work or per-node dispatch on
strings happens at evaluation time: every decision was taken here, once.
"""

from __future__ import annotations

import bisect
import decimal
import itertools
import weakref
from collections.abc import Callable
from typing import Any

from policy_eval.errors import shown_repr
from policy_eval.lang import ir
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.quantifiers import quantifier
from policy_eval.lang.readers import ReadError
from policy_eval.lang.values import UNKNOWN

__all__ = ["compile_ir", "Compiled", "REF_TIME", "let_function", "let_key", "remember_let"]

Compiled = Callable[[dict[str, Any], dict[str, Any]], Any]
REF_TIME = "$ref"
_ZERO_ERRORS = (ZeroDivisionError, decimal.InvalidOperation)


def compile_ir(node: ir.IR) -> Compiled:
    fn = _COMPILERS[type(node)]
    compiled: Compiled = fn(node)
    return compiled


def _const(node: ir.Const) -> Compiled:
    value = node.value
    return lambda c, v: value


def _read(convert: Callable[[Any], Any] | None, path: str) -> Callable[[Any], Any]:
    if convert is None:
        return lambda raw: raw

    def read(raw: Any) -> Any:
        try:
            return convert(raw)
        except ReadError as exc:
            raise EvalFailure(f"{path}: {exc}", path) from None
    return read


def _field_chain(node: ir.Field) -> tuple[list[str], ir.IR | None]:
    keys = [node.key]
    base = node.base
    while isinstance(base, ir.Field) and base.convert is not None and base.type.name == "record":
        keys.append(base.key)
        base = base.base
    keys.reverse()
    return keys, base


def _field(node: ir.Field) -> Compiled:
    keys, base = _field_chain(node)
    read = _read(node.convert, node.text)
    path = node.text
    if base is None:
        get_root: Compiled = lambda c, v: c  # noqa: E731
    else:
        get_root = compile_ir(base)

    if len(keys) == 1:
        (k1,) = keys

        def f1(c: dict[str, Any], v: dict[str, Any]) -> Any:
            x = get_root(c, v)
            if x is UNKNOWN:
                return UNKNOWN
            if type(x) is not dict:
                raise EvalFailure(f"{path}: expected an object, got {shown_repr(x, 60)}", path)
            x = x.get(k1)
            return UNKNOWN if x is None else read(x)
        return f1

    if len(keys) == 2 and base is None:
        k1, k2 = keys

        def f2(c: dict[str, Any], v: dict[str, Any]) -> Any:
            x = c.get(k1)
            if x is None:
                return UNKNOWN
            if type(x) is not dict:
                raise EvalFailure(f"{path}: expected an object at '{k1}', got {shown_repr(x, 60)}", path)
            x = x.get(k2)
            return UNKNOWN if x is None else read(x)
        return f2

    def fn(c: dict[str, Any], v: dict[str, Any]) -> Any:
        x = get_root(c, v)
        for k in keys:
            if x is UNKNOWN or x is None:
                return UNKNOWN
            if type(x) is not dict:
                raise EvalFailure(f"{path}: expected an object before '{k}', got {shown_repr(x, 60)}", path)
            x = x.get(k)
        return UNKNOWN if x is None or x is UNKNOWN else read(x)
    return fn


def _index(node: ir.Index) -> Compiled:
    base = compile_ir(node.base)
    idx = compile_ir(node.index)
    path = node.text

    def f(c: dict[str, Any], v: dict[str, Any]) -> Any:
        seq = base(c, v)
        i = idx(c, v)  # (both computed before either is looked at, as the interpreter does)
        if seq is UNKNOWN or i is UNKNOWN:
            return UNKNOWN
        if type(seq) is not list:
            raise EvalFailure(f"{path}: expected a list, got {shown_repr(seq, 60)}", path)
        if not -len(seq) <= i < len(seq):
            return UNKNOWN
        x = seq[i]
        return UNKNOWN if x is None else x
    return f


def _var(node: ir.Var) -> Compiled:
    name = node.name
    return lambda c, v: v[name]


def _dated(node: ir.DatedParam) -> Compiled:
    starts, values, name = node.starts, node.values, node.name

    def f(c: dict[str, Any], v: dict[str, Any]) -> Any:
        ref = v.get(REF_TIME, UNKNOWN)
        if ref is UNKNOWN:
            return UNKNOWN
        i = bisect.bisect_right(starts, ref) - 1
        if i < 0:
            raise EvalFailure(f"parameter '{name}' has no value before {starts[0].isoformat()}")
        return values[i]
    return f


# A let-binding is compiled once, when it is defined (see remember_let), and every use calls that one
# function, which computes the value once per case and keeps it in the environment under a key of
# its own: a chain of lets that each use the previous one twice costs its length, not 2**length.
_LETS: weakref.WeakKeyDictionary[ir.IR, Compiled] = weakref.WeakKeyDictionary()
_KEYS: weakref.WeakKeyDictionary[ir.IR, str] = weakref.WeakKeyDictionary()  # each let's key in the environment
_LET_KEYS = itertools.count()


def remember_let(target: ir.IR, fn: Compiled) -> Compiled:
    """Make ``fn`` (the compiled ``target``) the function every reference to ``target`` calls, memoised per case."""
    key = f"$let{next(_LET_KEYS)}"

    def let(c: dict[str, Any], v: dict[str, Any]) -> Any:
        # the value is kept with the case and reference time it was computed for: a caller may reuse one
        # environment for many cases (run.metrics does), and must then not get the first case's value
        kept = v.get(key)
        ref = v.get(REF_TIME)
        if kept is not None and kept[0] is c and kept[1] is ref:
            return kept[2]
        value = fn(c, v)
        v[key] = (c, ref, value)
        return value
    _LETS[target] = let
    _KEYS[target] = key
    return let


def let_key(target: ir.IR) -> str:
    """The environment key under which :func:`let_function`'s function keeps ``target``'s value for a case: code
    that computed the value some other way (lang.fusion) stores it there as ``(case, reference time, value)``."""
    let_function(target)
    return _KEYS[target]


def let_function(target: ir.IR) -> Compiled:
    """The memoised function of a let-binding's expression (compiled now if it was not yet)."""
    fn = _LETS.get(target)
    return fn if fn is not None else remember_let(target, compile_ir(target))


def _let(node: ir.LetRef) -> Compiled:
    return let_function(node.expr)


def _op(node: ir.Op) -> Compiled:
    op = node.fn
    path = node.text
    if len(node.args) == 1:
        a_f = compile_ir(node.args[0])

        def unary(c: dict[str, Any], v: dict[str, Any]) -> Any:
            a = a_f(c, v)
            if a is UNKNOWN:
                return UNKNOWN
            try:
                return op(a)
            except OverflowError as exc:
                raise EvalFailure(f"{path}: out of range: {exc}", path) from None
            except TypeError as exc:  # (a value of type any that is not a number: as the interpreter words it)
                raise EvalFailure(f"{path}: {exc}", path) from None
        return unary
    lf, rf = compile_ir(node.args[0]), compile_ir(node.args[1])
    if node.guard_zero:
        def div(c: dict[str, Any], v: dict[str, Any]) -> Any:
            a = lf(c, v)
            b = rf(c, v)  # (every operand computed before any is looked at, as the interpreter does)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            try:
                return op(a, b)
            except _ZERO_ERRORS:
                return UNKNOWN
            except OverflowError as exc:
                raise EvalFailure(f"{path}: out of range: {exc}", path) from None
            except TypeError as exc:  # (values of type any that do not divide: as the interpreter words it)
                raise EvalFailure(f"{path}: {exc}", path) from None
        return div
    if isinstance(node.args[1], ir.Const):
        const = node.args[1].value

        def with_const(c: dict[str, Any], v: dict[str, Any]) -> Any:
            a = lf(c, v)
            if a is UNKNOWN:
                return UNKNOWN
            try:
                return op(a, const)
            except (TypeError, OverflowError) as exc:
                raise EvalFailure(f"{path}: {exc}", path) from None
        return with_const

    def binary(c: dict[str, Any], v: dict[str, Any]) -> Any:
        a = lf(c, v)
        b = rf(c, v)  # (every operand computed before any is looked at: a data error in b is the answer's)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        try:
            return op(a, b)
        except (TypeError, OverflowError) as exc:  # out-of-range dates, or data that slipped past the schema
            raise EvalFailure(f"{path}: {exc}", path) from None
    return binary


def _junction(node: ir.And | ir.Or) -> Compiled:
    """``and`` stops at the first false side, ``or`` at the first true one; else unknown wins (Kleene)."""
    lf, rf = compile_ir(node.left), compile_ir(node.right)
    decisive = isinstance(node, ir.Or)

    def f(c: dict[str, Any], v: dict[str, Any]) -> Any:
        a = lf(c, v)
        if a is decisive:
            return decisive
        b = rf(c, v)
        if b is decisive:
            return decisive
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        return not decisive
    return f


def _not(node: ir.Not) -> Compiled:
    of = compile_ir(node.operand)

    def f(c: dict[str, Any], v: dict[str, Any]) -> Any:
        a = of(c, v)
        return UNKNOWN if a is UNKNOWN else not a
    return f


def _if(node: ir.If) -> Compiled:
    tf, af, bf = compile_ir(node.test), compile_ir(node.then), compile_ir(node.other)

    def f(c: dict[str, Any], v: dict[str, Any]) -> Any:
        t = tf(c, v)
        if t is True:
            return af(c, v)
        if t is False:
            return bf(c, v)
        return UNKNOWN
    return f


def _call(node: ir.Call) -> Compiled:
    fn, strict, path = node.fn, node.strict, node.text
    arg_fs = tuple(compile_ir(a) for a in node.args)

    def call(c: dict[str, Any], v: dict[str, Any]) -> Any:
        args = [a(c, v) for a in arg_fs]
        if strict:
            for a in args:
                if a is UNKNOWN:
                    return UNKNOWN
        try:
            return fn(*args)
        except EvalFailure:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:  # ArithmeticError covers OverflowError
            raise EvalFailure(f"{path}: {exc}", path) from None
    if len(arg_fs) == 1 and strict:
        (a_f,) = arg_fs

        def call1(c: dict[str, Any], v: dict[str, Any]) -> Any:
            a = a_f(c, v)
            if a is UNKNOWN:
                return UNKNOWN
            try:
                return fn(a)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise EvalFailure(f"{path}: {exc}", path) from None
        return call1
    # (two and three arguments, strict: what ``call`` does, every argument computed before any is looked at,
    # without its list and loop; most calls in a quantifier's body, which runs once an item)
    if len(arg_fs) == 2 and strict:
        a_f, b_f = arg_fs

        def call2(c: dict[str, Any], v: dict[str, Any]) -> Any:
            a = a_f(c, v)
            b = b_f(c, v)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            try:
                return fn(a, b)
            except EvalFailure:
                raise
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise EvalFailure(f"{path}: {exc}", path) from None
        return call2
    if len(arg_fs) == 3 and strict:
        a_f, b_f, c_f = arg_fs

        def call3(c: dict[str, Any], v: dict[str, Any]) -> Any:
            a = a_f(c, v)
            b = b_f(c, v)
            d = c_f(c, v)
            if a is UNKNOWN or b is UNKNOWN or d is UNKNOWN:
                return UNKNOWN
            try:
                return fn(a, b, d)
            except EvalFailure:
                raise
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise EvalFailure(f"{path}: {exc}", path) from None
        return call3
    return call


def _list(node: ir.ListIR) -> Compiled:
    fs = tuple(compile_ir(i) for i in node.items)
    consts = [i for i in node.items if isinstance(i, ir.Const)]
    if len(consts) == len(node.items):
        value = [i.value for i in consts]
        return lambda c, v: value
    return lambda c, v: [f(c, v) for f in fs]


_COMPILERS: dict[type, Callable[[Any], Compiled]] = {
    ir.Const: _const, ir.Field: _field, ir.Index: _index, ir.Var: _var, ir.DatedParam: _dated,
    ir.LetRef: _let, ir.Op: _op, ir.And: _junction, ir.Or: _junction, ir.Not: _not, ir.If: _if, ir.Quant: lambda node: quantifier(node, compile_ir),
    ir.Call: _call, ir.ListIR: _list,
}

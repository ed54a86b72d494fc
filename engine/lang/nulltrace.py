"""Generated code for the null reading with its blame: what :func:`~policy_eval.lang.interpreter.interpret_nulls`
finds, for a trace without steps.

A rule that an explicit null decides is undetermined, its reason naming the null paths its unknown value comes
from and its ``missing`` every path it comes from. :mod:`policy_eval.lang.nullcode` says whether a rule is so
decided; this module words it: each condition (and each let-binding) gets a function, generated once on first
use from the templates of :mod:`policy_eval.lang.tracecode` (value and blame locals, the interpreter's order of
evaluation and exceptions), with the interpreter's null reading added: a null read from the root through fields,
or any field under one, is recorded in the reading's ``nulls``; an operator's or a strict call's unknown value
blames only its missing operands when it has some (``_Interp.strict``); a non-strict call of a null-dependent
argument is unknown, blaming that argument. What the templates do not spell (quantifiers, indexing, dated
parameters, fields read through an item or an expression) is handed to the interpreter itself, sharing the
trace, the let values and the nulls found. ``tests/test_nulltrace.py`` compares it with ``interpret_nulls``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from policy_eval.errors import shown_repr
from policy_eval.lang import ir
from policy_eval.lang.budget import BudgetExceeded
from policy_eval.lang.codecache import code_for
from policy_eval.lang.interpreter import Reading, Trace, _Interp, _merge, interpret_nulls
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.tracecode import _NAMESPACE, MAX_SOURCE
from policy_eval.lang.tracecode import _Gen as _TraceGen
from policy_eval.lang.values import UNKNOWN

__all__ = ["traced_nulls"]

# (case, env, trace, reading) -> (value, blame, null blame): interpret_nulls(node, case, env, trace, reading)
TracedNulls = Callable[[dict[str, Any], dict[str, Any], Trace, Reading], "tuple[Any, tuple[str, ...], tuple[str, ...]]"]

_TRACED: weakref.WeakKeyDictionary[ir.IR, TracedNulls] = weakref.WeakKeyDictionary()
_LETS: weakref.WeakKeyDictionary[ir.IR, Callable[..., tuple[Any, tuple[str, ...]]]] = weakref.WeakKeyDictionary()

Blame = tuple[str, ...]


def _interp(case: dict[str, Any], env: dict[str, Any], trace: Trace, lets: dict[int, Any], nulls: set[str]
            ) -> tuple[_Interp, dict[str, tuple[Any, str]]]:
    """The interpreter a handed-over node runs in: the same trace, let values and nulls found."""
    return _Interp(case, trace, Reading(lets, nulls)), {k: (v, k) for k, v in env.items()}


def _absent(base: Any, base_blame: Blame, node: ir.Field, path: str, reads: dict[str, Any], nulls: set[str],
            rooted: bool) -> tuple[Any, Blame]:
    """A field whose base is unknown, not an object, or has no value there: the interpreter's ``_field`` with
    nulls read as unknown."""
    if base is UNKNOWN:
        if nulls and any(p in nulls for p in base_blame):
            nulls.add(path)  # under a null: unknown too
        return UNKNOWN, (path,) if base_blame else ()
    if not isinstance(base, dict):
        raise EvalFailure(f"{node.text}: expected an object, got {shown_repr(base, 60)}", node.text)
    raw = base.get(node.key)
    if raw is None:
        if rooted and node.key in base:
            nulls.add(path)  # an explicit null: unknown, not absent
        return UNKNOWN, (path,)
    value = _Interp.read(node, raw)
    if node.type.name not in ("record", "list"):
        reads[path] = value
    return value, ()


def _strict(nulls: set[str], *pairs: tuple[Any, Blame]) -> Blame:
    """The blame of a value unknown because some operands are (``_Interp.strict`` over the unknown ones): the
    missing operands' alone when there are some."""
    blames = [b for v, b in pairs if v is UNKNOWN]
    if nulls:
        missing = [b for b in blames if nulls.isdisjoint(b)]
        if missing:
            return _merge(*missing)
    return _merge(*blames)


def _hidden(nulls: set[str], *pairs: tuple[Any, Blame]) -> Blame:
    """A non-strict call's blame when an argument it considers is null-dependent (else ``()``)."""
    if not nulls:
        return ()
    found = [b for v, b in pairs if v is UNKNOWN and not nulls.isdisjoint(b)]
    return _merge(*found) if found else ()


_DATA_ERRORS = (EvalFailure, ArithmeticError, BudgetExceeded)  # (what the interpreter raises too)

_NULL_NAMESPACE: dict[str, Any] = {**_NAMESPACE, "_mk": _interp, "_absent": _absent, "_strict": _strict,
                                   "_hidden": _hidden}


class _Gen(_TraceGen):
    """tracecode's templates with the null reading (``NS``: the reading's nulls)."""

    rooted = False  # (the field chain being spelled is read from the case root)

    made_with = "c, e, T, L, NS"

    def g_Field(self, node: ir.Field, ind: int) -> tuple[str, str]:
        root: ir.IR | None = node
        while isinstance(root, ir.Field):
            root = root.base
        self.rooted = root is None
        return super().g_Field(node, ind)

    def absent(self, base: str, base_blame: str, node: ir.Field, p: str) -> str:
        return f"_absent({base}, {base_blame}, {self.node(node)}, {p}, R, NS, {self.rooted})"

    def let_of(self, expr: ir.IR) -> Callable[..., tuple[Any, Blame]]:
        return let_function(expr)

    def strict_blame(self, pairs: list[tuple[str, str]]) -> str:
        return f"_strict(NS, {', '.join(f'({v}, {b})' for v, b in pairs)})"

    def before_call(self, node: ir.Op | ir.Call, pairs: list[tuple[str, str]], val: str, bl: str, ind: int) -> int:
        if not isinstance(node, ir.Call):
            return ind
        considered = pairs[:1] if node.name == "default" else pairs  # (interpreter.e_Call: a null-dependent
        h = f"_h{self.n}"  # argument decides first)
        self.put(ind, f"{h} = _hidden(NS, {', '.join(f'({v}, {b})' for v, b in considered)})")
        self.put(ind, f"if {h}:")
        self.put(ind + 1, f"{val}, {bl} = U, {h}")
        self.put(ind, "else:")
        return ind + 1


def generate(node: ir.IR, gen: _Gen | None = None) -> tuple[str, dict[str, Any]]:
    """The source of ``def _f(c, e, T, L, NS)`` returning ``(value, blame)`` as the interpreter's ``ev`` does with
    a :class:`~policy_eval.lang.interpreter.Reading` (``L``: its let values; ``NS``: its nulls), and its
    namespace. ``gen``: the templates (lang.nullsteps' make steps too)."""
    gen = gen if gen is not None else _Gen()
    val, bl = gen.ev(node, 1)
    head = ["def _f(c, e, T, L, NS):", " R = T.reads", " _S = T.steps", " _I = _W = None"]
    source = "\n".join(head + gen.lines + [f" return ({val}, {bl})"]) + "\n"
    namespace = dict(_NULL_NAMESPACE)
    namespace.update({f"_k{i}": k for i, k in enumerate(gen.K)})
    return source, namespace


Make = Callable[[ir.IR], tuple[str, dict[str, Any]]]


def _compile(node: ir.IR, make: Make = generate) -> Callable[..., tuple[Any, Blame]] | None:
    try:
        source, namespace = make(node)
        if len(source) > MAX_SOURCE:
            return None
        exec(code_for(source, "<policy-eval: null trace>"), namespace)  # noqa: S102 - fixed templates
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # too deep or too large: the interpreter
        return None
    fn: Callable[..., tuple[Any, Blame]] = namespace["_f"]
    return fn


def _by_interpreter(node: ir.IR) -> Callable[..., tuple[Any, Blame]]:
    held = weakref.ref(node)  # (weakly: see tracecode._Gen.node)

    def ev(c: dict[str, Any], e: dict[str, Any], t: Trace, lets: dict[int, Any], nulls: set[str]
           ) -> tuple[Any, Blame]:
        interp, wrapped = _interp(c, e, t, lets, nulls)
        target = held()
        assert target is not None  # (reached through a weak dictionary that holds it while it lives)
        out: tuple[Any, Blame] = interp.ev(target, wrapped)
        return out
    return ev


def let_function(expr: ir.IR, cache: Any = _LETS, make: Make = generate) -> Callable[..., tuple[Any, Blame]]:
    """``(case, env, trace, lets, nulls) -> (value, blame)`` of a let-binding's expression, as the interpreter's
    ``ev`` with nulls read as unknown (``cache`` and ``make``: lang.nullsteps', for a trace with steps)."""
    fn = cache.get(expr)
    if fn is None:
        fn = cache[expr] = _compile(expr, make) or _by_interpreter(expr)
    return fn


def _interpreted(node: ir.IR) -> TracedNulls:
    held = weakref.ref(node)  # (weakly: see tracecode._Gen.node)

    def fn(c: dict[str, Any], e: dict[str, Any], t: Trace, reading: Reading) -> tuple[Any, Blame, Blame]:
        target = held()
        assert target is not None  # (reached through _TRACED, which holds it while it lives)
        return interpret_nulls(target, c, e, t, reading)
    return fn


def _wrapped(node: ir.IR, made: Callable[..., tuple[Any, Blame]]) -> TracedNulls:
    held = weakref.ref(node)

    def fn(c: dict[str, Any], e: dict[str, Any], t: Trace, reading: Reading) -> tuple[Any, Blame, Blame]:
        steps = len(t.steps)
        try:
            value, blame = made(c, e, t, reading.lets, reading.nulls)
        except _DATA_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - generated code is an optimisation: the interpreter decides
            target = held()
            assert target is not None
            del t.steps[steps:]  # (what it recorded before failing: the interpreter records it again)
            return interpret_nulls(target, c, e, t, Reading())
        for path in blame:
            t.add_missing(path)
        nulls = reading.nulls
        return value, blame, tuple(p for p in blame if p in nulls) if nulls else ()
    return fn


def traced_nulls(node: ir.IR, cache: Any = _TRACED, make: Make = generate) -> TracedNulls:
    """``interpret_nulls(node, case, env, trace, reading)`` for a trace without steps, as generated code (made on
    the first call for this node, then kept; the interpreter itself for a condition too large or deep for it).
    ``cache`` and ``make``: lang.nullsteps', for a trace with steps."""
    fn = cache.get(node)
    if fn is None:
        made = _compile(node, make)
        fn = cache[node] = _interpreted(node) if made is None else _wrapped(node, made)
    return fn

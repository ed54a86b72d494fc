"""Generated code for a trace without steps: the missing paths and the values read, as the interpreter finds them.

An undetermined verdict names the case paths that were missing, and shows the values its rule read. The
reference interpreter (:mod:`policy_eval.lang.interpreter`) finds both by walking the checked tree, at
several times the cost of the rule's own condition. Here each condition (and each let-binding) gets a
Python function, generated once on first use from fixed templates over the checked IR (never policy
text: constants and functions are bound by index as ``_kN``), that does what ``interpret(node, case, env,
trace, lets)`` does for a ``Trace(explain=False)``: the same value, the same ``trace.missing`` (each
path once, in the order its blame names them) and the same ``trace.reads`` (same paths, values and
insertion order, up to the point where an error stops the walk), the same let values in ``lets``
(shared with the interpreter's own ``(value, blame)`` pairs) and the same budget charges.

Each node becomes statements that set a value local and a blame local (the paths an unknown value
comes from; ``()`` when it is known), in the interpreter's order of evaluation, with its exceptions.
Quantifiers, indexing, dated parameters and fields read through anything but the case root or an
environment variable are handed to an ``_Interp`` sharing the trace and the let values: they record,
charge and fail as the interpreter does because they are the interpreter. No steps are made: a trace
with steps (an explanation) is still the interpreter's.
"""

from __future__ import annotations

import decimal
import weakref
from collections.abc import Callable
from typing import Any

from policy_eval.errors import shown_repr
from policy_eval.lang import ir, readers
from policy_eval.lang.codecache import code_for
from policy_eval.lang.interpreter import Trace, _Interp, _merge, interpret
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.readers import ReadError
from policy_eval.lang.values import UNKNOWN

__all__ = ["traced", "trace_without_steps", "generate", "MAX_SOURCE"]

MAX_SOURCE = 50_000

# (case, env, trace, lets) -> value: interpret(node, case, env, trace, lets) for a trace without steps
Traced = Callable[[dict[str, Any], dict[str, Any], Trace, dict[int, Any]], Any]

_TRACED: weakref.WeakKeyDictionary[ir.IR, Traced] = weakref.WeakKeyDictionary()
_LETS: weakref.WeakKeyDictionary[ir.IR, Callable[..., tuple[Any, tuple[str, ...]]]] = weakref.WeakKeyDictionary()


def _interp(case: dict[str, Any], env: dict[str, Any], trace: Trace, lets: dict[int, Any]
            ) -> tuple[_Interp, dict[str, tuple[Any, str]]]:
    """The interpreter a handed-over node runs in: the same trace and let values, the environment as
    :func:`~policy_eval.lang.interpreter.interpret` wraps it."""
    interp = _Interp(case, trace)
    interp.lets = lets
    return interp, {k: (v, k) for k, v in env.items()}


# readers that return a raw value of this exact type as it is (readers._record, readers._list_raw): read inline
_IDENTITY: dict[Callable[[Any], Any], str] = {readers._record: "_dict", readers._list_raw: "_list"}

def _absent(base: Any, base_blame: tuple[str, ...], node: ir.Field, path: str, reads: dict[str, Any]
            ) -> tuple[Any, tuple[str, ...]]:
    """A field whose base is unknown, not an object, or has no value there (the interpreter's ``_field``
    without nulls read as unknown): its value and blame."""
    if base is UNKNOWN:
        return UNKNOWN, (path,) if base_blame else ()  # the leaf that was asked for, not only the parent
    if not isinstance(base, dict):
        raise EvalFailure(f"{node.text}: expected an object, got {shown_repr(base, 60)}", node.text)
    raw = base.get(node.key)
    if raw is None:
        return UNKNOWN, (path,)
    value = _Interp.read(node, raw)
    if node.type.name not in ("record", "list"):
        reads[path] = value
    return value, ()


_NAMESPACE: dict[str, Any] = {
    "__builtins__": {}, "U": UNKNOWN, "_merge": _merge, "_mk": _interp, "_absent": _absent, "_EF": EvalFailure, "_ReadError": ReadError,
    "_type": type, "_dict": dict, "_list": list, "_ZeroDivisionError": ZeroDivisionError,
    "_InvalidOperation": decimal.InvalidOperation, "_TypeError": TypeError, "_OverflowError": OverflowError,
    "_ValueError": ValueError, "_ArithmeticError": ArithmeticError,
}


class _Gen:
    """The statements of one function; :meth:`ev` returns the names of a node's value and blame."""

    def __init__(self) -> None:
        self.K: list[Any] = []
        self.lines: list[str] = []
        self.n = 0

    def const(self, value: Any) -> str:
        for i, known in enumerate(self.K):
            if known is value:
                return f"_k{i}"
        self.K.append(value)
        return f"_k{len(self.K) - 1}"

    def node(self, node: ir.IR) -> str:
        """Code for an IR node, held weakly: the function is kept in a dictionary weakly keyed by its
        condition, which it must not keep alive (the node lives as long as the rulebook that calls it)."""
        return f"{self.const(weakref.ref(node))}()"

    def tmp(self) -> tuple[str, str]:
        self.n += 1
        return f"_v{self.n}", f"_b{self.n}"

    def put(self, ind: int, line: str) -> None:
        self.lines.append(" " * ind + line)  # a space a level: a deep condition's source stays small

    def ev(self, node: ir.IR, ind: int) -> tuple[str, str]:
        """Statements at indent ``ind`` that set the node's value and its blame (``()`` when known)."""
        method = getattr(self, "g_" + type(node).__name__, None)
        if method is None:
            return self.delegate(node, ind)
        out: tuple[str, str] = method(node, ind)
        return out

    made_with = "c, e, T, L"  # (what ``_mk`` is called with: the names the generated function has)

    def delegate(self, node: ir.IR, ind: int) -> tuple[str, str]:
        """The interpreter's own ``ev`` of the node (sharing trace and let values)."""
        val, bl = self.tmp()
        self.put(ind, "if _I is None:")
        self.put(ind + 1, f"_I, _W = _mk({self.made_with})")
        self.put(ind, f"{val}, {bl} = _I.ev({self.node(node)}, _W)")
        return val, bl

    def g_Const(self, node: ir.Const, ind: int) -> tuple[str, str]:
        return ("U" if node.value is UNKNOWN else self.const(node.value)), "()"

    def g_Var(self, node: ir.Var, ind: int) -> tuple[str, str]:
        val, bl = self.tmp()
        name = self.const(node.name)
        self.put(ind, f"{val} = e[{name}]")
        self.put(ind, f"{bl} = ({name},) if {val} is U else ()")
        return val, bl

    def g_Field(self, node: ir.Field, ind: int) -> tuple[str, str]:
        chain: list[ir.Field] = []
        root: ir.IR | None = node
        while isinstance(root, ir.Field):
            chain.append(root)
            root = root.base
        if root is not None and not isinstance(root, ir.Var):
            return self.delegate(node, ind)  # read through an item, an index or an expression: its path is
        if root is None:
            val, bl, path = "c", "()", None
        else:
            val, bl = self.g_Var(root, ind)
            path = root.name
        for f in reversed(chain):
            path = f.key if path is None else (f"{path}.{f.key}" if path else f.key)
            val, bl = self.step(f, val, bl, path, ind)
        return val, bl

    def step(self, node: ir.Field, base: str, base_blame: str, path: str, ind: int) -> tuple[str, str]:
        """One field of a chain (the interpreter's ``field``), its base's value in ``base``: present, read
        here; anything else (an unknown base, not an object, no value) by :func:`_absent`."""
        val, bl = self.tmp()
        raw = f"_r{self.n}"
        key, p, text = self.const(node.key), self.const(path), self.const(node.text)
        self.put(ind, f"if _type({base}) is _dict and ({raw} := {base}.get({key})) is not None:")
        self.read(node, val, bl, raw, p, text, ind + 1)
        self.put(ind, "else:")
        self.put(ind + 1, f"{val}, {bl} = {self.absent(base, base_blame, node, p)}")
        return val, bl

    def absent(self, base: str, base_blame: str, node: ir.Field, p: str) -> str:
        """The call that reads a field whose base is unknown, not an object, or has no value there."""
        return f"_absent({base}, {base_blame}, {self.node(node)}, {p}, R)"

    def read(self, node: ir.Field, val: str, bl: str, raw: str, p: str, text: str, ind: int) -> None:
        exact = _IDENTITY.get(node.convert) if node.convert is not None else None
        if node.convert is None:
            self.put(ind, f"{val} = {raw}")
        elif exact is not None:  # the reader returns an object or a list as it is, and raises on anything else
            self.put(ind, f"if _type({raw}) is {exact}:")
            self.put(ind + 1, f"{val} = {raw}")
            self.put(ind, "else:")
            self.put(ind + 1, "try:")
            self.put(ind + 2, f"{val} = {self.const(node.convert)}({raw})")
            self.put(ind + 1, "except _ReadError as _x:")
            self.put(ind + 2, f'raise _EF(f"{{{text}}}: {{_x}}", {text}) from None')
        else:
            self.put(ind, "try:")
            self.put(ind + 1, f"{val} = {self.const(node.convert)}({raw})")
            self.put(ind, "except _ReadError as _x:")
            self.put(ind + 1, f'raise _EF(f"{{{text}}}: {{_x}}", {text}) from None')
        if node.type.name not in ("record", "list"):
            self.put(ind, f"R[{p}] = {val}")
        self.put(ind, f"{bl} = ()")

    def let_of(self, expr: ir.IR) -> Callable[..., tuple[Any, tuple[str, ...]]]:
        """The function a let-binding's value comes from (called with :attr:`made_with`)."""
        return let_function(expr)

    def g_LetRef(self, node: ir.LetRef, ind: int) -> tuple[str, str]:
        val, bl = self.tmp()
        key, fn = self.const(id(node.expr)), self.const(self.let_of(node.expr))
        self.put(ind, f"{val} = L.get({key})")
        self.put(ind, f"if {val} is None:")
        self.put(ind + 1, f"{val} = L[{key}] = {fn}({self.made_with})")
        self.put(ind, f"{val}, {bl} = {val}")
        return val, bl

    def g_Op(self, node: ir.Op, ind: int) -> tuple[str, str]:
        val, bl, pairs, ind = self.applied(node, True, ind)
        text = self.const(node.text)
        self.put(ind, "except (_ZeroDivisionError, _InvalidOperation):")
        self.put(ind + 1, f"{val} = U" if node.guard_zero else "raise")
        self.put(ind, "except (_TypeError, _OverflowError) as _x:")
        self.put(ind + 1, f'raise _EF(f"{{{text}}}: {{_x}}", {text}) from None')
        self.put(ind, f"{bl} = ()")
        return val, bl

    def applied(self, node: ir.Op | ir.Call, strict: bool, ind: int) -> tuple[str, str, list[tuple[str, str]], int]:
        """An operator's or a function's arguments evaluated, then (``strict``) unknown if one of them is, else
        the call opened in a ``try:`` whose handlers the caller writes: (value, blame, the arguments' value
        and blame, the indent of the handlers)."""
        pairs = [self.ev(a, ind) for a in node.args]
        val, bl = self.tmp()
        tests = [f"{v} is U" for v, _ in pairs if v.startswith("_v") or v == "U"]
        if strict and tests:
            self.put(ind, f"if {' or '.join(tests)}:")
            self.put(ind + 1, f"{val} = U")
            self.put(ind + 1, f"{bl} = {self.strict_blame(pairs)}")
            self.put(ind, "else:")
            ind += 1
        if tests:
            ind = self.before_call(node, pairs, val, bl, ind)
        self.put(ind, "try:")
        self.put(ind + 1, f"{val} = {self.const(node.fn)}({', '.join(v for v, _ in pairs)})")
        return val, bl, pairs, ind

    def strict_blame(self, pairs: list[tuple[str, str]]) -> str:
        """The blame of a strict operator or call some of whose arguments are unknown."""
        return f"_merge({', '.join(b for _, b in pairs)})"

    def before_call(self, node: ir.Op | ir.Call, pairs: list[tuple[str, str]], val: str, bl: str, ind: int) -> int:
        """Statements between the unknown test and the call (none here), and the indent the call goes at."""
        return ind

    def g_And(self, node: ir.And, ind: int) -> tuple[str, str]:
        return self.junction(node, "False", "True", ind)

    def g_Or(self, node: ir.Or, ind: int) -> tuple[str, str]:
        return self.junction(node, "True", "False", ind)

    def junction(self, node: ir.And | ir.Or, decisive: str, other: str, ind: int) -> tuple[str, str]:
        a, ab = self.ev(node.left, ind)
        val, bl = self.tmp()
        self.put(ind, f"if {a} is {decisive}:")
        self.put(ind + 1, f"{val} = {decisive}")
        self.put(ind + 1, f"{bl} = ()")
        self.put(ind, "else:")
        b, bb = self.ev(node.right, ind + 1)
        self.put(ind + 1, f"if {b} is {decisive}:")
        self.put(ind + 2, f"{val} = {decisive}")
        self.put(ind + 2, f"{bl} = ()")
        self.put(ind + 1, f"elif {a} is U or {b} is U:")
        self.put(ind + 2, f"{val} = U")
        self.put(ind + 2, f"{bl} = _merge({ab}, {bb})")
        self.put(ind + 1, "else:")
        self.put(ind + 2, f"{val} = {other}")
        self.put(ind + 2, f"{bl} = ()")
        return val, bl

    def g_Not(self, node: ir.Not, ind: int) -> tuple[str, str]:
        a, ab = self.ev(node.operand, ind)
        val, bl = self.tmp()
        self.put(ind, f"{val}, {bl} = (U, {ab}) if {a} is U else (not {a}, ())")
        return val, bl

    def g_If(self, node: ir.If, ind: int) -> tuple[str, str]:
        t, tb = self.ev(node.test, ind)
        val, bl = self.tmp()
        self.put(ind, f"if {t} is U:")
        self.put(ind + 1, f"{val}, {bl} = U, {tb}")
        for word, branch in (("elif " + t, node.then), ("else", node.other)):
            self.put(ind, word + ":")
            v, b = self.ev(branch, ind + 1)
            self.put(ind + 1, f"{val}, {bl} = {v}, {b}")
        return val, bl

    def g_Call(self, node: ir.Call, ind: int) -> tuple[str, str]:
        val, bl, pairs, ind = self.applied(node, node.strict, ind)
        blames = ", ".join(b for _, b in pairs)
        text = self.const(node.text)
        self.put(ind, "except _EF:")
        self.put(ind + 1, "raise")
        self.put(ind, "except (_ValueError, _TypeError, _ArithmeticError) as _x:")
        self.put(ind + 1, f'raise _EF(f"{{{text}}}: {{_x}}", {text}) from None')
        # a non-strict function's unknown result comes from its unknown arguments (a known one's blame is ())
        self.put(ind, f"{bl} = _merge({blames}) if {val} is U else ()")
        return val, bl

    def g_ListIR(self, node: ir.ListIR, ind: int) -> tuple[str, str]:
        values = [self.ev(i, ind)[0] for i in node.items]
        val, bl = self.tmp()
        self.put(ind, f"{val}, {bl} = [{', '.join(values)}], ()")
        return val, bl


def generate(node: ir.IR, let: bool = False, gen: _Gen | None = None) -> tuple[str, dict[str, Any]]:
    """The source of ``def _f(c, e, T, L)`` and its namespace. A condition's function returns the value and
    adds its blame to ``T.missing`` (as :func:`~policy_eval.lang.interpreter.interpret`); a let-binding's
    (``let``) returns ``(value, blame)``, which its caller keeps in ``L``. ``gen``: the templates (lang.stepcode's
    make steps too)."""
    gen = gen if gen is not None else _Gen()
    val, bl = gen.ev(node, 1)
    head = ["def _f(c, e, T, L):", " R = T.reads", " _S = T.steps", " _I = _W = None"]
    if let:
        tail = [f" return ({val}, {bl})"]
    else:
        tail = [f" if {val} is U:", f"  for _p in {bl}:", "   T.add_missing(_p)", f" return {val}"]
    source = "\n".join(head + gen.lines + tail) + "\n"
    namespace = dict(_NAMESPACE)
    namespace.update({f"_k{i}": k for i, k in enumerate(gen.K)})
    return source, namespace


def _compile(node: ir.IR, let: bool, make: Callable[..., tuple[str, dict[str, Any]]] = generate
             ) -> Callable[..., Any] | None:
    try:
        source, namespace = make(node, let)
        if len(source) > MAX_SOURCE:
            return None
        exec(code_for(source, "<policy-eval: trace>"), namespace)  # noqa: S102 - fixed templates
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # too deep or too large: the interpreter
        return None
    fn: Callable[..., Any] = namespace["_f"]
    return fn


def let_function(expr: ir.IR, cache: Any = _LETS, make: Callable[..., tuple[str, dict[str, Any]]] = generate
                 ) -> Callable[..., tuple[Any, tuple[str, ...]]]:
    """``(case, env, trace, lets) -> (value, blame)`` of a let-binding's expression, as the interpreter's ``ev``
    (``cache`` and ``make``: lang.stepcode's, for a trace with steps)."""
    fn = cache.get(expr)
    if fn is None:
        made = _compile(expr, True, make)
        if made is None:
            held = weakref.ref(expr)  # (weakly: see _Gen.node)

            def made(c: dict[str, Any], e: dict[str, Any], t: Trace, lets: dict[int, Any]
                     ) -> tuple[Any, tuple[str, ...]]:
                interp, wrapped = _interp(c, e, t, lets)
                target = held()
                assert target is not None  # (reached through _LETS, which holds it while it lives)
                out: tuple[Any, tuple[str, ...]] = interp.ev(target, wrapped)
                return out
        fn = cache[expr] = made
    return fn


def traced(node: ir.IR, cache: Any = _TRACED, make: Callable[..., tuple[str, dict[str, Any]]] = generate) -> Traced:
    """``interpret(node, case, env, trace, lets)`` for a trace without steps, as generated code (made on the
    first call for this node, then kept; the interpreter itself for a condition too large or deep for it)."""
    fn = cache.get(node)
    if fn is None:
        made = _compile(node, False, make)
        if made is None:
            held = weakref.ref(node)  # (weakly: see _Gen.node)

            def made(c: dict[str, Any], e: dict[str, Any], t: Trace, lets: dict[int, Any]) -> Any:
                target = held()
                assert target is not None  # (reached through _TRACED, which holds it while it lives)
                return interpret(target, c, e, t, lets)
        fn = cache[node] = made
    return fn


def trace_without_steps(when: ir.IR | None, condition: ir.IR, case: dict[str, Any], env: dict[str, Any],
                        data_errors: tuple[type[BaseException], ...] = (EvalFailure, ArithmeticError),
                        lets: dict[int, Any] | None = None) -> Trace:
    """A rule's ``when`` and (if it holds) condition traced on the case without steps: what was missing and
    what was read, up to a data error (one of ``data_errors``, which ends the walk as it does the
    interpreter's). Any other exception is raised. ``lets``: let-bindings' ``(value, missing paths)`` already known
    on this case and environment, by ``id`` of their expression (taken as they are, their reads not recorded)."""
    trace = Trace(explain=False)
    lets = {} if lets is None else lets
    try:
        applies = traced(when)(case, env, trace, lets) if when is not None else True
        if applies is True:
            traced(condition)(case, env, trace, lets)
    except data_errors:
        pass
    return trace

"""Compile checked IR to one generated Python function per condition.

The fast path of evaluation. The checked tree (never policy text) is turned
into Python source from fixed templates: every literal, field name, reader
and function is referenced through the constant tables ``K``, ``F`` and
``R`` by index, and every generated name is ours (``_t1``, ``_t2``, ...), so
nothing an author writes can become code. Three-valued logic is spelled out
with ``is U`` tests and assignment expressions. Each condition also gets
two-valued code (plain ``and``/``or``/comparisons, :class:`_SureGen`) that runs
first and gives up at its first unknown, when the three-valued code decides:
most cases hold every fact a rule reads. Paths read more than once, and the
records on the way to them, are read once at the top.

Nodes with no template (quantifiers, indexing, dated parameters, division,
which needs a zero guard) call their closure from :mod:`policy_eval.lang.compiler`.
If the generated function raises anything but a located
:class:`~policy_eval.lang.ops.EvalFailure` (a budget error included), a
MemoryError or a RecursionError, the condition is re-evaluated with the
closures, which produce the precise located failure (or the same value):
generated code is an optimisation, never a different semantics. A let-binding
is a local ``_lN`` filled on first use by the let's own memoised function
(:func:`~policy_eval.lang.compiler.let_function`), never its code inlined. Property tests check both
paths agree with the reference interpreter.
"""

from __future__ import annotations

import operator
import re
import types
from collections.abc import Callable
from typing import Any, NoReturn

from policy_eval.lang import ir
from policy_eval.lang.budget import current
from policy_eval.lang.compiler import Compiled, compile_ir, let_function
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN

__all__ = ["generate", "compile_fast", "MAX_SOURCE", "Unsure", "unsure"]

MAX_SOURCE = 50_000
_INFIX = {
    operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=", operator.eq: "==",
    operator.ne: "!=", operator.add: "+", operator.sub: "-", operator.mul: "*",
}
_INLINE_CONSTS = (bool, int, type(None))


_UNSET = object()  # a let local not computed yet
_PURE_OPS = frozenset({"policy_eval.lang.ops", "_operator", "operator"})  # never unknown on known operands
_NEVER_CHARGE = frozenset({"policy_eval.lang.ops", "policy_eval.lang.readers", "policy_eval.lang.values",
                           "policy_eval.lang.timestamps", "_operator", "operator", "functools"})
_CONSTANT = re.compile(r"_k\d+|-?\d+|True|False|None")
_NAME = re.compile(r"_p\d+")


class Unsure(Exception):
    """Raised by two-valued generated code where it meets an unknown: the three-valued code then decides."""


def unsure() -> NoReturn:
    raise Unsure


def _never_unknown(node: ir.IR) -> bool:
    if isinstance(node, ir.Const):
        return node.value is not UNKNOWN
    if isinstance(node, ir.Call) and node.name == "exists":
        return True
    if isinstance(node, ir.Not):
        return _never_unknown(node.operand)
    if isinstance(node, (ir.And, ir.Or)):
        return _never_unknown(node.left) and _never_unknown(node.right)
    return False


def _root_path(node: ir.IR) -> tuple[str, ...] | None:
    """The key path of a field read from the case root (None for reads under variables)."""
    keys: list[str] = []
    while isinstance(node, ir.Field):
        keys.append(node.key)
        if node.base is None:
            return tuple(reversed(keys))
        node = node.base
    return None


def _walk(node: ir.IR) -> list[ir.IR]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if not isinstance(n, ir.LetRef):  # a let-binding's reads are its own function's
            stack.extend(ir.children(n))
    return out


class _Gen:
    def __init__(self) -> None:
        self.K: list[Any] = []
        self.F: list[Callable[..., Any]] = []
        self.n = 0
        self.hoisted: dict[tuple[str, ...], str] = {}
        self.records: dict[tuple[str, ...], str] = {}  # hoisted records on the way to hoisted paths
        self.lets: dict[int, str] = {}
        self.prelude: list[str] = []

    def hoist(self, root: ir.IR) -> None:
        """Read each case path used more than once a single time, at the top of the function."""
        counts: dict[tuple[str, ...], list[ir.Field]] = {}
        for n in _walk(root):
            if isinstance(n, ir.Quant):
                continue
            path = _root_path(n)
            if path is not None and isinstance(n, ir.Field) and n.type.name != "record":
                counts.setdefault(path, []).append(n)
        self.hoist_counted(counts)

    def hoist_counted(self, counts: dict[tuple[str, ...], list[ir.Field]]) -> None:
        """Hoist each path read more than once (``counts``: path → its reads) to a local read at the top, and
        each record on the way to two reads or more (``order`` for ``order.a`` and ``order.b``)."""
        shared: dict[tuple[str, ...], int] = {}
        for path, nodes in counts.items():
            for i in range(1, len(path)):
                shared[path[:i]] = shared.get(path[:i], 0) + (1 if len(nodes) > 1 else len(nodes))
        for prefix, uses in sorted(shared.items(), key=lambda item: (len(item[0]), item[0])):
            if uses > 1:
                name = f"_r{len(self.records)}"
                outer = self.records.get(prefix[:-1])
                key = self.const(prefix[-1])
                read = f"c.get({key})" if outer is None else f"(None if {outer} is None else {outer}.get({key}))"
                self.prelude.append(f"    {name} = {read}")
                self.records[prefix] = name
        for path, nodes in sorted(counts.items()):
            if len(nodes) > 1:
                name = f"_p{len(self.hoisted)}"
                self.prelude.append(f"    {name} = {self.g_Field(nodes[0])}")
                self.hoisted[path] = name

    def const(self, value: Any) -> str:
        if type(value) in _INLINE_CONSTS and (type(value) is not int or abs(value) < 1 << 60):
            return repr(value)  # True / False / None / a small integer: our own repr, never text
        for i, known in enumerate(self.K):
            if type(known) is type(value) and type(value) is str and known == value:
                return f"_k{i}"
        self.K.append(value)
        return f"_k{len(self.K) - 1}"

    def fn(self, f: Callable[..., Any]) -> str:
        for i, known in enumerate(self.F):
            if known is f:
                return f"_f{i}"
        self.F.append(f)
        return f"_f{len(self.F) - 1}"

    def operand(self, node: ir.IR) -> tuple[str, str | None]:
        """Code for an operand and the unknown-test it needs (None when it can never be unknown)."""
        code = self.expr(node)
        if _CONSTANT.fullmatch(code) or _never_unknown(node):
            return code, None
        if _NAME.fullmatch(code):
            return code, f"{code} is U"
        t = self.tmp()
        return t, f"({t} := {code}) is U"

    def strict(self, args: tuple[ir.IR, ...], body: Callable[[list[str]], str]) -> str:
        pairs = [self.operand(a) for a in args]
        tests = [test for _, test in pairs if test is not None]
        code = body([name for name, _ in pairs])
        return f"(U if {' or '.join(tests)} else {code})" if tests else code

    def tmp(self) -> str:
        self.n += 1
        return f"_t{self.n}"

    def closure(self, node: ir.IR) -> str:
        return f"{self.fn(compile_ir(node))}(c, v)"

    # --- expressions --------------------------------------------------------------------------------------
    def expr(self, node: ir.IR) -> str:
        method = getattr(self, "g_" + type(node).__name__, None)
        if method is None:
            return self.closure(node)
        code: str = method(node)
        return code

    def g_Const(self, node: ir.Const) -> str:
        return self.const(node.value)

    def g_Var(self, node: ir.Var) -> str:
        return f"v[{self.const(node.name)}]"

    def g_LetRef(self, node: ir.LetRef) -> str:
        """A local computed on first use by the let's own (memoised) function: never the let's code inlined."""
        local = self.lets.get(id(node.expr))
        if local is None:
            local = self.lets[id(node.expr)] = f"_l{len(self.lets)}"
            self.prelude.append(f"    {local} = _M")
        return f"({local} if {local} is not _M else ({local} := {self.fn(let_function(node.expr))}(c, v)))"

    def g_Field(self, node: ir.Field, missing: str = "U") -> str:
        """The read of a field; ``missing`` is the code for a missing key or a null on the way."""
        path = _root_path(node)
        if path is not None and path in self.hoisted:
            return self.hoisted[path]
        keys = [node.key]
        base = node.base
        while isinstance(base, ir.Field) and base.type.name == "record":
            keys.append(base.key)
            base = base.base
        keys.reverse()
        leaf = node.convert
        t = self.tmp()
        record = None
        if base is None:
            start = "c"
            for i in range(len(keys) - 1, 0, -1):
                record = self.records.get(tuple(keys[:i]))
                if record is not None:
                    start, keys = record, keys[i:]
                    break
        else:
            b = self.tmp()
            start = b
            prefix = f"U if ({b} := {self.expr(base)}) is U else "
        code = ""
        # walk: (U if (t := start.get(k1)) is None else (U if (t := t.get(k2)) is None else READ(t)))
        current = start
        for k in keys:
            held = f"{current} is None or " if current is record else ""  # a hoisted record may be missing
            code += f"({missing} if {held}({t} := {current}.get({self.const(k)})) is None else "
            current = t
        read = self.read(leaf, node, t)
        code += read + ")" * len(keys)
        if base is not None:
            return f"({prefix}{code})"
        return code

    def read(self, leaf: Callable[[Any], Any] | None, node: ir.Field, t: str) -> str:
        if leaf is None:
            return t
        exact = {"int": "int", "string": "str", "bool": "bool"}.get(node.type.name)
        if exact is not None:  # the common case needs no call: a value of exactly the right type
            return f"({t} if {t}.__class__ is {self.const_type(exact)} else {self.fn(leaf)}({t}))"
        return f"{self.fn(leaf)}({t})"

    def const_type(self, name: str) -> str:
        return self.const({"int": int, "str": str, "bool": bool}[name])

    def g_Op(self, node: ir.Op) -> str:
        if node.guard_zero:
            return self.closure(node)
        consts = [a for a in node.args if isinstance(a, ir.Const)]
        if len(consts) == len(node.args):
            try:
                return self.const(node.fn(*(a.value for a in consts)))
            except Exception:  # noqa: BLE001 - leave it to run time, where it is reported per case
                return self.closure(node)
        fn = node.fn

        def body(names: list[str]) -> str:
            if len(names) == 1:
                return f"(-{names[0]})" if fn is operator.neg else f"{self.fn(fn)}({names[0]})"
            if fn in _INFIX:
                return f"({names[0]} {_INFIX[fn]} {names[1]})"
            return f"{self.fn(fn)}({names[0]}, {names[1]})"
        return self.strict(node.args, body)

    def g_And(self, node: ir.And) -> str:
        return self._junction(node, "False", "True")

    def g_Or(self, node: ir.Or) -> str:
        return self._junction(node, "True", "False")

    def _junction(self, node: ir.And | ir.Or, decisive: str, other: str) -> str:
        left, right = self.expr(node.left), self.expr(node.right)
        if _never_unknown(node.left) and _never_unknown(node.right):
            op = "and" if decisive == "False" else "or"
            return f"({left} {op} {right})"
        a, b = self.tmp(), self.tmp()
        return (f"({decisive} if ({a} := {left}) is {decisive} else "
                f"({decisive} if ({b} := {right}) is {decisive} else "
                f"(U if {a} is U or {b} is U else {other})))")

    def g_Not(self, node: ir.Not) -> str:
        if _never_unknown(node.operand):
            return f"(not {self.expr(node.operand)})"
        a = self.tmp()
        return f"(U if ({a} := {self.expr(node.operand)}) is U else not {a})"

    def g_If(self, node: ir.If) -> str:
        a = self.tmp()
        return (f"({self.expr(node.then)} if ({a} := {self.expr(node.test)}) is True else "
                f"({self.expr(node.other)} if {a} is False else U))")

    def g_Call(self, node: ir.Call) -> str:
        # exists/default/max/min of two values are core functions (plugins cannot redefine a name):
        # spelled inline, they skip a call.
        if node.name == "exists" and len(node.args) == 1:
            if _never_unknown(node.args[0]):
                return "True"
            # never a literal before ``is`` (a SyntaxWarning; a SyntaxError under -W error, which would
            # silently cost the fast path): a constant is decided here, and arithmetic on constants only
            # (``2 * 3 - 1``, which Python folds to a literal) is bound to a name first
            code = self.expr(node.args[0])
            if _CONSTANT.fullmatch(code):
                return str(not (code.startswith("_k") and self.K[int(code[2:])] is UNKNOWN))
            if all(isinstance(n, (ir.Const, ir.Op)) for n in _walk(node.args[0])):
                return f"(({self.tmp()} := {code}) is not U)"
            return f"({code} is not U)"
        if node.name == "default" and len(node.args) == 2:
            t = self.tmp()
            return f"({self.expr(node.args[1])} if ({t} := {self.expr(node.args[0])}) is U else {t})"
        if node.name in ("max", "min") and len(node.args) == 2 and node.args[0].type.name != "list":
            op = ">=" if node.name == "max" else "<="
            return self.strict(node.args, lambda n: f"({n[0]} if {n[0]} {op} {n[1]} else {n[1]})")
        f = self.fn(node.fn)
        if not node.strict:
            return f"{f}({', '.join(self.expr(a) for a in node.args)})"
        if not node.args:
            return f"{f}()"
        return self.strict(node.args, lambda n: f"{f}({', '.join(n)})")

    def g_ListIR(self, node: ir.ListIR) -> str:
        consts = [i for i in node.items if isinstance(i, ir.Const)]
        if len(consts) == len(node.items):
            return self.const([i.value for i in consts])
        return self.closure(node)


class _SureGen(_Gen):
    """codegen's templates, plus two-valued ones: code that assumes no operand is unknown and calls ``_u()``
    (raising :class:`Unsure`) where one is.

    Most cases have every fact a rule reads, and plain Python (``a <= b``, ``x and y``) decides them
    with a fraction of the three-valued tests. The two-valued code is exact whenever it returns: until
    the first unknown it computes what the three-valued code computes, in the same order (``and`` and
    ``or`` stop at the same operand, ``if`` takes the same branch), so it raises what that would raise;
    at the first unknown it gives up and the three-valued code decides from the start. Sub-expressions
    that take unknowns as ordinary values (``exists``, ``default``'s first operand, non-strict
    functions, closures) are generated three-valued inside it, and their result tested.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sure = False
        self.in_sure = False
        self.charging = False  # the two-valued code calls something that may charge the budget

    def sure_expr(self, node: ir.IR) -> str:
        """Two-valued code for ``node`` (see the class)."""
        self.sure = self.in_sure = True
        try:
            return self.expr(node)
        finally:
            self.sure = self.in_sure = False

    def fn(self, f: Callable[..., Any]) -> str:
        # a closure, a let's function, a function (string concatenation, a plugin's) may charge the budget;
        # the operators and readers of the language never do
        if self.in_sure and getattr(f, "__module__", None) not in _NEVER_CHARGE:
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
            return self.guard(self.hoisted[path])
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
        args = [self.expr(a) for a in node.args]
        fn = node.fn
        if len(args) == 1 and fn is operator.neg:
            return f"(-{args[0]})"
        if len(args) == 2 and fn in _INFIX:
            return f"({args[0]} {_INFIX[fn]} {args[1]})"
        code = f"{self.fn(fn)}({', '.join(args)})"
        return code if getattr(fn, "__module__", None) in _PURE_OPS else self.guard(code)

    def s_And(self, node: ir.And) -> str:
        return f"({self.expr(node.left)} and {self.expr(node.right)})"

    def s_Or(self, node: ir.Or) -> str:
        return f"({self.expr(node.left)} or {self.expr(node.right)})"

    def s_Not(self, node: ir.Not) -> str:
        return f"(not {self.expr(node.operand)})"

    def s_If(self, node: ir.If) -> str:
        test = self.expr(node.test)
        return f"({self.expr(node.then)} if {test} else {self.expr(node.other)})"

    def s_Call(self, node: ir.Call) -> str:
        if node.name == "exists" and len(node.args) == 1:
            return self.three(node)  # never unknown
        if node.name == "default" and len(node.args) == 2:
            t = self.tmp()
            first = self.three(node.args[0])
            return f"({self.expr(node.args[1])} if ({t} := {first}) is U else {t})"
        if node.name in ("max", "min") and len(node.args) == 2 and node.args[0].type.name != "list":
            op = ">=" if node.name == "max" else "<="
            a, b = self.tmp(), self.tmp()
            return f"({a} if ({a} := {self.expr(node.args[0])}) {op} ({b} := {self.expr(node.args[1])}) else {b})"
        if node.strict and node.args:
            args = ", ".join(self.expr(a) for a in node.args)
            return self.guard(f"{self.fn(node.fn)}({args})")
        return self.guard(self.three(node))


def generate(node: ir.IR, slow: Compiled | None = None, two_valued: bool = True) -> tuple[str, dict[str, Any]]:
    """The source of ``def _f(c, v)`` for a condition, and the namespace it runs in: its two-valued code
    (:class:`_SureGen`) falling back to its three-valued code, or (``two_valued=False``) the latter alone.

    Any exception in the generated code re-runs the condition with ``slow`` (the closures), which
    raise the precise located EvalFailure or compute the same value.
    """
    gen = _SureGen()
    gen.hoist(node)
    body = gen.expr(node)
    sure = gen.sure_expr(node) if two_valued and not _never_unknown(node) else None
    lines = ["def _f(c, v):", "    try:"]
    lines += ["    " + line for line in gen.prelude]
    if sure is None:
        lines += [f"        return {body}"]
    else:
        # the two-valued code first; at its first unknown the three-valued code decides, with the budget
        # the two-valued code had when it started (both compute the same until then)
        if gen.charging:
            lines += ["        _m = _cur()", "        _left = _m.left if _m is not None else 0"]
        lines += ["        try:", f"            return {sure}", "        except _Unsure:"]
        if gen.charging:
            lines += ["            if _m is not None:", "                _m.left = _left"]
        lines += [f"            return {body}"]
    # located failures (budget included), memory and depth errors are final: running the same work
    # again on the slow path would only double its cost
    lines += ["    except _Final:", "        raise",
              "    except Exception:", "        return _slow(c, v)", ""]
    source = "\n".join(lines)
    namespace: dict[str, Any] = {"U": UNKNOWN, "_Final": (EvalFailure, MemoryError, RecursionError),
                                 "_slow": slow or compile_ir(node), "Exception": Exception, "_M": _UNSET,
                                 "_u": unsure, "_Unsure": Unsure, "_cur": current}
    namespace.update({f"_k{i}": k for i, k in enumerate(gen.K)})
    namespace.update({f"_f{i}": f for i, f in enumerate(gen.F)})
    return source, namespace


def compile_fast(node: ir.IR, name: str = "condition") -> Compiled:
    """A generated function with a closure fallback; the closures alone if generation is not possible.

    The code is generated and compiled on the function's first call, not now: loading a rulebook makes
    hundreds of conditions, and a run calls many of them never (a fused version decides its rules in one
    function). Until then the function is a stub whose first call compiles the condition and takes on
    its code (``__code__``) and constants, so the callers' reference needs no indirection afterwards."""
    slow = compile_ir(node)
    namespace: dict[str, Any] = {"__builtins__": {}}
    stub = types.FunctionType(_STUB, namespace, "_f")

    def first(c: dict[str, Any], v: dict[str, Any]) -> Any:
        fast = _generated(node, name, slow)
        if fast is slow:
            namespace["_first"] = slow
        else:
            namespace.update(fast.__globals__)
            stub.__code__ = fast.__code__
        return fast(c, v)
    namespace["_first"] = first
    return stub


_STUB = compile("def _f(c, v):\n    return _first(c, v)\n", "<policy-eval: not compiled yet>", "exec").co_consts[0]


def _generated(node: ir.IR, name: str, slow: Compiled) -> Compiled:
    """The generated function of ``node`` (``slow`` when it cannot be made, or would pass the cap)."""
    try:
        source, namespace = generate(node, slow)
        if len(source) > MAX_SOURCE:  # the two-valued variant doubles the source: without it, then
            source, namespace = generate(node, slow, two_valued=False)
        if len(source) > MAX_SOURCE:
            return slow
        code = compile(source, f"<policy-eval: {name[:60]!r}>", "exec")
        scope: dict[str, Any] = {"__builtins__": {}, **namespace}
        exec(code, scope)  # noqa: S102 - source built from fixed templates over the checked tree
        fast: Compiled = scope["_f"]
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return slow
    return fast

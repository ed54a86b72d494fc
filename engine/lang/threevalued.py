"""The three-valued templates of generated code: one Python expression per checked IR node.

Input: checked IR (never policy text). Output: Python source text of an expression over ``c`` (the case)
and ``v`` (the environment) whose value is the node's, unknown included, and the constants and functions
it refers to (``K``, ``F``, bound by index). Three-valued logic is spelled out with ``is U`` tests and
assignment expressions; a node with no template calls its closure from :mod:`policy_eval.lang.compiler`.
Paths read more than once, and the records on the way to them, are read once at the top (the prelude).
Used by :mod:`policy_eval.lang.codegen` (one function per condition), :mod:`policy_eval.lang.twovalued`
and :mod:`policy_eval.lang.fusion`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.compiler import compile_ir, let_function
from policy_eval.lang.ops import MAX_INT_BITS, int_mul, int_too_large
from policy_eval.lang.quantifiers import quantifier
from policy_eval.lang.readers import read_datetime, read_list, read_record
from policy_eval.lang.timestamps import MEMO
from policy_eval.lang.values import UNKNOWN

__all__: list[str] = []  # internal to the code generators

_INFIX = {
    operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=", operator.eq: "==",
    operator.ne: "!=", operator.add: "+", operator.sub: "-", operator.mul: "*",
}
_INLINE_CONSTS = (bool, int, type(None))


_UNSET = object()  # a let local not computed yet
_PURE_OPS = frozenset({"policy_eval.lang.ops", "policy_eval.lang.decimals", "_operator", "operator"})  # never unknown on known operands
_CONSTANT = re.compile(r"_k\d+|-?\d+|True|False|None")
_NAME = re.compile(r"_p\d+")


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


_root_path = ir.root_path  # the key path of a field read from the case root (None for reads under variables)


def _walk(node: ir.IR) -> list[ir.IR]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if not isinstance(n, ir.LetRef):  # a let-binding's reads are its own function's
            stack.extend(ir.children(n))
    return out


class _Gen:
    # Fused code (lang.fusion) tells a null from a missing key on the paths it reads from the case root: a
    # missing key reads as unknown, a null raises (the case then goes the general way, which judges nulls by
    # three-valued logic: ``exists`` of a null is unknown, not false). Needs ``_n`` (raises) bound; elsewhere
    # a null reads as a missing key does.
    exact_nulls = False
    # A quantifier's body (it runs once an item) compiled by lang.codegen.compile_fast, which the code generators
    # that evaluate give here: generated code with the closures as its fall-back, answering as they do. None
    # (the tracing and null-reading generators): the closures' own body.
    compile_body: Callable[[ir.IR], Any] | None = None

    def __init__(self) -> None:
        self.K: list[Any] = []
        self.F: list[Callable[..., Any]] = []
        self.n = 0
        self.hoisted: dict[tuple[str, ...], str] = {}
        self.records: dict[tuple[str, ...], str] = {}  # hoisted records on the way to hoisted paths
        self.sure_records: set[str] = set()  # (those tested once, at the top: see hoist_counted's ``required``)
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

    def hoist_counted(self, counts: dict[tuple[str, ...], list[ir.Field]],
                      required: frozenset[tuple[str, ...]] = frozenset()) -> None:
        """Hoist each path read more than once (``counts``: path → its reads) to a local read at the top, and
        each record on the way to two reads or more (``order`` for ``order.a`` and ``order.b``). ``required``:
        paths every case the caller runs holds (rulebook.required); a hoisted record among them is tested once,
        where it is read (a case without it makes the function give up: ``_u()``, which the caller's function
        must take as lang.fusion's does), and the reads within it are not tested for it again."""
        shared: dict[tuple[str, ...], int] = {}
        for path, nodes in counts.items():
            for i in range(1, len(path)):
                shared[path[:i]] = shared.get(path[:i], 0) + (1 if len(nodes) > 1 else len(nodes))
        for prefix, uses in sorted(shared.items(), key=lambda item: (len(item[0]), item[0])):
            if uses > 1:
                name = f"_r{len(self.records)}"
                outer = self.records.get(prefix[:-1])
                key = self.const(prefix[-1])
                read = f"c.get({key})" if outer is None else f"{outer}.get({key})" if outer in self.sure_records \
                    else f"(None if {outer} is None else {outer}.get({key}))"
                self.prelude.append(f"    {name} = {read}")
                if self.exact_nulls:  # a null record raises
                    within = "c" if outer is None else outer
                    held = "" if outer is None else f"{outer} is not None and "
                    self.prelude.append(f"    if {name} is None and {held}{key} in {within}:")
                    self.prelude.append("        _n()")
                if prefix in required and (outer is None or outer in self.sure_records):
                    self.prelude += [f"    if {name} is None:", "        _u()"]
                    self.sure_records.add(name)
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
            if known is value or type(known) is type(value) and type(value) is str and known == value:
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
        if _CONSTANT.fullmatch(code):  # (a constant that is unknown, a parameter without a value: always unknown)
            return code, ("True" if code.startswith("_k") and self.K[int(code[2:])] is UNKNOWN else None)
        if _never_unknown(node):  # (no test, but computed with the others, in order: its data error is the answer's)
            t = self.tmp()
            return t, f"(({t} := {code}) is U)"
        if _NAME.fullmatch(code):
            return code, f"{code} is U"
        t = self.tmp()
        return t, f"({t} := {code}) is U"

    def strict(self, args: tuple[ir.IR, ...], body: Callable[[list[str]], str]) -> str:
        """``body`` of the operands where none is unknown, else unknown. Every operand is computed before any is
        looked at (``|``, not ``or``), as the interpreter and the closures do: a later operand's data error is the
        answer's even where an earlier one is unknown."""
        pairs = [self.operand(a) for a in args]
        tests = [test for _, test in pairs if test is not None]
        code = body([name for name, _ in pairs])
        if not tests:
            return code
        return f"(U if {tests[0] if len(tests) == 1 else ' | '.join(f'({t})' for t in tests)} else {code})"

    def tmp(self) -> str:
        self.n += 1
        return f"_t{self.n}"

    def called(self, node: ir.Call, args: list[str]) -> str:
        """The call of ``node`` on its operands' code; where the call keeps its answers (ir.Call.answers: its
        arguments after the first are constants), the first looked up there first, a dict's ``get`` in place of
        a Python frame on most calls."""
        f = self.fn(node.fn)
        if node.answers is None:
            return f"{f}({', '.join(args)})"
        first, t = args[0], self.tmp()
        if not _NAME.fullmatch(first):
            a = self.tmp()
            first, args = f"({a} := {first})", [a, *args[1:]]
        return f"({t} if ({t} := {self.const(node.answers)}.get({first})) is not None else {f}({', '.join(args)}))"

    def int_product(self, node: ir.Op, a: str, b: str) -> str | None:
        """``a * b`` of two operands typed int, inline: :func:`~policy_eval.lang.ops.int_mul` without its call (the
        same product, the same bound, the same error); None for any other operator or operand type."""
        if node.fn is not int_mul or len(node.args) != 2 or any(x.type.name != "int" for x in node.args):
            return None
        t = self.tmp()
        return f"({t} if ({t} := {a} * {b}).bit_length() <= {MAX_INT_BITS} else {self.fn(int_too_large)}({t}))"

    def closure(self, node: ir.IR) -> str:
        """A call of the node's closure (a node without a template); a quantifier's body is generated code where
        the generator was given ``compile_body``."""
        if isinstance(node, ir.Quant) and self.compile_body is not None:
            return f"{self.fn(quantifier(node, compile_ir, self.compile_body))}(c, v)"
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
            whole = self.records.get(tuple(keys))
            if whole is not None:  # (a record hoisted on the way to other reads, read whole: exists(order.x))
                read = self.read(leaf, node, whole)
                return read if whole in self.sure_records else f"({missing} if {whole} is None else {read})"
            start = "c"
            for i in range(len(keys) - 1, 0, -1):
                record = self.records.get(tuple(keys[:i]))
                if record is not None:
                    start, keys = record, keys[i:]
                    break
        else:
            b = self.tmp()
            start = b
            prefix = f"{missing} if ({b} := {self.expr(base)}) is U else "
        code = ""
        # walk: (U if (t := start.get(k1)) is None else (U if (t := t.get(k2)) is None else READ(t)))
        current = start
        exact = self.exact_nulls and base is None
        for i, k in enumerate(keys):
            # (a hoisted record may be missing, unless tested at the top)
            held = f"{current} is None or " if current is record and record not in self.sure_records else ""
            key = self.const(k)
            # (exact: each level its own local, the record a key is looked for in being still at hand)
            into = self.tmp() if exact and i < len(keys) - 1 else t
            got = f"({into} := {current}.get({key})) is None"
            if exact:  # None and present: a null (the common case, a value, pays nothing)
                got = f"({got} and ({key} not in {current} or _n()))"
            code += f"({missing} if {held}{got} else "
            current = into
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
        if leaf is read_record or leaf is read_list:  # (an object read whole, e.g. for exists(order.x))
            kind = "dict" if leaf is read_record else "list"
            return f"({t} if {t}.__class__ is {self.const_type(kind)} else {self.fn(leaf)}({t}))"
        if leaf is read_datetime:  # a timestamp the schema check (or a rule) parsed: from its memo, inline
            h = self.tmp()
            return (f"({h} if {t}.__class__ is {self.const_type('str')} and ({h} := {self.memo()}.get({t})) "
                    f"is not None else {self.fn(leaf)}({t}))")
        return f"{self.fn(leaf)}({t})"

    def memo(self) -> str:
        """The constant that names lang.timestamps' memo (one per function)."""
        for i, known in enumerate(self.K):
            if known is MEMO:
                return f"_k{i}"
        return self.const(MEMO)

    def const_type(self, name: str) -> str:
        return self.const({"int": int, "str": str, "bool": bool, "dict": dict, "list": list}[name])

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
            product = self.int_product(node, names[0], names[1])
            return product if product is not None else f"{self.fn(fn)}({names[0]}, {names[1]})"
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
            # (an argument that is never unknown is still computed: its data error is the answer's)
            # never a literal before ``is`` (a SyntaxWarning; a SyntaxError under -W error, which would
            # silently cost the fast path): a constant is decided here, and arithmetic on constants only
            # (``2 * 3 - 1``, which Python folds to a literal) is bound to a name first
            code = self.expr(node.args[0])
            if _CONSTANT.fullmatch(code):
                return str(not (code.startswith("_k") and self.K[int(code[2:])] is UNKNOWN))
            if all(isinstance(n, (ir.Const, ir.Op)) for n in _walk(node.args[0])):
                return f"(({self.tmp()} := {code}) is not U)"
            return f"({code} is not U)"
        if node.name == "default" and len(node.args) == 2:  # (both arguments computed, as every call's: a data
            # error in the fallback is the answer's even where the value is known)
            t, u = self.tmp(), self.tmp()
            return (f"({t} if ({t} := {self.expr(node.args[0])}) is {t} and ({u} := {self.expr(node.args[1])}) "
                    f"is {u} and {t} is not U else {u})")
        if node.name in ("max", "min") and len(node.args) == 2 and node.args[0].type.name != "list":
            op = ">=" if node.name == "max" else "<="
            return self.strict(node.args, lambda n: f"({n[0]} if {n[0]} {op} {n[1]} else {n[1]})")
        if not node.strict:
            return f"{self.fn(node.fn)}({', '.join(self.expr(a) for a in node.args)})"
        if not node.args:
            return f"{self.fn(node.fn)}()"
        return self.strict(node.args, lambda n: self.called(node, n))

    def g_ListIR(self, node: ir.ListIR) -> str:
        consts = [i for i in node.items if isinstance(i, ir.Const)]
        if len(consts) == len(node.items):
            return self.const([i.value for i in consts])
        return self.closure(node)

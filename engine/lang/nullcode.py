"""Generated code for the null reading of a rule: does what an explicit null hides decide it?

Input: a rule's checked ``when`` and condition trees (never policy text). Output: ``gated(c, v)``, which says
whether the rule, judged with each explicit null of the case outside lists read as unknown
(:func:`~policy_eval.lang.interpreter.interpret_nulls`), comes to a null-dependent unknown: True (it does:
the caller then asks the reference interpreter what the nulls hide, for the verdict's reason), False (it
does not) or None (it could not tell: the code raised; the caller asks the interpreter). Or no function,
when a tree holds what these templates do not spell (a quantifier or an index whose item reads the case from
its root) or its source would pass :data:`MAX_SOURCE`.

Why: a case with a null on a path that a rule's ``exists`` or ``default`` reads was judged by the reference
interpreter for every such rule (bench/nulls.py: an order's ``shipped_at`` null made a case cost twelve
times one without). The interpreter tracks which paths each unknown value comes from, for the reason it
words; whether the rule is gated at all needs only two kinds of unknown, which generated code carries as
two sentinels: ``U`` (missing whatever the nulls hide: :data:`~policy_eval.lang.values.UNKNOWN`, what the
compiled closures give) and ``N`` (null-dependent). The interpreter's rules, per node:

- a field read from the root through fields: a null is ``N``, a missing key ``U``; under an unknown record,
  the record's kind; anywhere else (under a variable or a let) a null is ``U``, as in a list;
- a strict operator or call (every operand evaluated): ``U`` if an operand is ``U``, else ``N`` if one is;
- ``and``/``or``: decided by a decisive operand; else ``N`` if either operand is ``N``, else ``U``;
- ``not`` and ``if`` (its test unknown): the operand's kind;
- ``exists(x)`` and a plugin's non-strict call: ``N`` if an argument is ``N``; ``default(x, d)``: ``N`` if
  ``x`` is, else ``d`` where ``x`` is ``U``;
- an index: strict, then missing out of range or at a null item;
- a quantifier whose body reads nothing from the root: its collection's kind when unknown, else the closure
  (its unknowns come from items: ``U``); nodes that read nothing from the root: their closures.

A let-binding is a local computed on first use, its code inline (a let used at several places is spelled at
each, behind its "computed yet?" test: hence the cap). The code comes from fixed templates, every constant
and function bound by index, as in :mod:`policy_eval.lang.threevalued`. Tests compare its answer with the
interpreter's on every golden case with each value made null in turn.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.budget import may_charge
from policy_eval.lang.codecache import code_for
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.threevalued import _CONSTANT, _UNSET, _Gen
from policy_eval.lang.values import UNKNOWN

__all__ = ["NullGate", "FusedGate", "null_gate", "fused_gate", "null_reading", "NULL_DEPENDENT", "MAX_SOURCE",
           "MAX_FUSED_SOURCE"]

MAX_SOURCE = 60_000  # characters of generated source per rule; beyond it, the interpreter decides
MAX_FUSED_SOURCE = 400_000  # per version (fused_gate); beyond it, rule by rule

NullGate = Callable[[dict[str, Any], dict[str, Any]], "bool | None"]
FusedGate = Callable[[dict[str, Any], dict[str, Any], int, Any], "int | None"]


class _NullDependent:
    """The value of an expression that a null of the case could make another (see the module docstring)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_DEPENDENT"


NULL_DEPENDENT = _NullDependent()

_ZERO = (ZeroDivisionError, decimal.InvalidOperation)


def _index(seq: Any, i: Any, text: str) -> Any:
    """``seq[i]`` of known operands, as the interpreter reads it: missing out of range or where the item is null."""
    if not isinstance(seq, list):
        raise EvalFailure(f"{text}: expected a list", text)
    if not -len(seq) <= i < len(seq) or seq[i] is None:
        return UNKNOWN
    return seq[i]


def _guarded(fn: Callable[..., Any], *args: Any) -> Any:
    """An operator whose zero divisor gives an unknown value (``guard_zero``), as the interpreter reads it."""
    try:
        return fn(*args)
    except _ZERO:
        return UNKNOWN


class _Unsupported(Exception):
    """A node these templates do not spell."""


def _reads_root(node: ir.IR) -> bool:
    return bool(ir.root_paths(node))


class _NullGen(_Gen):
    """Three-valued templates with two unknowns (``U``, ``N``); no path hoisted (each read spelled in place)."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_lets: dict[int, str] = {}
        self.inlined = 0  # characters of let code spelled so far

    def hoist_paths(self, roots: Sequence[ir.IR | None]) -> None:
        """Each case path read more than once (lets included, a quantifier's item excepted) read a single time, at
        the top: the read of a value, which keeps a null from a missing key (no record is hoisted on its own)."""
        counts: dict[tuple[str, ...], int] = {}
        first: dict[tuple[str, ...], ir.Field] = {}
        for n in ir.walk(*(n for n in roots if n is not None)):  # (a let's reads once; a quantifier's item
            # reads nothing from the root here: those the templates do not spell)
            path = ir.root_path(n)
            if path is not None and isinstance(n, ir.Field) and n.type.name != "record":
                counts[path] = counts.get(path, 0) + 1
                first.setdefault(path, n)
        for path in sorted(p for p, uses in counts.items() if uses > 1):
            self.n = 0  # (temporaries are bound and read within one expression: each numbers its own from 1)
            name = f"_p{len(self.hoisted)}"
            self.prelude.append(f"    {name} = {self.g_Field(first[path])}")
            self.hoisted[path] = name

    def unknown(self, name: str) -> str:
        return f"({name} is U or {name} is N)"

    def operand(self, node: ir.IR) -> tuple[str, str | None]:
        """An operand bound to a name, and its unknown test (None for a constant)."""
        code = self.expr(node)
        if _CONSTANT.fullmatch(code):
            return code, None
        t = self.tmp()
        return t, f"(({t} := {code}) is U or {t} is N)"

    def strict(self, args: tuple[ir.IR, ...], body: Callable[[list[str]], str]) -> str:
        """Every operand evaluated (as the interpreter does), then ``U`` if one is ``U``, ``N`` if one is ``N``."""
        pairs = [self.operand(a) for a in args]
        tests = [test for _, test in pairs if test is not None]
        code = body([name for name, _ in pairs])
        if not tests:
            return code
        names = [name for name, test in pairs if test is not None]
        kind = f"(U if {' or '.join(f'{n} is U' for n in names)} else N)"
        return f"({kind} if {' | '.join(tests)} else {code})"

    def closure(self, node: ir.IR) -> str:
        if _reads_root(node):
            raise _Unsupported(type(node).__name__)
        return super().closure(node)  # (reads no case path from the root: no null of ours can reach it)

    def g_LetRef(self, node: ir.LetRef) -> str:
        local = self.inline_lets.get(id(node.expr))
        if local is None:
            local = self.inline_lets[id(node.expr)] = f"_l{len(self.inline_lets)}"
            self.prelude.append(f"    {local} = _M")
        code = self.expr(node.expr)
        self.inlined += len(code)
        if self.inlined > MAX_FUSED_SOURCE:  # (a let used at many places is spelled at each: capped as it grows)
            raise _Unsupported("too large")
        return f"({local} if {local} is not _M else ({local} := {code}))"

    def g_Field(self, node: ir.Field, missing: str = "U") -> str:
        hoisted = self.hoisted.get(ir.root_path(node) or ())
        if hoisted is not None:
            return hoisted
        keys = [node.key]
        base = node.base
        while isinstance(base, ir.Field) and base.type.name == "record":
            keys.append(base.key)
            base = base.base
        keys.reverse()
        t = self.tmp()
        rooted = base is None
        if rooted:
            current, prefix = "c", ""
        else:
            assert base is not None
            b = self.tmp()
            current, prefix = b, f"{b} if ({b} := {self.expr(base)}) is U or {b} is N else "
        code = ""
        for i, k in enumerate(keys):
            key = self.const(k)
            into = self.tmp() if i < len(keys) - 1 else t
            absent = f"(N if {key} in {current} else U)" if rooted else "U"
            code += f"({absent} if ({into} := {current}.get({key})) is None else "
            current = into
        code += self.read(node.convert, node, t) + ")" * len(keys)
        return f"({prefix}{code})" if prefix else code

    def g_Op(self, node: ir.Op) -> str:
        if not node.guard_zero:
            return super().g_Op(node)
        fn = self.fn(_guarded)
        op = self.fn(node.fn)
        return self.strict(node.args, lambda n: f"{fn}({op}, {', '.join(n)})")

    def _junction(self, node: ir.And | ir.Or, decisive: str, other: str) -> str:
        left, right = self.expr(node.left), self.expr(node.right)
        a, b = self.tmp(), self.tmp()
        return (f"({decisive} if ({a} := {left}) is {decisive} else "
                f"({decisive} if ({b} := {right}) is {decisive} else "
                f"((N if {a} is N or {b} is N else U) if {self.unknown(a)} or {self.unknown(b)} else {other})))")

    def g_Not(self, node: ir.Not) -> str:
        a = self.tmp()
        return f"({a} if ({a} := {self.expr(node.operand)}) is U or {a} is N else not {a})"

    def g_If(self, node: ir.If) -> str:
        a = self.tmp()
        return (f"({self.expr(node.then)} if ({a} := {self.expr(node.test)}) is True else "
                f"({self.expr(node.other)} if {a} is False else {a}))")

    def g_Index(self, node: ir.Index) -> str:
        fn, text = self.fn(_index), self.const(node.base.text)
        return self.strict((node.base, node.index), lambda n: f"{fn}({n[0]}, {n[1]}, {text})")

    def g_Quant(self, node: ir.Quant) -> str:
        if _reads_root(node.body):
            raise _Unsupported("a quantifier whose item reads the case from its root")
        t = self.tmp()
        closure = super().closure(node)  # (re-reads the collection, known to be there)
        return f"({t} if ({t} := {self.expr(node.collection)}) is U or {t} is N else {closure})"

    def g_ListIR(self, node: ir.ListIR) -> str:
        if all(isinstance(i, ir.Const) for i in node.items):
            return super().g_ListIR(node)
        items = []
        for item in node.items:  # (an unknown item is an unknown value in the list, whatever its kind)
            t = self.tmp()
            items.append(f"({t} if ({t} := {self.expr(item)}) is not N else U)")
        return f"[{', '.join(items)}]"

    def g_Call(self, node: ir.Call) -> str:
        if node.name == "exists" and len(node.args) == 1:
            t = self.tmp()
            return f"(N if ({t} := {self.expr(node.args[0])}) is N else {t} is not U)"
        if node.name == "default" and len(node.args) == 2:
            t = self.tmp()
            return f"(N if ({t} := {self.expr(node.args[0])}) is N else ({self.expr(node.args[1])} if {t} is U else {t}))"
        if node.strict:
            return super().g_Call(node)  # (max/min inline, or the call: through strict)
        f = self.fn(node.fn)
        if not node.args:
            return f"{f}()"
        names = [self.tmp() for _ in node.args]
        bound = ", ".join(f"({n} := {self.expr(a)})" for n, a in zip(names, node.args, strict=True))
        hidden = " or ".join(f"{n} is N" for n in names) or "False"
        return f"(N if ({bound},) and ({hidden}) else {f}({', '.join(names)}))"


def _namespace(gen: _NullGen) -> dict[str, Any]:
    """What generated code runs with: the two unknowns, the let marker, and its constants and functions by index."""
    namespace: dict[str, Any] = {"U": UNKNOWN, "N": NULL_DEPENDENT, "_M": _UNSET, "Exception": Exception}
    namespace.update({f"_k{i}": k for i, k in enumerate(gen.K)})
    namespace.update({f"_f{i}": f for i, f in enumerate(gen.F)})
    return namespace


def _source(when: ir.IR | None, condition: ir.IR) -> tuple[str, dict[str, Any]]:
    gen = _NullGen()
    gen.hoist_paths([when, condition])
    w = gen.expr(when) if when is not None else None
    cond = gen.expr(condition)
    lines = ["def _g(c, v):", "    try:"]
    lines += ["    " + line for line in gen.prelude]
    if w is not None:  # a `when` that is false, or unknown whatever the nulls are, leaves the rule ungated
        lines += [f"        _w = {w}", "        if _w is N:", "            return True",
                  "        if _w is not True:", "            return False"]
    lines += [f"        return {cond} is N", "    except Exception:", "        return None", ""]
    return "\n".join(lines), _namespace(gen)


def _fused_source(rules: Sequence[tuple[ir.IR | None, ir.IR]]) -> tuple[str, dict[str, Any]]:
    gen = _NullGen()
    gen.hoist_paths([n for pair in rules for n in pair])
    body: list[str] = []
    for i, (when, condition) in enumerate(rules):
        # each rule's temporaries numbered from 1 again (lang.fusion's reason: numbered across the function, a
        # version's frame would outgrow the interpreter's stack chunk, allocated and freed on every call)
        gen.n = 0
        bit = 1 << i
        body.append(f"        if want & {bit}:")
        if may_charge([when, condition]):  # (each rule its own budget, as the rule-by-rule reading has)
            body += ["            if m is not None:", "                m.left = m.limit"]
        cond = gen.expr(condition)
        if when is None:
            body.append(f"            if {cond} is N:")
        else:
            body.append(f"            if (_w := {gen.expr(when)}) is N or _w is True and {cond} is N:")
        body.append(f"                g |= {bit}")
    lines = ["def _G(c, v, want, m):", "    try:", "        g = 0"]
    lines += ["    " + line for line in gen.prelude] + body + ["        return g", "    except Exception:",
                                                                 "        return None", ""]
    return "\n".join(lines), _namespace(gen)


def fused_gate(rules: Sequence[tuple[ir.IR | None, ir.IR]]) -> FusedGate | None:
    """``gated(case, env, want, meter)`` for a version's rules, given as (when, condition) pairs: the bit mask of
    the rules among ``want`` (bit i: rule i) that :func:`null_gate` finds gated, each let-binding computed once
    for them all, the budget refilled before each rule that can spend from it; None when anything raised (the
    caller then judges the rules one by one). None when the templates do not spell a rule, or the source
    would pass :data:`MAX_FUSED_SOURCE`."""
    try:
        source, namespace = _fused_source(rules)
    except (_Unsupported, RecursionError):
        return None
    gate: FusedGate | None = _compiled(source, namespace, "_G", MAX_FUSED_SOURCE)
    return gate


def _compiled(source: str, namespace: dict[str, Any], name: str, cap: int | None = None) -> Any:
    if len(source) > (MAX_SOURCE if cap is None else cap):
        return None
    try:
        code = code_for(source, "<policy-eval null reading>")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    scope: dict[str, Any] = {"__builtins__": {}, **namespace}
    exec(code, scope)  # noqa: S102 - source built from fixed templates over the checked trees
    return scope[name]


def null_gate(when: ir.IR | None, condition: ir.IR) -> NullGate | None:
    """``gated(case, env)`` for a rule's trees (see the module docstring), or None when the templates do not
    spell them or the source would pass :data:`MAX_SOURCE`."""
    try:
        source, namespace = _source(when, condition)
    except (_Unsupported, RecursionError):
        return None
    gate: NullGate | None = _compiled(source, namespace, "_g")
    return gate


def null_reading(node: ir.IR) -> Callable[[dict[str, Any], dict[str, Any]], Any] | None:
    """``value(case, env)`` of one expression read as :func:`null_gate` reads a rule's: its value, ``U``
    (:data:`~policy_eval.lang.values.UNKNOWN`: missing whatever the nulls hide) or :data:`NULL_DEPENDENT`;
    None as for :func:`null_gate`. (What the tests compare with the interpreter, node by node.)"""
    gen = _NullGen()
    try:
        body = gen.expr(node)
    except (_Unsupported, RecursionError):
        return None
    lines = ["def _v(c, v):", *("    " + line[4:] for line in gen.prelude), f"    return {body}", ""]
    value: Callable[[dict[str, Any], dict[str, Any]], Any] | None = _compiled("\n".join(lines), _namespace(gen), "_v")
    return value

"""Compile checked IR to one generated Python function per condition.

The fast path of evaluation. The checked tree (never policy text) is turned
into Python source from fixed templates (:mod:`policy_eval.lang.threevalued`,
:mod:`policy_eval.lang.twovalued`): every literal, field name, reader
and function is referenced through the constant tables ``K``, ``F`` and
``R`` by index, and every generated name is ours (``_t1``, ``_t2``, ...), so
nothing an author writes can become code. Three-valued logic is spelled out
with ``is U`` tests and assignment expressions. Each condition also gets
two-valued code (plain ``and``/``or``/comparisons) that runs
first and gives up at its first unknown, when the three-valued code decides:
most cases hold every fact a rule reads. Paths read more than once, and the
records on the way to them, are read once at the top.

Nodes with no template (quantifiers, indexing, dated parameters, division,
which needs a zero guard) call their closure from :mod:`policy_eval.lang.compiler`;
a quantifier's body (and its list, unless a plain read) is itself generated code
(:func:`quantifier_body`), since it runs once an item.
If the generated function raises anything but a located
:class:`~policy_eval.lang.ops.EvalFailure` (a budget error included), a
MemoryError or a RecursionError, the condition is re-evaluated with the
closures, which produce the precise located failure (or the same value):
generated code is an optimisation, never a different semantics. A let-binding
is a local ``_lN`` filled on first use by the let's own memoised function
(:func:`~policy_eval.lang.compiler.let_function`), never its code inlined (in :func:`inline`'s code for
messages and remedies, its code inline where the environment keeps no value for it). Property tests check both
paths agree with the reference interpreter.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Sequence
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.budget import current, may_charge
from policy_eval.lang.codecache import code_for
from policy_eval.lang.compiler import REF_TIME, Compiled, compile_ir, let_function, let_key
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.threevalued import _UNSET, _Gen, _never_unknown
from policy_eval.lang.twovalued import SureGen, Unsure, unsure
from policy_eval.lang.values import UNKNOWN

__all__ = ["generate", "compile_fast", "inline", "quantifier_body", "MAX_SOURCE"]

MAX_SOURCE = 50_000


def generate(node: ir.IR, slow: Compiled | None = None, two_valued: bool = True) -> tuple[str, dict[str, Any]]:
    """The source of ``def _f(c, v)`` for a condition, and the namespace it runs in: its two-valued code
    (:class:`~policy_eval.lang.twovalued.SureGen`) falling back to its three-valued code, or (``two_valued=False``) the latter alone.

    Any exception in the generated code re-runs the condition with ``slow`` (the closures), which
    raise the precise located EvalFailure or compute the same value.
    """
    gen = SureGen()
    gen.compile_body = quantifier_body
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
    # The node weakly: the function of a let-binding is kept in a dictionary weakly keyed by its node
    # (lang.compiler.remember_let), which a strong reference from the function would keep for the process's life
    # (every load of a rulebook left ~1.6 MB behind: bench/README, fifty-sixth session). A node gone before the
    # first call (nothing else held it) leaves the closures, which need it no more.
    held = weakref.ref(node)

    def first(c: dict[str, Any], v: dict[str, Any]) -> Any:
        target = held()
        fast = slow if target is None else _generated(target, name, slow)
        if fast is slow:
            namespace["_first"] = slow
        else:
            namespace.update(fast.__globals__)
            stub.__code__ = fast.__code__
        return fast(c, v)
    namespace["_first"] = first
    return stub


def quantifier_body(node: ir.IR) -> Compiled:
    """A quantifier's body as generated code (lang.threevalued's ``compile_body``): it runs once an item, where
    the closures cost a chat case a fifth of its time."""
    return compile_fast(node, "quantifier body")


_STUB = compile("def _f(c, v):\n    return _first(c, v)\n", "<policy-eval: not compiled yet>", "exec").co_consts[0]


def _generated(node: ir.IR, name: str, slow: Compiled) -> Compiled:
    """The generated function of ``node`` (``slow`` when it cannot be made, or would pass the cap)."""
    try:
        source, namespace = generate(node, slow)
        if len(source) > MAX_SOURCE:  # the two-valued variant doubles the source: without it, then
            source, namespace = generate(node, slow, two_valued=False)
        if len(source) > MAX_SOURCE:
            return slow
        code = code_for(source, f"<policy-eval: {name[:60]!r}>")
        scope: dict[str, Any] = {"__builtins__": {}, **namespace}
        exec(code, scope)  # noqa: S102 - source built from fixed templates over the checked tree
        fast: Compiled = scope["_f"]
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return slow
    return fast


class _InlineGen(_Gen):
    """:func:`inline`'s generator: a let's value is taken where its memoised function keeps it for the case (a fused
    function leaves there the lets a loud verdict's message reads), else computed by the let's own code inline, not
    by a call of that function and of the compiled code it calls (two Python frames: the messages and remedies of
    violated verdicts read lets the fused function did not compute, an amount owed say). A let that can spend from
    the budget, or whose code is longer than :data:`_LET_CAP`, is its function's, as in :class:`_Gen`. Its code
    raises what that function's code raises, so the caller's fallback on an exception (the node's own function) is
    unchanged; the value is not left in the environment."""

    def g_LetRef(self, node: ir.LetRef) -> str:
        if may_charge([node.expr]):
            return super().g_LetRef(node)
        local = self.lets.get(id(node.expr))
        if local is None:
            local = self.lets[id(node.expr)] = f"_l{len(self.lets)}"
            self.prelude.append(f"    {local} = _M")
        code = self.expr(node.expr)
        if len(code) > _LET_CAP:
            return f"({local} if {local} is not _M else ({local} := {self.fn(let_function(node.expr))}(c, v)))"
        kept, key, ref = self.tmp(), self.const(let_key(node.expr)), self.const(REF_TIME)
        return (f"({local} if {local} is not _M else ({local} := ({kept}[2] if ({kept} := v.get({key})) is not None "
                f"and {kept}[0] is c and {kept}[1] is v.get({ref}) else {code})))")


_LET_CAP = 1_500  # characters of a let's code inline (lang.codegen.inline)


def _hoist_records(gen: _Gen, nodes: Sequence[ir.IR]) -> None:
    """Each record at the case's root that two reads or more of ``nodes`` start from (``request`` of
    ``request.id`` and ``request.submitted_at``; the lets' reads counted, their code being inline) read once, in the
    lines the function starts with: ``c.get(key)`` of the case, a dict, raises nothing, so the code still raises
    only what it raised (the read into the record stays in each node's code). A violated verdict's message and
    remedies read ~16 values, most from ``order`` and ``request``."""
    uses: dict[str, int] = {}
    for n in ir.walk(*nodes):
        path = ir.root_path(n) if type(n) is ir.Field and n.type.name != "record" else None
        if path is not None and len(path) > 1:
            uses[path[0]] = uses.get(path[0], 0) + 1
    for key, count in sorted(uses.items()):
        if count > 1:
            name = f"_r{len(gen.records)}"
            gen.prelude.append(f"    {name} = c.get({gen.const(key)})")
            gen.records[(key,)] = name


def inline(nodes: Sequence[Any], cap: int = 4_000) -> tuple[list[str | None], list[str], dict[str, Any]]:
    """Three-valued code for each of ``nodes`` as an expression of ``c`` (the case) and ``v`` (the
    environment), for one function the caller generates around them: (each node's code, or None for a node
    that is not a checked tree, can spend from the budget (lang.budget.may_charge: the caller calls the
    node's own function, which spends as the rules' do) or takes more than ``cap`` characters; the lines the
    function starts with (a let's "not computed yet" local, a record of the case read once); the names the code
    reads). The code raises what the node's generated function would raise before its fallback to the closures, so
    a caller that calls that function on any exception gets its value or its failure exactly. The code's own names
    start with ``_t``, ``_l``, ``_r``, ``_k`` or ``_f`` followed by a digit, or are ``U``, ``_M``, ``c`` and ``v``."""
    gen = _InlineGen()
    _hoist_records(gen, [n for n in nodes if isinstance(n, ir.IR) and not may_charge([n])])
    codes: list[str | None] = []
    for node in nodes:
        if not isinstance(node, ir.IR) or may_charge([node]):
            codes.append(None)
            continue
        code = gen.expr(node)
        codes.append(code if len(code) <= cap else None)
    namespace: dict[str, Any] = {"U": UNKNOWN, "_M": _UNSET}
    namespace.update({f"_k{i}": k for i, k in enumerate(gen.K)})
    namespace.update({f"_f{i}": f for i, f in enumerate(gen.F)})
    return codes, list(gen.prelude), namespace

"""Fuse a policy version's rules into one generated function: every rule's outcome on a case in one call.

Input: the steps of a version's plan, as plain data (a :class:`Step` per rule: its ``when`` and condition
trees, ``require`` or ``forbid``, the earlier steps it depends on with the outcomes it wants from them,
whether it is counted) and the tokens that stand for the outcomes. Output: ``run(c, v, meter)``, which
returns ``(complied, not_applicable, loud, outcomes, complied_mask)``: the counts over the counted steps, ``loud`` the
steps violated or undetermined as a bit mask (bit i: step i; 0 when none), ``outcomes``, one token per step (``gated`` for a step an undetermined
dependency leaves undetermined; a step whose own ``when`` is false does not apply, whatever its
dependencies), and ``complied_mask`` the steps complied, counted or not (with ``loud``, the pattern of outcomes: what
run.written keys a version's verdicts by). It returns None when anything
raised: the caller then decides the case rule by rule, which locates the failure (generated code is an
optimisation, never a different semantics). The function also carries its body as lines (:class:`Inline`, read by
:func:`inline_of`), which the embedding API's whole-result glue generates into its own frame (run.lazycode).

Why: the rules of a version read the same case paths and the same definitions. Compiled one by one, each
rule reads its paths again and fetches each definition through its memo in the environment; fused, a
path read more than once is read once at the top, and a let-binding (a definition or a rule's ``let``)
is a local computed on first use, with its code inline. The code comes from the fixed templates of
:mod:`policy_eval.lang.codegen` over the checked trees, so nothing an author writes becomes code.
A let used in many places is inlined at each (behind its "computed yet?" test), so generated source is
capped (:data:`MAX_FUSED_SOURCE`): a version whose source would exceed it is not fused, and loading
costs no more than the cap whatever the policy. The budget meter is refilled before each rule that can
spend from it (:func:`~policy_eval.lang.budget.may_charge`), as the rule-by-rule path refills it before
every rule: a rule that cannot spend cannot run out. Each rule is decided by its two-valued code first (see :mod:`policy_eval.lang.codegen`)
and, at its first unknown, by its three-valued code with the budget refilled again; a version whose source
would pass the cap with the two-valued code is fused without it.

A step may name the let-bindings its rule's message and remedies read (``shown``): when the step is violated or
undetermined, the function leaves the values it computed of those in ``v``, under the keys their memoised functions
keep them by (:func:`~policy_eval.lang.compiler.let_key`), so that the verdict's message does not compute them again.
They are the values those functions give on the case (each let's two- and three-valued code agree where both
decide); the caller keeps them only where it ran the function on a case it reads exactly (not a null read as absent),
and only when the function returned. An undetermined step leaves those its own ``when`` and condition read too, which
its trace then takes as they are (lang.exports).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.budget import BudgetExceeded, may_charge
from policy_eval.lang.codecache import code_for
from policy_eval.lang.codegen import quantifier_body
from policy_eval.lang.exports import fused_exports
from policy_eval.lang.threevalued import _NAME, _UNSET, _never_unknown, _root_path
from policy_eval.lang.twovalued import SureGen, Unsure, unsure
from policy_eval.lang.values import UNKNOWN

__all__ = ["Step", "Tokens", "fuse", "inline_of", "Inline", "MAX_FUSED_SOURCE"]

MAX_FUSED_SOURCE = 400_000  # characters of generated source per version; beyond it, rule by rule

Fused = Callable[[dict[str, Any], dict[str, Any], Any], "tuple[int, int, int, tuple[Any, ...], int] | None"]


@dataclass(frozen=True)
class Step:
    when: ir.IR | None
    condition: ir.IR
    forbid: bool
    depends: tuple[tuple[int, frozenset[Any]], ...]  # (index of an earlier step, outcomes wanted from it)
    counted: bool
    shown: tuple[ir.IR, ...] = ()  # the let-bindings its message and remedies read (see the module docstring)


@dataclass(frozen=True)
class Tokens:
    complied: Any
    violated: Any
    not_applicable: Any
    undetermined: Any
    gated: Any  # undetermined because a dependency is


class _TooLarge(Exception):
    pass


class _Null(Exception):
    """A case path the fused function read holds a null (the case goes the general way)."""


def _null() -> Any:
    raise _Null


def _no_null(case: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> bool:
    """True, or :class:`_Null` raised when one of ``paths`` (or a record on the way) holds a null."""
    for keys in paths:
        node: Any = case
        for key in keys:
            if type(node) is not dict:
                break
            node = node.get(key, _ABSENT)
            if node is None:
                raise _Null
            if node is _ABSENT:
                break
    return True


_ABSENT = object()  # a key missing from the case


class _FusedGen(SureGen):
    """codegen's templates (two-valued and three-valued), with let-bindings inlined as lazily computed locals
    and the size capped; with ``exact_nulls``, a null on a case path it reads raises."""

    def __init__(self, exact_nulls: bool = False) -> None:
        super().__init__()
        self.exact_nulls = exact_nulls
        self.inlined = 0
        self.sure_lets: dict[int, str] = {}

    def top(self, node: ir.IR, sure: bool = False, facts: frozenset[str] = frozenset()) -> str:
        """Code for a whole expression of the function (a rule's ``when`` or condition). Its temporaries are
        numbered from 1 again: each is bound and read within the expression that binds it, so the
        expressions of different rules can share them. (Numbered across the whole function, a version of 17
        rules had 1,602 of them: a frame of 1,706 locals, 14 KB, too large for the interpreter's stack chunk,
        so that each call allocated and freed one, 20 µs a record in all.)"""
        self.n = 0
        return self.sure_expr(node, facts) if sure else self.expr(node)

    def s_LetRef(self, node: ir.LetRef) -> str:
        """A let in two-valued code: a local of its own (the three-valued local may hold unknown)."""
        return self._inline(node, self.sure_lets, "_s")

    def g_LetRef(self, node: ir.LetRef) -> str:
        return self._inline(node, self.lets, "_l")

    def tested(self, node: ir.IR) -> frozenset[str]:
        """SureGen's, and a let's: its two-valued local holds a value only once its code has returned, here or
        earlier in the same call (the hoisted reads never change within one), so what that code tests is tested."""
        if isinstance(node, ir.LetRef):
            return self.checked(node.expr)
        return super().tested(node)

    def _inline(self, node: ir.LetRef, locals_: dict[int, str], prefix: str) -> str:
        """The let's code inline, behind its local's "computed yet?" test; the size is capped."""
        local = locals_.get(id(node.expr))
        if local is None:
            local = locals_[id(node.expr)] = f"{prefix}{len(locals_)}"
            if prefix != "_l":  # (a three-valued local is set where three-valued code first runs: see _source)
                self.prelude.append(f"    {local} = _M")
        code = self.expr(node.expr)
        self.inlined += len(code)
        if self.inlined > MAX_FUSED_SOURCE:
            raise _TooLarge
        return f"({local} if {local} is not _M else ({local} := {code}))"

    def closure(self, node: ir.IR) -> str:
        """A node without a template calls its closure, which reads a null as a missing key: the case paths it
        reads are looked at first, and a null on one raises (see ``exact_nulls``)."""
        paths = ir.root_paths(node) if self.exact_nulls else ()
        call = super().closure(node)
        return f"({self.fn(_no_null)}(c, {self.const(paths)}) and {call})" if paths else call

    def hoist_all(self, roots: Sequence[ir.IR], required: frozenset[tuple[str, ...]] = frozenset()) -> None:
        """Read each case path that the rules (and the lets they use, each once) read more than once a single
        time, at the top (a required record tested there: ``hoist_counted``)."""
        counts: dict[tuple[str, ...], list[ir.Field]] = {}
        seen_lets: set[int] = set()
        stack = list(roots)
        while stack:
            n = stack.pop()
            if isinstance(n, ir.LetRef):
                if id(n.expr) in seen_lets:
                    continue
                seen_lets.add(id(n.expr))
            if isinstance(n, ir.Field) and n.type.name != "record":
                path = _root_path(n)
                if path is not None:
                    counts.setdefault(path, []).append(n)
            stack.extend(ir.children(n))
        self.hoist_counted(counts, required)


def _source(steps: Sequence[Step], tokens: Tokens, two_valued: bool = True, exact_nulls: bool = False,
            required: frozenset[tuple[str, ...]] = frozenset()) -> tuple[str, Inline]:
    gen = _FusedGen(exact_nulls)
    gen.compile_body = quantifier_body
    gen.hoist_all([n for s in steps for n in (s.when, s.condition) if n is not None],
                  required if two_valued else frozenset())
    # the hoisted reads of paths every checked case holds (``required``): tested once, at the top, where one that is
    # unknown makes the function give up (None: the caller decides the case rule by rule); every two-valued
    # expression below then uses them untested
    sure = frozenset(n for path, n in gen.hoisted.items() if path in required and _NAME.fullmatch(n)) \
        if two_valued else frozenset()
    if sure:
        gen.prelude.append(f"    if {' or '.join(f'{n} is U' for n in sorted(sure))}:")
        gen.prelude.append("        _u()")
    names = {"_CO": tokens.complied, "_VI": tokens.violated, "_NA": tokens.not_applicable,
             "_UN": tokens.undetermined, "_GA": tokens.gated}
    body: list[str] = []
    size = 0  # characters of body so far
    for i, step in enumerate(steps):
        start = len(body)
        out = f"_o{i}"
        # (bit i: step i violated or undetermined. Added, not or-ed: a step takes one of its branches once a call,
        # so its bit is set at most once, and CPython 3.11 specialises an int's `+=`, not its `|=`)
        loud = f"_loud += {1 << i}"
        na = ["_na += 1"] if step.counted else []
        # (bit i of _cm: step i complied, counted or not: with _loud, which outcome each step has)
        co = (["_co += 1"] if step.counted else []) + [f"_cm += {1 << i}"]
        indent = "        "
        body.append(f"{indent}# step {i}")
        if step.depends:
            off = " or ".join(f"(_o{d} is not _UN and _o{d} not in {gen.const(wanted)})" for d, wanted in step.depends)
            undecided = " or ".join(f"_o{d} is _UN" for d, _ in step.depends)
            body.append(f"{indent}if {off}:")
            body += [f"{indent}    {out} = _NA"] + [f"{indent}    {x}" for x in na]
            body.append(f"{indent}elif {undecided}:")
            held = [f"{out} = _UN", f"_g{i} = True", loud]  # (the dependency holds it undetermined)
            if step.when is None:
                body += [f"{indent}    {x}" for x in held]
            else:  # its own `when` false: not applicable whatever the dependency (run.kernel.when_false)
                if may_charge([step.when]):
                    body += [f"{indent}    if m is not None:", f"{indent}        m.left = m.limit"]
                body.append(f"{indent}    if {gen.top(step.when)} is False:")
                body += [f"{indent}        {out} = _NA"] + [f"{indent}        {x}" for x in na]
                body.append(f"{indent}    else:")
                body += [f"{indent}        {x}" for x in held]
            body.append(f"{indent}else:")
            indent += "    "
        # each rule its own budget: refilled before a rule whose conditions can spend from it (none of the
        # steps before could have left it short for one that cannot)
        charges = may_charge([step.when, step.condition])
        if charges:
            body.append(f"{indent}if m is not None:")
            body.append(f"{indent}    m.left = m.limit")
        when = gen.top(step.when) if step.when is not None else "True"
        cond = gen.top(step.condition)
        good, bad = ("_VI", "_CO") if step.forbid else ("_CO", "_VI")
        if two_valued and not all(_never_unknown(n) for n in (step.when, step.condition) if n is not None):
            # two-valued first; at its first unknown, the three-valued code below with the budget refilled
            sure_when = gen.top(step.when, sure=True, facts=sure) if step.when is not None else None
            # (the condition runs only where the `when` returned true: what that tested or found is known there)
            sure_cond = gen.top(step.condition, sure=True, facts=sure if step.when is None
                                else sure | gen.known(step.when) | gen.checked(step.when))
            body.append(f"{indent}try:")
            if sure_when is not None:
                body.append(f"{indent}    if not {sure_when}:")
                body += [f"{indent}        {out} = _NA"] + [f"{indent}        {x}" for x in na]
                body.append(f"{indent}    elif {sure_cond}:")
            else:
                body.append(f"{indent}    if {sure_cond}:")
            body += [f"{indent}        {out} = {good}"] + [f"{indent}        {x}" for x in (co if good == "_CO" else [loud])]
            body.append(f"{indent}    else:")
            body += [f"{indent}        {out} = {bad}"] + [f"{indent}        {x}" for x in (co if bad == "_CO" else [loud])]
            body.append(f"{indent}except _Unsure:")
            indent += "    "
            if charges:
                body.append(f"{indent}if m is not None:")
                body.append(f"{indent}    m.left = m.limit")
        three, three_indent = len(body), indent  # (where the step's three-valued code starts)
        body.append(f"{indent}if (_w := {when}) is False:")
        body += [f"{indent}    {out} = _NA"] + [f"{indent}    {x}" for x in na]
        body.append(f"{indent}elif _w is U or (_x := {cond}) is U:")
        body += [f"{indent}    {out} = _UN", f"{indent}    {loud}"]
        body.append(f"{indent}elif _x:")
        body += [f"{indent}    {out} = {good}"] + [f"{indent}    {x}" for x in (co if good == "_CO" else [loud])]
        body.append(f"{indent}else:")
        body += [f"{indent}    {out} = {bad}"] + [f"{indent}    {x}" for x in (co if bad == "_CO" else [loud])]
        # the three-valued lets' locals (``_lN``), set to "not computed yet" where a step first reads one, not at the
        # top: most cases never leave the two-valued code, which reads none
        reads = [bool(_THREE_LOCAL.search(line)) for line in body[start:]]
        if any(reads):
            at, ind = (start + 1, "        ") if any(reads[:three - start]) else (three, three_indent)
            body[at:at] = [f"{ind}if _z:", f"{ind}    {_THREE_MARK}", f"{ind}    _z = False"]
        size += sum(len(x) for x in body[start:])
        if size > MAX_FUSED_SOURCE:
            raise _TooLarge
    three_locals = " = ".join([*gen.lets.values(), "_M"])
    body = [line.replace(_THREE_MARK, three_locals) for line in body]
    uses_env = any(_ENV.search(line) for line in (*gen.prelude, *body))
    exports = fused_exports(gen, steps)
    body += exports
    gated = [i for i, s in enumerate(steps) if s.depends]
    outcomes = [f"(_GA if _g{i} else _o{i})" if i in gated else f"_o{i}" for i in range(len(steps))]
    outs = ", ".join(outcomes)
    inner = ["        _co = _na = _loud = _cm = 0", *(["        _z = True"] if gen.lets else []),
             *(f"        _g{i} = False" for i in gated),
             *("    " + line for line in gen.prelude), *body]
    # (the function itself counts the steps that do not apply at the end, not one by one: each counted step is
    # complied, loud or not applicable, and most do not apply; the body kept for run.lazycode counts them as it goes)
    counted = sum(1 << i for i, s in enumerate(steps) if s.counted)
    loud_counted = "_loud" if counted == (1 << len(steps)) - 1 else f"(_loud & {counted})"
    not_applicable = f"{counted.bit_count()} - _co - {loud_counted}.bit_count()"
    kept = [line for line in inner if not line.lstrip().startswith("_na += ")]
    # the names read most, as defaults: a local is read in about a third less time than a global. The markers every
    # step reads, and what the hoisted reads at the top read most (the text's class, the timestamps' memo, the
    # readers), found in the prelude: counted over the whole body instead (the after-sales version's 170 KB, ~6 ms
    # at start-up), the most read names made no fewer instructions a record (bench/README, fifty-fourth session)
    read = Counter(_GLOBAL.findall("\n".join(gen.prelude))).most_common(_HOT - len(_MARKERS))
    hot = [*_MARKERS, *(n for n, k in read if k > 1 and n not in _MARKERS)]
    lines = [f"def _run(c, v, m{''.join(f', {n}={n}' for n in hot)}):", "    try:", *kept,
             f"        return (_co, {not_applicable}, _loud, ({outs},), _cm)", *_HANDLERS, ""]
    namespace: dict[str, Any] = {"U": UNKNOWN, "_M": _UNSET, "Exception": Exception, "_u": unsure,
                                 "_Unsure": Unsure, "_n": _null, "_Budget": BudgetExceeded, **names}
    namespace.update({f"_k{i}": k for i, k in enumerate(gen.K)})
    namespace.update({f"_f{i}": f for i, f in enumerate(gen.F)})
    return "\n".join(lines), Inline(tuple(inner), tuple(outcomes), namespace, uses_env, len(exports))


# a constant or function of the fused function's namespace, and how many names at most become its defaults
_GLOBAL = re.compile(r"(?<![\w.])(_k\d+|_f\d+)(?!\w)")
_HOT = 16
_MARKERS = ("U", "_M", "_NA", "_CO", "_VI")  # (unknown, not computed yet, and the commonest outcomes)
_ENV = re.compile(r"(?<![\w.])v(?!\w)")  # the name ``v`` in generated code (every other name starts with ``_``)
_THREE_LOCAL = re.compile(r"(?<![\w.])_l\d+(?!\w)")  # a three-valued let's local (``_FusedGen.g_LetRef``)
_THREE_MARK = "_l_all_ = _M"  # (in place of every such local, once all are known: see _source)

# what the fused function does when its body raised: None (the caller decides the rules one by one; after
# BudgetExceeded not with this function again)
_HANDLERS = ("    except _Budget:", "        if m is not None:", "            m.fused = False", "        return None",
             "    except Exception:", "        return None")


@dataclass(frozen=True)
class Inline:
    """A fused function's body, for a caller that generates it into a function of its own (run.lazycode's whole
    glue: one frame fewer an API call): ``body``, lines indented 8 to go inside ``try:`` (followed by
    :data:`_HANDLERS`), in a function whose locals ``c``, ``v`` and ``m`` are the fused function's arguments;
    then ``_co``, ``_na``, ``_loud`` and ``_cm`` hold what it returns, and ``outcomes`` are the expressions of its
    outcomes, one a step. Every name the body reads besides those is in ``namespace``; each local it binds starts
    with an underscore followed by a lower-case letter."""

    body: tuple[str, ...]
    outcomes: tuple[str, ...]
    namespace: dict[str, Any]
    # whether the body reads or passes on ``v`` besides its last ``exports`` lines (those, when a step was loud,
    # leave lets' values in it: ``if _loud:``, then ``_xr = v.get(...)`` reading the reference time, then the stores)
    uses_env: bool = True
    exports: int = 0
    handlers: tuple[str, ...] = _HANDLERS

    def lines(self, *counts: str, on_loud: str | None = None) -> tuple[str, ...]:
        """The body keeping only the named counts of ``_co``, ``_na`` and ``_cm`` up to date (the others stay 0:
        each count is added to in statements of its own, one a line, and read nowhere else in the body); with
        ``on_loud`` (a statement binding ``v``, for a body that does not use it otherwise), that statement first
        where a loud step leaves its lets' values in ``v`` (:func:`_exports`: an ``if _loud:`` block)."""
        dropped = tuple(f"{name} += " for name in ("_co", "_na", "_cm") if name not in counts)
        body = [line for line in self.body if not line.lstrip().startswith(dropped)]
        if on_loud is not None and self.exports:
            at = len(body) - self.exports + 1  # (inside the exports' ``if _loud:``, which comes first)
            body.insert(at, "            " + on_loud)
        return tuple(body)


def inline_of(fn: Any) -> Inline | None:
    """The body of a function :func:`fuse` made, or None for any other function."""
    made = getattr(fn, "inline", None)
    return made if isinstance(made, Inline) else None


def fuse(steps: Sequence[Step], tokens: Tokens, name: str = "version", exact_nulls: bool = False,
         required: frozenset[tuple[str, ...]] = frozenset()) -> Fused | None:
    """The fused function of ``steps`` (see the module docstring), or None when it cannot be made within
    the cap (the caller then runs the rules one by one). ``exact_nulls``: a null on a case path it reads
    (from the root, through fields: where the general path judges nulls by three-valued logic) makes it
    give up, while a missing key reads as unknown; without it, both read as unknown. ``required``: case paths
    that every case its caller checks holds (rulebook.required): the function tests those it reads once, at the
    top, and gives up (None) on a case without one, which then goes the general way."""
    if not steps:
        return None
    try:
        try:
            source, inline = _source(steps, tokens, exact_nulls=exact_nulls, required=required)
            if len(source) > MAX_FUSED_SOURCE:
                raise _TooLarge
        except _TooLarge:  # the two-valued code doubles the source: without it, then
            source, inline = _source(steps, tokens, two_valued=False, exact_nulls=exact_nulls)
        if len(source) > MAX_FUSED_SOURCE:
            return None
        code = code_for(source, f"<policy-eval: {name[:60]!r} fused>")
        scope: dict[str, Any] = {"__builtins__": {}, **inline.namespace}
        exec(code, scope)  # noqa: S102 - source built from fixed templates over the checked trees
    except (_TooLarge, SyntaxError, RecursionError, MemoryError, ValueError):
        return None
    fused: Fused = scope["_run"]
    fused.inline = inline  # type: ignore[attr-defined]  # (read by inline_of)
    return fused

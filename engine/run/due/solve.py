"""Where a condition can change as one instant moves: candidate instants, derived exactly.

Input: checked IR (:mod:`policy_eval.lang.ir`), a case, and the *moving* inputs: case paths
(``snapshot_at``, or a field whose value is being varied) and optionally the reference time
(``$ref``, which picks dated parameters). Output: every instant at which a comparison the
condition makes could flip, with the source of the other side (``deadline``,
``request.submitted_at + handling_limit``), or :class:`Unsolvable` naming the sub-expression
whose dependence on time cannot be solved exactly.

Method. Every value that depends on the moving instant ``t`` is tracked as a set of
*alternatives* ``s·t + k`` in microseconds (``s`` in -1, 0, 1; a datetime is microseconds
since the epoch, a duration microseconds), with ``k`` computed concretely from the case:
``t + 48h``, ``t - submitted_at``, ``max(t, promised_ship_by)``, ``if … then t else x``.
A comparison between such a value and a value that does not move, or between two of them,
flips only where two alternatives are equal, so those instants are the candidates. Boolean
structure (and, or, not, if, quantifiers over lists that do not move) combines comparisons
without adding new flips, so the outcome of a rule is constant between consecutive
candidates: evaluating at each candidate and one microsecond after it (the resolution of a
timestamp) finds every change. Anything else that moves (``date_of(t)``,
``add_workdays(t, n)``, ``(t - x) * 2``, a list or text built from ``t``) is refused.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.compiler import Compiled, compile_ir
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import SHANGHAI, UNKNOWN

__all__ = ["Candidate", "Unsolvable", "Solver", "to_us", "from_us", "static_path", "ONE_US"]

EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
ONE_US = _dt.timedelta(microseconds=1)
_COMPARE = ("<", "<=", ">", ">=", "==", "!=")
_DATA_ERRORS = (EvalFailure, ArithmeticError, OverflowError, TypeError, ValueError)


class Unsolvable(Exception):
    """The condition depends on the moving instant in a way not solved exactly."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.message = message
        self.text = text


@dataclass(frozen=True, slots=True)
class Candidate:
    """An instant where a comparison may flip, and what it was compared with."""

    at: _dt.datetime
    source: str  # the text of the other side (a deadline expression), or a description


def to_us(value: Any) -> int | None:
    """Microseconds: datetimes since the epoch, durations as they are; None for anything else."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=SHANGHAI)
        return (value - EPOCH) // ONE_US
    if isinstance(value, _dt.timedelta):
        return value // ONE_US
    return None


def from_us(us: int) -> _dt.datetime | None:
    try:
        return (EPOCH + _dt.timedelta(microseconds=us)).astimezone(SHANGHAI)
    except OverflowError:
        return None


def static_path(node: ir.IR) -> str | None:
    """``order.received_at`` for a field chain from the case root; None otherwise."""
    keys: list[str] = []
    cur: ir.IR | None = node
    while isinstance(cur, ir.Field):
        keys.append(cur.key)
        cur = cur.base
    if cur is not None or not keys:
        return None
    return ".".join(reversed(keys))


# What a moving sub-expression is: _BOOL (a boolean whose flips are already collected),
# _OPAQUE (some other value, constant between collected flips: a dated text parameter, a count)
# or a frozenset of (s, k) alternatives, the value being s·t + k at every t.
_BOOL = "bool"
_OPAQUE = "opaque"
Forms = frozenset[tuple[int, Any]]
Moving = Any  # None (does not move), _BOOL, _OPAQUE or Forms


_LETS = "$due-lets"  # where a call keeps its walked lets (a name no variable can have)

class Solver:
    """Candidate instants for conditions of one rulebook; caches compiled sub-expressions.

    ``paths``: the case paths that move with ``t`` (the case must already hold a value for them,
    any value: they are compared, never read for their value). ``ref``: whether ``$ref`` moves.
    """

    def __init__(self, paths: Iterable[str], *, ref: bool = False) -> None:
        self.paths = frozenset(paths)
        self.ref = ref
        self._moves: dict[int, bool] = {}
        self._compiled: dict[int, tuple[ir.IR, Compiled]] = {}

    # --- public -------------------------------------------------------------------------------
    def candidates(self, nodes: Iterable[ir.IR], case: dict[str, Any], env: Mapping[str, Any]) -> list[Candidate]:
        """The flip instants of these conditions on this case (unsorted, may repeat)."""
        out: list[Candidate] = []
        lets: dict[int, Any] = {}  # each let walked once per call: it has no free variables (a chain of n lets
        for node in nodes:         # used twice each would otherwise cost 2^n walks)
            if self.moves(node):
                self._walk(node, case, {**env, _LETS: lets}, out)
        return out

    def moves(self, node: ir.IR) -> bool:
        """Whether the value of ``node`` can depend on ``t`` (static, cached per node)."""
        key = id(node)
        hit = self._moves.get(key)
        if hit is None:
            if isinstance(node, ir.Field) and static_path(node) in self.paths:
                hit = True
            elif isinstance(node, ir.DatedParam):
                hit = self.ref
            else:
                hit = any(self.moves(c) for c in ir.children(node))
            self._moves[key] = hit
        return hit

    # --- internals ----------------------------------------------------------------------------
    def _value(self, node: ir.IR, case: dict[str, Any], env: dict[str, Any]) -> Any:
        entry = self._compiled.get(id(node))
        if entry is None:
            entry = (node, compile_ir(node))  # the node is kept so its id stays unique
            self._compiled[id(node)] = entry
        try:
            return entry[1](case, env)
        except _DATA_ERRORS:
            return UNKNOWN  # an error does not move with t: it adds no flip

    def _forms(self, node: ir.IR, case: dict[str, Any], env: dict[str, Any], out: list[Candidate]) -> Forms | None:
        """Alternatives of a value, moving or not (None: not a time or duration, or unknown)."""
        if self.moves(node):
            got = self._walk(node, case, env, out)
            if isinstance(got, frozenset):
                return got
            raise Unsolvable(f"`{node.text}` depends on the time in a way that is not solved exactly", node.text)
        us = to_us(self._value(node, case, env))
        return None if us is None else frozenset({(0, us)})

    def _walk(self, node: ir.IR, case: dict[str, Any], env: dict[str, Any], out: list[Candidate]) -> Moving:
        if not self.moves(node):
            return None
        if isinstance(node, ir.Field) and static_path(node) in self.paths:
            return frozenset({(1, 0)})
        if isinstance(node, ir.DatedParam):
            values = [to_us(v) for v in node.values]
            for start in node.starts:
                out.append(Candidate(start, f"parameter {node.name} changes value"))
            if all(v is not None for v in values):
                return frozenset((0, v) for v in values)
            return _OPAQUE
        if isinstance(node, ir.LetRef):
            memo = env.get(_LETS)
            if memo is None:
                return self._walk(node.expr, case, env, out)
            if id(node.expr) not in memo:
                memo[id(node.expr)] = self._walk(node.expr, case, env, out)
            return memo[id(node.expr)]
        if isinstance(node, (ir.And, ir.Or)):
            self._walk(node.left, case, env, out)
            self._walk(node.right, case, env, out)
            return _BOOL
        if isinstance(node, ir.Not):
            self._walk(node.operand, case, env, out)
            return _BOOL
        if isinstance(node, ir.If):
            return self._if(node, case, env, out)
        if isinstance(node, ir.Op):
            return self._op(node, case, env, out)
        if isinstance(node, ir.Call):
            return self._call(node, case, env, out)
        if isinstance(node, ir.Quant):
            return self._quant(node, case, env, out)
        return self._piecewise(node, ir.children(node), case, env, out)

    def _piecewise(self, node: ir.IR, args: Iterable[ir.IR], case: dict[str, Any], env: dict[str, Any],
                   out: list[Candidate]) -> Moving:
        """A value computed from parts that are constant between collected flips is too; a part
        that moves continuously (a time) makes it unsolvable."""
        for a in args:
            if isinstance(self._walk(a, case, env, out), frozenset):
                raise Unsolvable(f"`{node.text}` depends on the time in a way that is not solved exactly",
                                 node.text)
        return _BOOL if node.type.name == "bool" else _OPAQUE

    def _if(self, node: ir.If, case: dict[str, Any], env: dict[str, Any], out: list[Candidate]) -> Moving:
        self._walk(node.test, case, env, out)
        if node.type.name == "bool":
            self._walk(node.then, case, env, out)
            self._walk(node.other, case, env, out)
            return _BOOL
        if node.type.name in ("datetime", "duration"):
            a = self._forms(node.then, case, env, out) or frozenset()
            b = self._forms(node.other, case, env, out) or frozenset()
            return a | b
        if self.moves(node.then) or self.moves(node.other):
            raise Unsolvable(f"`{node.text}` depends on the time in a way that is not solved exactly", node.text)
        return _OPAQUE  # constant branches chosen by a test whose flips are collected

    def _op(self, node: ir.Op, case: dict[str, Any], env: dict[str, Any], out: list[Candidate]) -> Moving:
        sym, args = node.symbol, node.args
        if sym in _COMPARE and len(args) == 2:
            if any(a.type.name in ("datetime", "duration") for a in args):
                left = self._forms(args[0], case, env, out)
                right = self._forms(args[1], case, env, out)
                if left and right:
                    other = args[1] if self.moves(args[0]) else args[0]
                    _crossings(left, right, f"`{other.text}`", out)
                return _BOOL
            return self._piecewise(node, args, case, env, out)
        if node.type.name in ("datetime", "duration"):
            if sym in ("+", "-") and len(args) == 2:
                left = self._forms(args[0], case, env, out)
                right = self._forms(args[1], case, env, out)
                if not left or not right:
                    return frozenset()  # unknown for every t: no flip
                sign = 1 if sym == "+" else -1
                forms = frozenset((s1 + sign * s2, k1 + sign * k2) for s1, k1 in left for s2, k2 in right)
                if any(abs(s) > 1 for s, _ in forms):
                    raise Unsolvable(f"`{node.text}` adds the moving time to itself", node.text)
                return forms
            if sym == "-" and len(args) == 1:
                inner = self._forms(args[0], case, env, out) or frozenset()
                return frozenset((-s, -k) for s, k in inner)
            if not any(isinstance(self._walk(a, case, env, out), frozenset) for a in args):
                return _OPAQUE  # e.g. a dated duration parameter times a number
            raise Unsolvable(f"`{node.text}` scales the moving time; not solved exactly", node.text)
        return self._piecewise(node, args, case, env, out)

    def _call(self, node: ir.Call, case: dict[str, Any], env: dict[str, Any], out: list[Candidate]) -> Moving:
        name = node.name
        if name == "exists":
            # the moving paths always hold a value; anything built from them is unknown for every t or none
            self._walk(node.args[0], case, env, out)
            return _BOOL
        if node.type.name in ("datetime", "duration") and name in ("default", "max", "min", "abs"):
            forms: set[tuple[int, Any]] = set()
            for a in node.args:
                got = self._forms(a, case, env, out)
                if got:
                    forms |= got
                    if name == "abs":
                        forms |= {(-s, -k) for s, k in got}
            if name in ("max", "min", "abs"):  # where the pick switches between alternatives
                _crossings(frozenset(forms), frozenset(forms), f"the {name} in `{node.text}` switches", out)
            return frozenset(forms)
        for a in node.args:
            if isinstance(self._walk(a, case, env, out), frozenset):
                raise Unsolvable(f"`{node.text}`: {name}(...) of a moving time is not solved exactly", node.text)
        return _BOOL if node.type.name == "bool" else _OPAQUE

    def _quant(self, node: ir.Quant, case: dict[str, Any], env: dict[str, Any], out: list[Candidate]) -> Moving:
        if self.moves(node.collection):
            raise Unsolvable(f"`{node.text}` ranges over a list that depends on the time", node.text)
        seq = self._value(node.collection, case, env)
        if isinstance(seq, list):
            saved = env.get(node.var, UNKNOWN)
            try:
                for item in seq:
                    env[node.var] = UNKNOWN if item is None else item
                    if isinstance(self._walk(node.body, case, env, out), frozenset):
                        raise Unsolvable(f"`{node.text}` collects moving times", node.text)
            finally:
                env[node.var] = saved
        return _BOOL if node.type.name == "bool" else _OPAQUE


def _crossings(left: Forms, right: Forms, source: str, out: list[Candidate]) -> None:
    """Instants where an alternative of one side equals one of the other (both, when not exact)."""
    for s1, k1 in left:
        for s2, k2 in right:
            ds = s1 - s2
            if ds == 0:
                continue  # parallel: the comparison does not change with t
            q, r = divmod(k2 - k1, ds)
            for us in ((q,) if r == 0 else (q, q + 1)):
                at = from_us(us)
                if at is not None:
                    out.append(Candidate(at, source))

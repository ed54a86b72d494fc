"""Reference interpreter over checked IR, with explanations.

Input: IR, a raw case record and an environment. Output: the value plus a
:class:`Trace` — the concrete case paths that were missing, the input values
read, and the values of the sub-expressions that decided the result.

It is deliberately a plain tree walk, written independently of the
compiler: property tests check that both agree, and verdicts use it to
explain a decision after the fast path has computed it.

:func:`interpret_nulls` evaluates with an explicit ``null`` in the case read as *unknown* (any value, or
none), not as absent: a rule judged on a case record (docs/language.md, "Absent and null"). Every value
is then known, *missing* (unknown because something is absent: the same whatever the nulls hide) or
*null-dependent* (it could be another value for another reading of a null). Kleene logic still decides:
``false and <null-dependent>`` is false; ``exists`` and ``default`` of a null-dependent value are
null-dependent, where of a missing one they are false and the fallback. Nulls inside lists are read as
missing values, as :func:`interpret` does.
"""

from __future__ import annotations

import bisect
import decimal
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import shown_repr
from policy_eval.lang import ir
from policy_eval.lang.budget import charge
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.quantifiers import plus, zero_of
from policy_eval.lang.readers import ReadError
from policy_eval.lang.traces import MAX_STEPS, Step, Trace
from policy_eval.lang.values import UNKNOWN

__all__ = ["Trace", "interpret", "interpret_nulls", "Reading", "Step", "MAX_STEPS"]

Blame = tuple[str, ...]
_NONE: Blame = ()


@dataclass
class Reading:
    """What the three-valued reading of one case keeps from one condition to the next (with one environment):
    the let-bindings' values and the nulls found. Shared by the rules of a policy version, it evaluates a
    definition they share once per case, as the compiled functions do."""

    lets: dict[int, tuple[Any, Blame]] = field(default_factory=dict)
    nulls: set[str] = field(default_factory=set)


def _merge(*blames: Blame) -> Blame:
    out: list[str] = []
    for b in blames:
        for p in b:
            if p not in out:
                out.append(p)
    return tuple(out)


def _rooted(node: ir.Field) -> bool:
    """Whether a field is read from the case root through fields only (no list item, variable or let)."""
    base = node.base
    while isinstance(base, ir.Field):
        base = base.base
    return base is None


_NO_VALUE = object()  # (what no body gives: a fold has no deciding item)


class _Interp:
    """Evaluates to ``(value, blame)``: blame lists the missing case paths an unknown value comes from.

    With a :class:`Reading` an explicit null outside lists is unknown rather than absent: the blame paths at
    or under one are recorded in its ``nulls`` as they are read, and an unknown value whose blame holds one
    of them is null-dependent; one whose blame holds none is missing whatever the nulls hide.
    """

    def __init__(self, case: dict[str, Any], trace: Trace | None, reading: Reading | None = None) -> None:
        self.case = case
        self.trace = trace
        # each let-binding evaluated once (its value has no free variables)
        self.lets: dict[int, tuple[Any, Blame]] = reading.lets if reading is not None else {}
        self.nulls = reading.nulls if reading is not None else None

    def null_part(self, blame: Blame) -> Blame:
        """The paths of ``blame`` at or under a null of the case (none unless reading nulls as unknown)."""
        nulls = self.nulls
        return tuple(p for p in blame if p in nulls) if nulls else _NONE

    def strict(self, blames: list[Blame]) -> Blame:
        """The blame of a value unknown because some of its operands are: a missing operand makes it missing
        whatever a null-dependent one is, so then only the missing operands are blamed."""
        if self.nulls:
            missing = [b for b in blames if not self.null_part(b)]
            if missing:
                return _merge(*missing)
        return _merge(*blames)

    def ev(self, node: ir.IR, env: dict[str, tuple[Any, str]]) -> tuple[Any, Blame]:
        kind = type(node)
        method = _METHODS.get(kind) or getattr(_Interp, "e_" + kind.__name__)  # (every IR type has one)
        value, blame = method(self, node, env)
        t = self.trace  # a step for the explanation (not a nameless constant), at most MAX_STEPS
        if t is not None and t.explain and (kind is not ir.Const or node.name is not None):  # type: ignore[attr-defined]
            steps = t.steps
            if len(steps) < MAX_STEPS:
                steps.append(Step(node.text, value, node.span.line, node.span.column))
        return value, (blame if value is UNKNOWN else _NONE)

    # references yield (value, concrete path, blame)
    def ref(self, node: ir.IR, env: dict[str, tuple[Any, str]]) -> tuple[Any, str, Blame]:
        kind = type(node)  # (the IR classes have no subclasses: an exact test is isinstance's answer)
        if kind is ir.Var:
            value, path = env[node.name]  # type: ignore[attr-defined]
            return value, path, ((path,) if value is UNKNOWN else _NONE)
        if kind is ir.Field:
            return self.field(node, env)  # type: ignore[arg-type]
        if kind is ir.Index:
            return self.index(node, env)  # type: ignore[arg-type]
        value, blame = self.ev(node, env)  # any other expression: its text is its path
        return value, node.text, blame

    def field(self, node: ir.Field, env: dict[str, tuple[Any, str]]) -> tuple[Any, str, Blame]:
        base = node.base
        if base is None:
            base_value: Any = self.case
            path = node.key
            base_blame: Blame = _NONE
        else:
            base_value, base_path, base_blame = self.ref(base, env)
            path = f"{base_path}.{node.key}" if base_path else node.key
        if type(base_value) is dict and (raw := base_value.get(node.key)) is not None:  # present: the common case
            value = raw if node.convert is None else self.read(node, raw)
            trace = self.trace
            if trace is not None and node.type.name not in ("record", "list"):
                trace.reads[path] = value
            return value, path, _NONE
        return self._field(node, env, base_value, path, base_blame)

    def _field(self, node: ir.Field, env: dict[str, tuple[Any, str]], base_value: Any, path: str,
               base_blame: Blame) -> tuple[Any, str, Blame]:
        """A field whose base is unknown, not an object, or has no value there."""
        if base_value is UNKNOWN:
            # report the leaf that was asked for, not only the absent parent
            nulls = self.nulls
            if nulls and any(p in nulls for p in base_blame):
                nulls.add(path)  # under a null: unknown too
            return UNKNOWN, path, (path,) if base_blame else _NONE
        if not isinstance(base_value, dict):
            raise EvalFailure(f"{node.text}: expected an object, got {shown_repr(base_value, 60)}", node.text)
        raw = base_value.get(node.key)
        if raw is None:
            if self.nulls is not None and node.key in base_value and _rooted(node):
                self.nulls.add(path)  # an explicit null: unknown, not absent
            return UNKNOWN, path, (path,)
        value = self.read(node, raw)
        if self.trace is not None and node.type.name not in ("record", "list"):
            self.trace.reads[path] = value
        return value, path, _NONE

    def index(self, node: ir.Index, env: dict[str, tuple[Any, str]]) -> tuple[Any, str, Blame]:
        base_value, base_path, base_blame = self.ref(node.base, env)
        i, i_blame = self.ev(node.index, env)
        path = f"{base_path}[{i if i is not UNKNOWN else '?'}]"
        if base_value is UNKNOWN or i is UNKNOWN:
            return UNKNOWN, path, self.strict([b for v, b in ((base_value, base_blame), (i, i_blame))
                                               if v is UNKNOWN])
        if not isinstance(base_value, list):
            raise EvalFailure(f"{node.text}: expected a list", node.text)
        if not -len(base_value) <= i < len(base_value) or base_value[i] is None:
            return UNKNOWN, path, (path,)
        return base_value[i], path, _NONE

    @staticmethod
    def read(node: ir.Field, raw: Any) -> Any:
        if node.convert is None:
            return raw
        try:
            return node.convert(raw)
        except ReadError as exc:
            raise EvalFailure(f"{node.text}: {exc}", node.text) from None

    def e_Const(self, node: ir.Const, env: Any) -> tuple[Any, Blame]:
        return node.value, _NONE

    def e_Field(self, node: ir.Field, env: Any) -> tuple[Any, Blame]:
        value, _, blame = self.field(node, env)
        return value, blame

    def e_Index(self, node: ir.Index, env: Any) -> tuple[Any, Blame]:
        value, _, blame = self.ref(node, env)
        return value, blame

    def e_Var(self, node: ir.Var, env: Any) -> tuple[Any, Blame]:
        value, path = env[node.name]
        return value, ((path,) if value is UNKNOWN else _NONE)

    def e_DatedParam(self, node: ir.DatedParam, env: Any) -> tuple[Any, Blame]:
        ref = env.get(REF_TIME, (UNKNOWN, ""))[0]
        if ref is UNKNOWN:
            return UNKNOWN, _NONE
        i = bisect.bisect_right(node.starts, ref) - 1
        if i < 0:
            raise EvalFailure(f"parameter '{node.name}' has no value before {node.starts[0].isoformat()}")
        return node.values[i], _NONE

    def e_LetRef(self, node: ir.LetRef, env: Any) -> tuple[Any, Blame]:
        known = self.lets.get(id(node.expr))
        if known is None:
            known = self.lets[id(node.expr)] = self.ev(node.expr, env)
        return known

    def e_Op(self, node: ir.Op, env: Any) -> tuple[Any, Blame]:
        pairs = [self.ev(a, env) for a in node.args]
        for v, _ in pairs:
            if v is UNKNOWN:
                return UNKNOWN, self.strict([b for v, b in pairs if v is UNKNOWN])
        try:
            return node.fn(*[v for v, _ in pairs]), _NONE
        except (ZeroDivisionError, decimal.InvalidOperation):
            if node.guard_zero:
                return UNKNOWN, _NONE
            raise
        except (TypeError, OverflowError) as exc:
            raise EvalFailure(f"{node.text}: {exc}", node.text) from None

    def e_And(self, node: ir.And, env: Any) -> tuple[Any, Blame]:
        return self._junction(node, env, False)

    def e_Or(self, node: ir.Or, env: Any) -> tuple[Any, Blame]:
        return self._junction(node, env, True)

    def _junction(self, node: ir.And | ir.Or, env: Any, decisive: bool) -> tuple[Any, Blame]:
        a, ab = self.ev(node.left, env)
        if a is decisive:
            return decisive, _NONE
        b, bb = self.ev(node.right, env)
        if b is decisive:
            return decisive, _NONE
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN, _merge(ab, bb)
        return not decisive, _NONE

    def e_Not(self, node: ir.Not, env: Any) -> tuple[Any, Blame]:
        a, blame = self.ev(node.operand, env)
        return (UNKNOWN, blame) if a is UNKNOWN else (not a, _NONE)

    def e_If(self, node: ir.If, env: Any) -> tuple[Any, Blame]:
        t, blame = self.ev(node.test, env)
        if t is UNKNOWN:
            return UNKNOWN, blame
        return self.ev(node.then if t else node.other, env)

    def e_Quant(self, node: ir.Quant, env: dict[str, tuple[Any, str]]) -> tuple[Any, Blame]:
        seq, path, blame = self.ref(node.collection, env)
        if seq is UNKNOWN:
            return UNKNOWN, blame
        if not isinstance(seq, list):
            raise EvalFailure(f"{node.collection.text}: expected a list", node.collection.text)
        charge(len(seq) + 1, node.text, node.span.line, node.span.column)
        outer = self.trace
        results = []
        # Evaluate items without step tracing, then replay the deciding item with tracing so the
        # explanation shows what was found (the witness).
        # (that trace is dropped after the items: nothing it would record is read, so it records no steps)
        self.trace = Trace(reads={}, explain=False) if outer is not None else None
        # (any and all stop at their deciding item, as or and and stop at their deciding operand; a fold takes all)
        decisive: Any = True if node.kind == "any" else False if node.kind == "all" else _NO_VALUE
        try:
            for i, item in enumerate(seq):
                inner = dict(env)
                inner[node.var] = (UNKNOWN if item is None else item, f"{path}[{i}]")
                value, b = self.ev(node.body, inner)
                results.append((value, b, inner))
                if value is decisive:
                    break
        finally:
            self.trace = outer
        values = [r[0] for r in results]
        unknown_blames = [r[1] for r in results if r[0] is UNKNOWN]
        # any / all: undecided by a missing item and a null-dependent one is null-dependent; the others
        # are missing as soon as one item is
        unknown_blame = _merge(*unknown_blames) if node.kind in ("any", "all") else self.strict(unknown_blames)
        decider: int | None = None
        has_unknown = any(v is UNKNOWN for v in values)
        if node.kind == "any":
            hit = next((i for i, v in enumerate(values) if v is True), None)
            result: Any = True if hit is not None else (UNKNOWN if has_unknown else False)
            decider = hit
        elif node.kind == "all":
            miss = next((i for i, v in enumerate(values) if v is False), None)
            result = False if miss is not None else (UNKNOWN if has_unknown else True)
            decider = miss
        elif node.kind == "count":
            result = UNKNOWN if has_unknown else sum(1 for v in values if v is True)
        elif node.kind == "filter":
            result = UNKNOWN if has_unknown else [seq[i] for i, v in enumerate(values) if v is True]
        elif node.kind == "collect":
            if not has_unknown:
                charge(sum(len(v) for v in values), node.text, node.span.line, node.span.column)
            result = UNKNOWN if has_unknown else [x for v in values for x in v]
        else:
            if has_unknown:
                result = UNKNOWN
            else:
                total: Any = None
                for v in values:
                    total = v if total is None else plus(total, v)
                result = zero_of(node.type) if total is None else total
        if decider is not None and outer is not None:  # (the replay's reads are the verdict's too)
            inner_env = results[decider][2]
            if outer.explain:
                outer.witness[node.text] = inner_env[node.var][1]
            self.ev(node.body, inner_env)
        return result, (unknown_blame if result is UNKNOWN else _NONE)

    def e_Call(self, node: ir.Call, env: Any) -> tuple[Any, Blame]:
        pairs = [self.ev(a, env) for a in node.args]
        if node.strict:
            for v, _ in pairs:
                if v is UNKNOWN:
                    return UNKNOWN, self.strict([b for v, b in pairs if v is UNKNOWN])
        if self.nulls:
            # exists(x), default(x, d) and any other non-strict function of a null-dependent x: it could be
            # either answer (default's fallback matters only when x is missing, which the call decides)
            hidden = _merge(*(b for v, b in (pairs[:1] if node.name == "default" else pairs)
                              if v is UNKNOWN and self.null_part(b)))
            if hidden:
                return UNKNOWN, hidden
        try:
            value = node.fn(*[v for v, _ in pairs])
        except EvalFailure:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise EvalFailure(f"{node.text}: {exc}", node.text) from None
        # non-strict functions (exists, default): an unknown result comes from its unknown arguments
        return value, (_merge(*(b for v, b in pairs if v is UNKNOWN)) if value is UNKNOWN else _NONE)

    def e_ListIR(self, node: ir.ListIR, env: Any) -> tuple[Any, Blame]:
        pairs = [self.ev(i, env) for i in node.items]
        return [v for v, _ in pairs], _NONE


# each IR node type's method, looked up once (by the same name ev used to build per node: "e_" + the type's name)
_METHODS: dict[type, Any] = {cls: getattr(_Interp, "e_" + cls.__name__) for cls in vars(ir).values()
                             if isinstance(cls, type) and hasattr(_Interp, "e_" + cls.__name__)}


def interpret(node: ir.IR, case: dict[str, Any], env: dict[str, Any] | None = None,
              trace: Trace | None = None, lets: dict[int, Any] | None = None) -> Any:
    """Evaluate IR on a case by walking the tree; fill ``trace`` if given.

    ``lets``: the let-bindings' values (and missing paths) of an earlier call on the same case and environment,
    filled by this one; for a trace without steps (a let walked again reads and misses the same paths)."""
    wrapped: dict[str, tuple[Any, str]] = {k: (v, k) for k, v in (env or {}).items()}
    interp = _Interp(case, trace)
    if lets is not None:
        interp.lets = lets
    value, blame = interp.ev(node, wrapped)
    if trace is not None:
        for path in blame:
            trace.add_missing(path)
    return value


def interpret_nulls(node: ir.IR, case: dict[str, Any], env: dict[str, Any] | None = None,
                    trace: Trace | None = None, reading: Reading | None = None
                    ) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
    """Evaluate IR on a case with each explicit null outside lists read as unknown (any value, or none):
    ``(value, blame, null blame)``. An unknown value's blame names the paths it comes from; its null blame,
    those of them at or under a null: when there are some, the value depends on what the nulls hide (and
    is the value :func:`interpret` gives wherever it does not). ``trace`` is filled as by :func:`interpret`
    (give it no ``reading`` shared with another condition: a let value found there adds no steps here)."""
    wrapped: dict[str, tuple[Any, str]] = {k: (v, k) for k, v in (env or {}).items()}
    interp = _Interp(case, trace, reading if reading is not None else Reading())
    value, blame = interp.ev(node, wrapped)
    if trace is not None:
        for path in blame:
            trace.add_missing(path)
    return value, blame, interp.null_part(blame)

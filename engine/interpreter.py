"""Reference interpreter over checked IR, with explanations.

Input: IR, a raw case record and an environment. Output: the value plus a
:class:`Trace` — the concrete case paths that were missing, the input values
read, and the values of the sub-expressions that decided the result.

It is deliberately a plain tree walk, written independently of the
compiler: property tests check that both agree, and verdicts use it to
explain a decision after the fast path has computed it.
"""

from __future__ import annotations

import bisect
import decimal
from dataclasses import dataclass, field
from typing import Any

from . import ir
from .compiler import REF_TIME
from .ops import EvalFailure
from .readers import ReadError
from .values import UNKNOWN

__all__ = ["Trace", "interpret", "Step"]

MAX_STEPS = 200


@dataclass
class Step:
    text: str
    value: Any
    line: int
    column: int


@dataclass
class Trace:
    missing: list[str] = field(default_factory=list)
    reads: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    witness: dict[str, str] = field(default_factory=dict)

    def add_missing(self, path: str) -> None:
        if path not in self.missing:
            self.missing.append(path)


class _Interp:
    def __init__(self, case: dict[str, Any], trace: Trace | None) -> None:
        self.case = case
        self.trace = trace

    def step(self, node: ir.IR, value: Any) -> Any:
        t = self.trace
        if t is not None and len(t.steps) < MAX_STEPS and not (isinstance(node, ir.Const) and node.name is None):
            t.steps.append(Step(node.text, value, node.span.line, node.span.column))
        return value

    def ev(self, node: ir.IR, env: dict[str, tuple[Any, str]]) -> Any:
        value = getattr(self, "e_" + type(node).__name__)(node, env)
        return self.step(node, value)

    # references yield (value, concrete path)
    def ref(self, node: ir.IR, env: dict[str, tuple[Any, str]]) -> tuple[Any, str]:
        if isinstance(node, ir.Var):
            return env[node.name]
        if isinstance(node, ir.Field):
            if node.base is None:
                base_value: Any = self.case
                base_path = ""
            else:
                base_value, base_path = self.ref(node.base, env)
            path = f"{base_path}.{node.key}" if base_path else node.key
            if base_value is UNKNOWN:
                return UNKNOWN, path
            if not isinstance(base_value, dict):
                raise EvalFailure(f"{node.text}: expected an object, got {base_value!r:.60}", node.text)
            raw = base_value.get(node.key)
            if raw is None:
                if self.trace is not None:
                    self.trace.add_missing(path)
                return UNKNOWN, path
            value = self.read(node, raw)
            if self.trace is not None and node.type.name not in ("record", "list"):
                self.trace.reads[path] = value
            return value, path
        if isinstance(node, ir.Index):
            base_value, base_path = self.ref(node.base, env)
            i = self.ev(node.index, env)
            path = f"{base_path}[{i if i is not UNKNOWN else '?'}]"
            if base_value is UNKNOWN or i is UNKNOWN:
                return UNKNOWN, path
            if not isinstance(base_value, list):
                raise EvalFailure(f"{node.text}: expected a list", node.text)
            if not -len(base_value) <= i < len(base_value) or base_value[i] is None:
                if self.trace is not None:
                    self.trace.add_missing(path)
                return UNKNOWN, path
            return base_value[i], path
        return self.ev(node, env), node.text

    @staticmethod
    def read(node: ir.Field, raw: Any) -> Any:
        if node.convert is None:
            return raw
        try:
            return node.convert(raw)
        except ReadError as exc:
            raise EvalFailure(f"{node.text}: {exc}", node.text) from None

    def e_Const(self, node: ir.Const, env: Any) -> Any:
        return node.value

    def e_Field(self, node: ir.Field, env: Any) -> Any:
        return self.ref(node, env)[0]

    def e_Index(self, node: ir.Index, env: Any) -> Any:
        return self.ref(node, env)[0]

    def e_Var(self, node: ir.Var, env: Any) -> Any:
        return env[node.name][0]

    def e_DatedParam(self, node: ir.DatedParam, env: Any) -> Any:
        ref = env.get(REF_TIME, (UNKNOWN, ""))[0]
        if ref is UNKNOWN:
            return UNKNOWN
        i = bisect.bisect_right(node.starts, ref) - 1
        if i < 0:
            raise EvalFailure(f"parameter '{node.name}' has no value before {node.starts[0].isoformat()}")
        return node.values[i]

    def e_LetRef(self, node: ir.LetRef, env: Any) -> Any:
        return self.ev(node.expr, env)

    def e_Op(self, node: ir.Op, env: Any) -> Any:
        values = [self.ev(a, env) for a in node.args]
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        try:
            return node.fn(*values)
        except (ZeroDivisionError, decimal.InvalidOperation):
            if node.guard_zero:
                return UNKNOWN
            raise
        except TypeError as exc:
            raise EvalFailure(f"{node.text}: {exc}", node.text) from None

    def e_And(self, node: ir.And, env: Any) -> Any:
        a = self.ev(node.left, env)
        if a is False:
            return False
        b = self.ev(node.right, env)
        if b is False:
            return False
        return UNKNOWN if UNKNOWN in (a, b) else True

    def e_Or(self, node: ir.Or, env: Any) -> Any:
        a = self.ev(node.left, env)
        if a is True:
            return True
        b = self.ev(node.right, env)
        if b is True:
            return True
        return UNKNOWN if UNKNOWN in (a, b) else False

    def e_Not(self, node: ir.Not, env: Any) -> Any:
        a = self.ev(node.operand, env)
        return UNKNOWN if a is UNKNOWN else (not a)

    def e_If(self, node: ir.If, env: Any) -> Any:
        t = self.ev(node.test, env)
        if t is UNKNOWN:
            return UNKNOWN
        return self.ev(node.then if t else node.other, env)

    def e_Quant(self, node: ir.Quant, env: dict[str, tuple[Any, str]]) -> Any:
        seq, path = self.ref(node.collection, env)
        if seq is UNKNOWN:
            return UNKNOWN
        if not isinstance(seq, list):
            raise EvalFailure(f"{node.collection.text}: expected a list", node.collection.text)
        outer = self.trace
        results = []
        # Evaluate items without step tracing (missing paths still collected), then replay the
        # deciding item with tracing so the explanation shows what was found.
        quiet = Trace(missing=outer.missing, reads={}) if outer is not None else None
        self.trace = quiet
        try:
            for i, item in enumerate(seq):
                inner = dict(env)
                inner[node.var] = (UNKNOWN if item is None else item, f"{path}[{i}]")
                results.append((self.ev(node.body, inner), inner))
        finally:
            self.trace = outer
        values = [r for r, _ in results]
        decider: int | None = None
        if node.kind == "any":
            result: Any = True if True in values else (UNKNOWN if UNKNOWN in values else False)
            if result is True:
                decider = values.index(True)
        elif node.kind == "all":
            result = False if False in values else (UNKNOWN if UNKNOWN in values else True)
            if result is False:
                decider = values.index(False)
        elif node.kind == "count":
            result = UNKNOWN if UNKNOWN in values else sum(1 for v in values if v is True)
        else:
            if UNKNOWN in values:
                result = UNKNOWN
            else:
                total: Any = None
                for v in values:
                    total = v if total is None else total + v
                result = 0 if total is None else total
        if decider is not None and outer is not None:
            inner_env = results[decider][1]
            outer.witness[node.text] = inner_env[node.var][1]
            self.ev(node.body, inner_env)
        return result

    def e_Call(self, node: ir.Call, env: Any) -> Any:
        args = [self.ev(a, env) for a in node.args]
        if node.strict and any(a is UNKNOWN for a in args):
            return UNKNOWN
        try:
            return node.fn(*args)
        except EvalFailure:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise EvalFailure(f"{node.text}: {exc}", node.text) from None

    def e_ListIR(self, node: ir.ListIR, env: Any) -> Any:
        return [self.ev(i, env) for i in node.items]


def interpret(node: ir.IR, case: dict[str, Any], env: dict[str, Any] | None = None,
              trace: Trace | None = None) -> Any:
    """Evaluate IR on a case by walking the tree; fill ``trace`` if given."""
    wrapped: dict[str, tuple[Any, str]] = {k: (v, k) for k, v in (env or {}).items()}
    return _Interp(case, trace).ev(node, wrapped)

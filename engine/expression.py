"""The condition language as a library: compile one expression and run it.

This facade strings the stages together for a single expression (used by
tests, the conformance rows and embedders); policies use
the same stages through :mod:`policy_eval.rulebook.policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy_eval.errors import PolicyError, PolicyNameError, PolicyTypeError
from policy_eval.lang import ir
from policy_eval.lang.checker import Scope, check
from policy_eval.lang.codegen import compile_fast
from policy_eval.lang.compiler import REF_TIME, Compiled
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.interpreter import Trace, interpret
from policy_eval.lang.parser import parse
from policy_eval.lang.types import ANY, Type, record, schema_to_type
from policy_eval.lang.values import UNKNOWN, render

__all__ = ["compile_expression", "CompiledExpression", "render", "UNKNOWN", "constant_param",
           "default_functions"]


def default_functions() -> FunctionRegistry:
    """Functions from every registered plugin (the core library included)."""
    from policy_eval.plugin_manager import get_plugin_manager

    return get_plugin_manager().functions()


@dataclass
class CompiledExpression:
    text: str
    node: ir.IR
    fn: Compiled

    @property
    def type(self) -> Type:
        return self.node.type

    def evaluate(self, case: Mapping[str, Any] | None = None, ref_time: Any = UNKNOWN) -> Any:
        env: dict[str, Any] = {REF_TIME: ref_time}
        return self.fn(dict(case or {}), env)

    def interpret(self, case: Mapping[str, Any] | None = None, trace: Trace | None = None,
                  ref_time: Any = UNKNOWN) -> Any:
        return interpret(self.node, dict(case or {}), {REF_TIME: ref_time}, trace)


def constant_param(name: str, text: str, functions: FunctionRegistry) -> ir.Const:
    """Read a parameter given as a constant expression of the language (e.g. ``48h``)."""
    node = check(parse(text), Scope(record({}, "params"), functions), text)
    value = interpret(node, {})
    if value is UNKNOWN:
        raise PolicyTypeError(f"parameter '{name}' is not a constant", line=1, column=1)
    return ir.Const(node.type, node.span, name, value, name=name)


def compile_expression(text: str, *, case_schema: Mapping[str, Any] | None = None,
                       params: Mapping[str, str] | None = None,
                       functions: FunctionRegistry | None = None) -> CompiledExpression:
    """Parse, check and compile one expression; raise a located PolicyError on failure."""
    registry = functions if functions is not None else default_functions()
    case_type = schema_to_type(dict(case_schema)) if case_schema is not None else ANY
    consts = {k: constant_param(k, v, registry) for k, v in (params or {}).items()}
    for name in consts:
        if case_type.field_type(name) is not None:
            raise PolicyNameError(f"parameter '{name}' hides the case field of the same name; rename it",
                                  line=1, column=1)
    try:
        node = check(parse(text), Scope(case_type, registry, consts), text)
    except PolicyError as exc:
        lines = text.splitlines() or [""]
        if exc.source_line is None and exc.line is not None and 0 < exc.line <= len(lines):
            exc.source_line = lines[exc.line - 1]
        raise
    return CompiledExpression(text, node, compile_fast(node, text))

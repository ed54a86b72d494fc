"""The core standard library of the condition language, as a plugin."""

from __future__ import annotations

from policy_eval.lang.functions import Function, core_functions
from policy_eval.plugins.hookspecs import hookimpl

__all__ = ["policy_eval_functions"]


@hookimpl
def policy_eval_functions() -> list[Function]:
    return core_functions()

"""A plugin with a bug (tests/test_api_many.py): its function raises RuntimeError on a text holding "BUG"."""

from __future__ import annotations

from policy_eval.lang.functions import Function
from policy_eval.lang.types import INT, STRING
from policy_eval.plugins.hookspecs import hookimpl


def shouts(text: str) -> int:
    if "BUG" in text:
        raise RuntimeError("a bug in the plugin")
    return text.count("!")


@hookimpl
def policy_eval_functions() -> list[Function]:
    return [Function("shouts", (STRING,), INT, shouts, doc="exclamation marks")]

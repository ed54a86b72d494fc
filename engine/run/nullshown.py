"""A violated rule's message and remedies on a case that marks a value they read unknown (an explicit null).

Input: a rule, a case and its environment. Output: ``(message, remedies)``, as run.messages gives them, except
that where the case holds a ``null`` on a path the message or a remedy reads, each of their expressions is
read with the nulls as unknown (:func:`~policy_eval.lang.interpreter.interpret_nulls`), as the rule's own
conditions are (docs/language.md, "Absent and null"): ``default(request.refund_amount, order.paid_amount)`` on
``"refund_amount": null`` is unknown (the amount the buyer asked for is not known), not the paid amount, and
``exists`` of a null is unknown, not false. Only an ``exists`` or ``default`` can tell a null from an absent
value, so only a rule whose message or remedies use one (its lets and definitions included) is looked at,
and only on a case that may hold a null (the evaluator marks the others in the environment, :data:`NO_NULL`).
"""

from __future__ import annotations

from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.interpreter import Reading, Trace
from policy_eval.lang.nulltrace import traced_nulls
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook.policy import Condition, Rule
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.messages import message_of, remedies_of
from policy_eval.run.nullpaths import ReadPaths, null_paths
from policy_eval.run.remedies import remedies
from policy_eval.run.shown import _display

__all__ = ["NO_NULL", "nullable_paths", "shown"]

NO_NULL = "$no-null"  # an environment key (no variable can have this name): the case holds no explicit null

def nullable_paths(rule: Rule) -> ReadPaths:
    """The case paths a rule's message and remedies read, when one of their expressions uses ``exists`` or
    ``default`` (where a null and an absent value differ); else none."""
    nodes = rule.shown_nodes()
    if not any(isinstance(n, ir.Call) and n.name in ("exists", "default") for n in ir.walk(*nodes)):
        return ReadPaths(())
    return ReadPaths((".".join(keys), keys, None) for keys in ir.root_paths(*nodes))


def shown(rule: Rule, case: dict[str, Any], env: dict[str, Any], paths: ReadPaths) -> tuple[str, tuple[dict[str, Any], ...]]:
    """The violated rule's message and remedies on the case (see the module docstring); ``paths``: the rule's
    :func:`nullable_paths`."""
    if NO_NULL in env or not paths or not null_paths(case, paths):  # (a null-free case first: no call to ask)
        message, owed = rule.message.compiled, rule.remedies_compiled  # (message_of's and remedies_of's, once made)
        return (message or message_of(rule))(case, env), (owed or remedies_of(rule))(case, env)

    def value(cond: Condition) -> Any:
        try:  # (interpret_nulls' value, by generated code: lang.nulltrace)
            return traced_nulls(cond.node)(case, env, Trace(explain=False), Reading())[0]
        except DATA_ERRORS:
            return UNKNOWN
    return rule.message.render(lambda c: _display(value(c))), remedies(rule, value)

"""The waiver that applies to one rule's verdict on one case, if any (a version's ``waivers``)."""

from __future__ import annotations

from typing import Any

from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.interpreter import Trace, interpret
from policy_eval.lang.values import UNKNOWN, render, to_json
from policy_eval.rulebook.policy import Condition, PolicyVersion, Rule
from policy_eval.run.explaining import DATA_ERRORS

__all__ = ["waiver_of"]


def _value(cond: Condition, case: dict[str, Any], env: dict[str, Any]) -> Any:
    try:
        return cond.fn(case, env)
    except DATA_ERRORS:
        return UNKNOWN


def waiver_of(version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any]
              ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The first waiver of the rule in force at the reference time whose scope holds, and what it read."""
    for w in version.waivers:
        if (w.rules is None or rule.id in w.rules) and w.in_force(env[REF_TIME]) \
                and _value(w.scope, case, env) is True:
            trace = Trace()
            interpret(w.scope.node, case, env, trace)
            return ({"id": w.id, "reason": w.reason, "approved_by": w.approved_by, "until": render(w.until)},
                    {k: to_json(v) for k, v in trace.reads.items()})
    return None, {}

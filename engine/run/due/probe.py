"""A quick probe of one rule at one instant, for the forecaster (:mod:`.forecast`): its verdict from its compiled
conditions alone, within the budget of items a rule may visit, as the evaluator decides it (no waiver)."""

from __future__ import annotations

from typing import Any

from policy_eval.lang.budget import _CURRENT as _METER
from policy_eval.lang.budget import DEFAULT_BUDGET, BudgetExceeded, Meter
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook.policy import Rule
from policy_eval.run.result import Outcome

__all__ = ["decide"]

_DATA_ERRORS = (EvalFailure, ArithmeticError)


def decide(rule: Rule, case: dict[str, Any], env: dict[str, Any], budget: int | None = DEFAULT_BUDGET) -> Outcome:
    """A rule's verdict from its compiled closures alone, as :class:`Evaluator` decides it (no waiver), within
    the same budget of items a rule may visit (past it: undetermined, as the evaluator says). Used to probe
    candidate instants quickly; the forecast's verdicts are the evaluator's, and tests/test_due_properties.py
    checks the two agree."""
    token = _METER.set(Meter(budget) if budget is not None else None)
    try:
        applies = rule.when.fn(case, env) if rule.when is not None else True
        if applies is False:
            return Outcome.NOT_APPLICABLE
        if applies is UNKNOWN:
            return Outcome.UNDETERMINED
        value = rule.condition.fn(case, env)
    except (BudgetExceeded, *_DATA_ERRORS):
        return Outcome.UNDETERMINED
    finally:
        _METER.reset(token)
    if value is UNKNOWN:
        return Outcome.UNDETERMINED
    holds = value if rule.mode == "require" else not value
    return Outcome.COMPLIED if holds else Outcome.VIOLATED

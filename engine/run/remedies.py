"""The remedies of a violated rule, as result entries.

Input: a rule's remedies and a function giving a condition's value on the case
(unknown on a data error). Output: one dict per remedy whose ``when`` holds:
``kind``, ``to``, ``amount`` (whole cents, JSON form) and ``amount_text``,
``duration`` (exact, e.g. ``7d``: how long a restriction lasts, as data rather
than prose), ``form`` and ``description``.

The evaluator runs the same entries compiled once per rule (:func:`policy_eval.run.messages.remedies_of`);
this is their plain form, which tests/test_messages.py holds the compiled one to.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from policy_eval.lang.values import Money, render, to_cents, to_json
from policy_eval.rulebook.policy import Condition, Rule
from policy_eval.run.shown import _display


def remedies(rule: Rule, value: Callable[[Condition], Any]) -> tuple[dict[str, Any], ...]:
    out = []
    for rem in rule.remedies:
        if rem.when is not None and value(rem.when) is not True:
            continue
        entry: dict[str, Any] = {"kind": rem.kind}
        if rem.to:
            entry["to"] = rem.to
        if rem.amount is not None:
            amount = value(rem.amount)
            if isinstance(amount, Money):
                amount = to_cents(amount)  # a remedy pays whole cents; the text and the JSON agree
            entry["amount"] = to_json(amount) if isinstance(amount, Money) else None
            entry["amount_text"] = _display(amount) if isinstance(amount, Money) else "unknown"
        if rem.duration is not None:
            duration = value(rem.duration)
            entry["duration"] = render(duration) if isinstance(duration, _dt.timedelta) else "unknown"
        if rem.form:
            entry["form"] = rem.form
        if rem.description:
            entry["description"] = rem.description
        out.append(entry)
    return tuple(out)

"""A violated rule's message and remedies, each compiled once per rule into one function of the case.

Input: a rule (its message template, its remedies). Output: ``message_of(rule)(case, env) -> str`` and
``remedies_of(rule)(case, env) -> tuple[dict, ...]``, equal to the interpreted forms
(``Template.render`` with :func:`~policy_eval.run.shown._display`; :func:`policy_eval.run.remedies.remedies`)
on every case: the same conditions are called in the same order, a data error in one is its value
unknown, and each value is shown by the same functions. Only the per-call work is gone: the message's text
parts, and the text of a constant it shows (a parameter, a literal: an ``ir.Const``, which cannot read the
case nor fail), are constants of one generated function that joins them with the values shown; a remedy's
constant fields are built once and copied, and an amount is rounded to cents once (``values.money_shown``).
(``tests/test_messages.py`` holds the two forms equal on the golden corpus and on Hypothesis-made values.)

Each function is built on first use and kept on the rule's template (``Template.compiled``) or the rule
(``Rule.remedies_compiled``); building one twice in two threads is harmless (the same function).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.values import UNKNOWN, Money, money_shown, render, render_datetime
from policy_eval.rulebook.policy import Condition, Rule
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.shown import _display

__all__ = ["message_of", "remedies_of", "compile_message", "compile_remedies"]

Message = Callable[[dict[str, Any], dict[str, Any]], str]
Remedies = Callable[[dict[str, Any], dict[str, Any]], tuple[dict[str, Any], ...]]


def message_of(rule: Rule) -> Message:
    """The rule's message as one function of ``(case, env)``, compiled on first use."""
    fn = rule.message.compiled
    if fn is None:
        fn = rule.message.compiled = compile_message(rule.message.parts, rule.full_id)
    return fn


def remedies_of(rule: Rule) -> Remedies:
    """The rule's remedies as one function of ``(case, env)``, compiled on first use."""
    fn = rule.remedies_compiled
    if fn is None:
        fn = rule.remedies_compiled = compile_remedies(rule)
    return fn


# a placeholder's static type → (the exact runtime type, the function _display ends in for it)
_FAST = {"datetime": ("_datetime", "_render_datetime")}


def compile_message(parts: list[str | Condition], name: str = "") -> Message:
    """One generated function: each placeholder's condition called in order (unknown on a data error), then
    the text parts and the values as ``_display`` shows them joined."""
    lines = ["def message(case, env):"]
    shown: list[str] = []
    names: dict[str, Any] = {"_ERRORS": DATA_ERRORS, "_U": UNKNOWN, "_display": _display, "_datetime": _dt.datetime,
                             "_render_datetime": render_datetime}
    for part in parts:
        if isinstance(part, str):
            if part:
                shown.append(repr(part))  # a str literal equal to the part
            continue
        if type(part.node) is ir.Const:  # a parameter or literal: shown once, here, as a text part
            value = part.node.value
            if text := value if type(value) is str else _display(value):
                shown.append(repr(text))
            continue
        i = len(names)
        names[f"f{i}"] = part.fn
        lines += ["    try:", f"        v{i} = f{i}(case, env)", "    except _ERRORS:", f"        v{i} = _U"]
        # the test for the type the checker gave it first (its exact type, so _display would do the same)
        fast = _FAST.get(part.node.type.name)
        shown.append(f"v{i} if type(v{i}) is str else _display(v{i})" if fast is None else
                     f"{fast[1]}(v{i}) if type(v{i}) is {fast[0]} else _display(v{i})")
    if not shown:
        lines.append("    return ''")
    else:
        lines.append(f"    return ''.join(({', '.join(shown)},))")
    code = compile("\n".join(lines), f"<policy-eval message {name}>", "exec")
    exec(code, names)  # noqa: S102 - source built above from fixed templates; the parts are literals
    fn: Message = names["message"]
    return fn


def _value(cond: Condition, case: dict[str, Any], env: dict[str, Any]) -> Any:
    try:
        return cond.fn(case, env)
    except DATA_ERRORS:
        return UNKNOWN


def compile_remedies(rule: Rule) -> Remedies:
    """The rule's remedies: their constant fields built once, the conditions called per case in the order
    ``run.remedies.remedies`` calls them (each remedy's ``when``, then its amount, then its duration)."""
    plan = []
    for rem in rule.remedies:
        head: dict[str, Any] = {"kind": rem.kind}
        if rem.to:
            head["to"] = rem.to
        tail: dict[str, Any] = {}
        if rem.form:
            tail["form"] = rem.form
        if rem.description:
            tail["description"] = rem.description
        plan.append((rem.when, rem.amount, rem.duration, head, tail, {**head, **tail}))
    if not plan:
        return _no_remedies

    def remedies(case: dict[str, Any], env: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        out = []
        for when, amount, duration, head, tail, whole in plan:
            if when is not None and _value(when, case, env) is not True:
                continue
            if amount is None and duration is None:
                out.append(dict(whole))
                continue
            entry = dict(head)
            if amount is not None:
                value = _value(amount, case, env)
                if isinstance(value, Money):
                    entry["amount"], entry["amount_text"] = money_shown(value)
                else:
                    entry["amount"], entry["amount_text"] = None, "unknown"
            if duration is not None:
                length = _value(duration, case, env)
                entry["duration"] = render(length) if isinstance(length, _dt.timedelta) else "unknown"
            if tail:
                entry.update(tail)
            out.append(entry)
        return tuple(out)

    return remedies


def _no_remedies(case: dict[str, Any], env: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return ()

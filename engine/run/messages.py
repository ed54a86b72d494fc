"""A violated rule's message and remedies, each compiled once per rule into one function of the case.

Input: a rule (its message template, its remedies). Output: ``message_of(rule)(case, env) -> str`` and
``remedies_of(rule)(case, env) -> tuple[dict, ...]``, equal to the interpreted forms
(``Template.render`` with :func:`~policy_eval.run.shown._display`; :func:`policy_eval.run.remedies.remedies`)
on every case: the same conditions are called in the same order, a data error in one is its value
unknown, and each value is shown by the same functions. Only the per-call work is gone: the message's text
parts, and the text of a constant it shows (a parameter, a literal: an ``ir.Const``, which cannot read the
case nor fail), are constants of one generated function that joins them with the values shown; a remedy's
constant fields are built once and copied, and an amount is rounded to cents once (``values.money_shown``).
The conditions' own code is inline in that function where it can be (lang.codegen.inline: not for one that
can spend from the budget), one Python call less each; on any exception it raises, the condition's own
function gives the value (or the data error that makes it unknown), so the result is that function's.
(``tests/test_messages.py`` holds the two forms equal on the golden corpus and on Hypothesis-made values.)

Each function is built on first use and kept on the rule's template (``Template.compiled``) or the rule
(``Rule.remedies_compiled``); building one twice in two threads is harmless (the same function).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.codecache import code_for
from policy_eval.lang.codegen import inline
from policy_eval.lang.values import UNKNOWN, Money, money_shown, render, render_datetime
from policy_eval.rulebook.policy import Condition, Rule
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.shown import _display

__all__ = ["message_of", "remedies_of", "compile_message", "compile_remedies", "message_conditions", "message_lines",
           "remedy_conditions", "remedy_lines"]

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
        fn = rule.remedies_compiled = compile_remedies(rule, rule.full_id)
    return fn


# a placeholder's static type → (the exact runtime type, the function _display ends in for it)
_FAST = {"datetime": ("_datetime", "_render_datetime")}


def compile_message(parts: list[str | Condition], name: str = "") -> Message:
    """One generated function: each placeholder's condition in order (unknown on a data error), then the text
    parts and the values as ``_display`` shows them joined. A placeholder's code is inline
    (lang.codegen.inline) where it can be: on any exception it raises, the condition's own function decides
    the value (or its failure), as it does for a placeholder that can spend from the budget."""
    conditions = message_conditions(parts)
    codes, prelude, names = inline([p.node for p in conditions])
    lines, joined = message_lines(parts, dict(zip(map(id, conditions), codes, strict=True)), names)
    source = "\n".join(["def message(c, v):", *prelude, *("    " + line for line in lines), f"    return {joined}"])
    compiled = code_for(source, f"<policy-eval message {name}>")
    exec(compiled, names)  # noqa: S102 - source built above from fixed templates; the parts are literals
    fn: Message = names["message"]
    return fn


def message_conditions(parts: list[str | Condition]) -> list[Condition]:
    """The placeholders of a message whose value depends on the case (a constant is shown once, as text)."""
    return [p for p in parts if not isinstance(p, str) and type(p.node) is not ir.Const]


def message_lines(parts: list[str | Condition], code_of: dict[int, str | None], names: dict[str, Any],
                  prefix: str = "") -> tuple[list[str], str]:
    """The lines (unindented) that set each placeholder's local, and the expression of the message's text: the
    body of :func:`compile_message` (``code_of``: each placeholder's inline code by id; ``names``: the namespace,
    to which the names the lines read are added, prefixed with ``prefix``)."""
    lines: list[str] = []
    shown: list[str] = []
    names.update({"_ERRORS": DATA_ERRORS, "_U": UNKNOWN, "_display": _display, "_datetime": _dt.datetime,
                  "_render_datetime": render_datetime, "Exception": Exception})
    for i, part in enumerate(parts):
        if isinstance(part, str):
            if part:
                shown.append(repr(part))  # a str literal equal to the part
            continue
        if type(part.node) is ir.Const:  # a parameter or literal: shown once, here, as a text part
            value = part.node.value
            if text := value if type(value) is str else _display(value):
                shown.append(repr(text))
            continue
        x, f = f"{prefix}x{i}", f"{prefix}f{i}"
        names[f] = part.fn
        lines += _valued(x, f, code_of[id(part)])
        # the test for the type the checker gave it first (its exact type, so _display would do the same)
        fast = _FAST.get(part.node.type.name)
        shown.append(f"{x} if type({x}) is str else _display({x})" if fast is None else
                     f"{fast[1]}({x}) if type({x}) is {fast[0]} else _display({x})")
    return lines, (f"''.join(({', '.join(shown)},))" if shown else "''")


def _valued(target: str, fn: str, inline_code: str | None) -> list[str]:
    """Lines (unindented) that set ``target`` to a condition's value, unknown on a data error: its inline code
    when it has some, its own function ``fn`` when not, or when the inline code raised anything."""
    call = ["try:", f"    {target} = {fn}(c, v)", "except _ERRORS:", f"    {target} = _U"]
    if inline_code is None:
        return call
    return ["try:", f"    {target} = {inline_code}", "except Exception:", *("    " + line for line in call)]


def compile_remedies(rule: Rule, name: str = "") -> Remedies:
    """The rule's remedies as one generated function: their constant fields built once and copied, the
    conditions called per case in the order ``run.remedies.remedies`` calls them (each remedy's ``when``,
    then its amount, then its duration), inline where they can be (as a message's placeholders are)."""
    if not rule.remedies:
        return _no_remedies
    conditions = remedy_conditions(rule)
    codes, prelude, names = inline([c.node for c in conditions])
    lines = remedy_lines(rule, dict(zip(map(id, conditions), codes, strict=True)), names)
    source = "\n".join(["def remedies(c, v):", *prelude, *("    " + line for line in lines), "    return _tuple(out)"])
    compiled = code_for(source, f"<policy-eval remedies {name[:60]}>")
    exec(compiled, names)  # noqa: S102 - source built above from fixed templates; every value is a bound name
    fn: Remedies = names["remedies"]
    return fn


def remedy_conditions(rule: Rule) -> list[Condition]:
    """The conditions of the rule's remedies, in the order they are called."""
    return [c for rem in rule.remedies for c in (rem.when, rem.amount, rem.duration) if c is not None]


def remedy_lines(rule: Rule, code_of: dict[int, str | None], names: dict[str, Any], prefix: str = "") -> list[str]:
    """The lines (unindented) that build the list ``out`` of the rule's remedies: the body of
    :func:`compile_remedies` (``code_of`` and ``names`` as for :func:`message_lines`; ``prefix`` for the names
    added)."""
    names.update({"_ERRORS": DATA_ERRORS, "_U": UNKNOWN, "_Money": Money, "_money_shown": money_shown,
                  "_timedelta": _dt.timedelta, "_render": render, "_dict": dict, "_tuple": tuple,
                  "isinstance": isinstance, "Exception": Exception})
    lines = ["out = []"]
    count = 0

    def value(cond: Condition, indent: str) -> list[str]:
        """Lines that set ``x`` to the condition's value (unknown on a data error)."""
        nonlocal count
        count += 1
        names[f"{prefix}f{count}"] = cond.fn
        return [indent + line for line in _valued("x", f"{prefix}f{count}", code_of[id(cond)])]

    for i, rem in enumerate(rule.remedies):
        head: dict[str, Any] = {"kind": rem.kind}
        if rem.to:
            head["to"] = rem.to
        tail: dict[str, Any] = {}
        if rem.form:
            tail["form"] = rem.form
        if rem.description:
            tail["description"] = rem.description
        h, t, w = f"{prefix}H{i}", f"{prefix}T{i}", f"{prefix}W{i}"
        names[h], names[t], names[w] = head, tail, {**head, **tail}
        indent = ""
        if rem.when is not None:
            lines += value(rem.when, indent) + [f"{indent}if x is True:"]
            indent += "    "
        if rem.amount is None and rem.duration is None:
            lines.append(f"{indent}out.append(_dict({w}))")
            continue
        lines.append(f"{indent}e = _dict({h})")
        if rem.amount is not None:
            lines += value(rem.amount, indent) + [
                f"{indent}if isinstance(x, _Money):", f"{indent}    e['amount'], e['amount_text'] = _money_shown(x)",
                f"{indent}else:", f"{indent}    e['amount'], e['amount_text'] = None, 'unknown'"]
        if rem.duration is not None:
            lines += value(rem.duration, indent) + [
                f"{indent}e['duration'] = _render(x) if isinstance(x, _timedelta) else 'unknown'"]
        if tail:
            lines.append(f"{indent}e.update({t})")
        lines.append(f"{indent}out.append(e)")
    return lines


def _no_remedies(case: dict[str, Any], env: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return ()

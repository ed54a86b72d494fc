"""What a verdict shows beside its outcome: the reason, the inputs read, the explanation steps.

Used by :mod:`policy_eval.run.evaluate` after the compiled hot path has decided the outcome: the
reference interpreter re-runs a rule to name what was missing and to list sub-expression values (without
the values, for an undetermined verdict's missing paths and reads: its generated twin, lang.tracecode).
"""

from __future__ import annotations

import weakref
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.budget import current
from policy_eval.lang.compiler import REF_TIME, let_key
from policy_eval.lang.interpreter import Trace, interpret
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.parser import one_line
from policy_eval.lang.readers import ReadError
from policy_eval.lang.stepcode import trace_with_steps
from policy_eval.lang.tracecode import trace_without_steps
from policy_eval.lang.values import UNKNOWN, render, to_json
from policy_eval.rulebook.policy import Rule
from policy_eval.run.result import Outcome
from policy_eval.run.shown import _typed_text

__all__ = ["DATA_ERRORS", "case_inputs", "trace_rule", "known_lets", "explanation", "reason", "unknown_reads",
           "ABSENT", "NULL"]

# (module globals, not Outcome's attributes: see run.judge)
_COMPLIED, _VIOLATED, _NOT_APPLICABLE = Outcome.COMPLIED, Outcome.VIOLATED, Outcome.NOT_APPLICABLE

# What a case's data can make a condition raise: the verdict is undetermined, with the error.
DATA_ERRORS = (EvalFailure, ArithmeticError)


def case_inputs(paths: list[tuple[str, tuple[str, ...], Any]], case: dict[str, Any]) -> dict[str, Any]:
    """The values at these paths (outside lists) present in the case, read as the rules read them."""
    out: dict[str, Any] = {}
    for path, keys, read in paths:
        node: Any = case
        for key in keys:
            node = node.get(key) if type(node) is dict else None
            if node is None:
                break
        if node is None or isinstance(node, (dict, list)):
            continue
        if read is None:
            out[path] = to_json(node)
        elif type(node) is str:
            out[path] = _typed_text(read, node)
        else:
            try:
                out[path] = to_json(read(node))
            except ReadError:  # not what the schema promises: shown as it is
                out[path] = to_json(node)
    return out


def known_lets(rule: Rule, case: dict[str, Any], env: dict[str, Any]) -> dict[int, Any]:
    """The let-bindings the rule's ``when`` and condition read whose values a fused function left in ``env`` for this
    case (lang.fusion, an undetermined step's), known (not unknown), as a trace without steps takes them: ``(value,
    ())`` by ``id`` of the expression; a known value has no missing path, as the interpreter's ``ev`` gives it. (For
    a case read exactly, a null not read as a missing key: the caller asks, as run.violated's makers do.)"""
    keys = _LET_KEYS.get(rule.condition.node)
    when = rule.when.node if rule.when is not None else None
    if keys is None or keys[0] is not when:
        keys = _LET_KEYS[rule.condition.node] = (when, tuple((let_key(e), id(e)) for e in ir.lets_read(
            when, rule.condition.node)))
    ref = env.get(REF_TIME)
    return {ident: (kept[2], ()) for key, ident in keys[1]
            if (kept := env.get(key)) is not None and kept[0] is case and kept[1] is ref and kept[2] is not UNKNOWN}


# per condition (with the rule's ``when``, which the entry holds): the lets they read, (environment key, id)
_LET_KEYS: weakref.WeakKeyDictionary[ir.IR, tuple[ir.IR | None, tuple[tuple[str, int], ...]]] = \
    weakref.WeakKeyDictionary()


def trace_rule(rule: Rule, case: dict[str, Any], env: dict[str, Any], explain: bool = True,
               lets: dict[int, Any] | None = None) -> Trace:
    """The rule's ``when`` and condition interpreted on the case: what was missing, what was read and (with
    ``explain``) the steps an explanation lists; without, ``lets`` holds lets already known (:func:`known_lets`).

    The walk is generated code, which finds what the interpreter finds: :mod:`policy_eval.lang.tracecode`
    without steps (an undetermined verdict's missing paths and reads in findings detail), :mod:`policy_eval.lang.stepcode`
    with them; should it raise anything but a data error (or run out of memory or depth), the interpreter runs
    instead, from the budget the generated code started with, and gives its answer or its error."""
    meter = current()
    left = meter.left if meter is not None else 0
    try:
        when = rule.when.node if rule.when is not None else None
        if explain:
            return trace_with_steps(when, rule.condition.node, case, env, DATA_ERRORS)
        return trace_without_steps(when, rule.condition.node, case, env, DATA_ERRORS, dict(lets) if lets else None)
    except (MemoryError, RecursionError):
        raise
    except Exception:  # noqa: BLE001 - generated code is an optimisation: the interpreter has the last word
        if meter is not None:
            meter.left = left
    trace = Trace(explain=explain)
    lets = None if explain else dict(lets) if lets else {}  # without steps, a definition is walked once
    try:
        applies = interpret(rule.when.node, case, env, trace, lets) if rule.when is not None else True
        if applies is True:  # an unknown applicability is what is undetermined; its blame is the answer
            interpret(rule.condition.node, case, env, trace, lets)
    except DATA_ERRORS:
        pass
    return trace


def explanation(trace: Trace) -> tuple[dict[str, Any], ...]:
    seen: set[str] = set()
    out = []
    witness = trace.witness
    for step in trace.steps:
        key = step.text
        if key in seen:
            continue
        seen.add(key)
        entry: dict[str, Any] = {"expr": key, "value": render(step.value)}
        if witness and key in witness:
            entry["witness"] = witness[key]
        out.append(entry)
    return tuple(out)


# What an unknown case path is (docs/language.md, "Absent and null"), as `explain` shows it beside the value.
ABSENT, NULL = "absent", "unknown (null)"


def unknown_reads(rule: Rule, case: dict[str, Any]) -> dict[str, str]:
    """Per sub-expression text of the rule (its ``when``, condition and the lets they use) that reads a case
    path from the root through fields: :data:`ABSENT` where the case leaves the path out (a key missing on
    the way: the event has not happened), :data:`NULL` where it is ``null`` or under a ``null`` object (not
    known). Paths the case gives a value are left out, and so are reads under a list item or a variable (a
    null in a list reads as missing). An explanation step whose value is unknown and whose text is a key
    here is that read (the text is the policy's own for the node, as the trace's steps record it)."""
    out: dict[str, str] = {}
    for node in ir.walk(*(c.node for c in (rule.when, rule.condition) if c is not None)):
        keys = ir.root_path(node)
        if keys is None or node.text in out:
            continue
        state = _state(case, keys)
        if state is not None:
            out[node.text] = state
    return out


def _state(case: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    node: Any = case
    for key in keys:
        if type(node) is not dict and not isinstance(node, dict):
            return None  # not an object: the read is an error, not an unknown value
        if key not in node:
            return ABSENT
        node = node[key]
        if node is None:
            return NULL
    return None


def reason(rule: Rule, outcome: Outcome, message: str | None, trace: Trace | None, error: str | None) -> str:
    if outcome is _VIOLATED:
        return message or rule.title
    if outcome is _NOT_APPLICABLE:
        return f"does not apply: `{one_line(rule.when.text)}` is false" if rule.when else "does not apply"
    if outcome is _COMPLIED:
        verb = "holds" if rule.mode == "require" else "does not hold"
        return f"`{one_line(rule.condition.text)}` {verb}"
    if error is not None:
        return f"could not evaluate: {error}"
    missing = ", ".join(trace.missing) if trace is not None and trace.missing else "unknown values"
    return f"undetermined: missing {missing}"

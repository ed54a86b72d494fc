"""A rule's violated verdict made by one generated function: its message, its remedies and the verdict itself.

Input: a rule of a version (no waivers; the caller, :meth:`policy_eval.run.judge.Judge.violated_maker`, says
when this applies: no explanation, no inputs recorded, no deployment parameters) and where a null could change its
message (run.nullshown.nullable_paths). Output: ``make(case, env, ref_text)``, the
:class:`~policy_eval.run.result.RuleResult` that ``Judge.violated`` builds for the rule found violated on the case,
or None where the case may hold a null on one of those paths (the environment lacks run.nullshown's ``NO_NULL`` and
the case has one): the caller then takes ``Judge.violated``'s way, which shows what the null hides.

Why: a batch's commonest loud verdict went through five Python frames (``Judge.violated``, ``_violated``,
``nullshown.shown``, the compiled message, the compiled remedies) and a sixth for the verdict's ``__init__``; here
the message's code and the remedies' code (run.messages.message_lines and remedy_lines, the same lines
``compile_message`` and ``compile_remedies`` generate, one namespace for both) run in one frame, in the same order
(the message, then each remedy), and the verdict's fields are set on a new object. A let the two both read is
computed once here where it was computed in each: lets have no effects, and one that raised is computed again
(its local is set only by a value). ``tests/test_violated.py`` holds the verdicts equal to ``Judge.violated``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_eval.lang.codecache import code_for
from policy_eval.lang.codegen import inline
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run.messages import message_conditions, message_lines, remedy_conditions, remedy_lines
from policy_eval.run.nullpaths import ReadPaths, null_paths
from policy_eval.run.nullshown import NO_NULL
from policy_eval.run.result import FIELDS, Outcome, RuleResult

__all__ = ["Maker", "Makers", "compile_violated"]

Maker = Callable[[dict[str, Any], dict[str, Any], str], "RuleResult | None"]

# each field of the verdict: the expression the generated function sets it to (the rule's constants are names)
_SET = {"policy": "_P", "version": "_V", "rule": "_I", "title": "_T", "clause": "_C", "outcome": "_VI",
        "severity": "_S", "reason": "text or _T", "message": "text", "remedies": "_tuple(out)", "missing": "()",
        "inputs": "{}", "explanation": "()", "waiver": "None", "error": "None", "reference_time": "r",
        "depends": "None", "params": "None", "comply": "()"}
assert set(_SET) == set(FIELDS), "every field of RuleResult is set"


def compile_violated(version: PolicyVersion, rule: Rule, nullable: ReadPaths) -> Maker:
    """The rule's violated verdict as one generated function of ``(case, env, ref_text)`` (see the module)."""
    shown, owed = message_conditions(rule.message.parts), remedy_conditions(rule)
    conditions = shown + owed
    codes, prelude, names = inline([c.node for c in conditions])
    code_of = dict(zip(map(id, conditions), codes, strict=True))
    lines, joined = message_lines(rule.message.parts, code_of, names, "m")
    remedies = remedy_lines(rule, code_of, names, "r") if rule.remedies else ["out = ()"]
    names.update({"_P": version.id, "_V": version.version, "_I": rule.id, "_T": rule.title, "_C": rule.clause,
                  "_VI": Outcome.VIOLATED, "_S": rule.severity, "_new": object.__new__, "_RR": RuleResult,
                  "_tuple": tuple, "_NO_NULL": NO_NULL, "_null_paths": null_paths, "_nullable": nullable})
    guard = ["    if _NO_NULL not in v and _null_paths(c, _nullable):", "        return None"] if nullable else []
    source = "\n".join(["def make(c, v, r):", *guard, *prelude, *("    " + line for line in lines),
                        f"    text = {joined}", *("    " + line for line in remedies), "    o = _new(_RR)",
                        *(f"    o.{field} = {_SET[field]}" for field in FIELDS), "    return o"])
    compiled = code_for(source, f"<policy-eval violated {rule.full_id[:60]}>")
    exec(compiled, names)  # noqa: S102 - source built from fixed templates; every value is a bound name
    fn: Maker = names["make"]
    return fn


class Makers(dict[int, list["Maker | None"]]):
    """Per version (by id): each of its steps' makers, in step order (None where the evaluator makes none), made
    once: run.straight asks for its versions' when it is made, so that forked batch workers inherit them rather than
    each compiling its own on its first loud verdicts."""

    def made(self, ev: Any, version: PolicyVersion, steps: list[Any]) -> list[Maker | None]:
        """The version's makers (``steps``: its kernel steps; ``ev``: the evaluator, whose ``violated_maker`` says
        which rules have one)."""
        found = self.get(id(version))
        if found is None:
            found = self[id(version)] = [ev.violated_maker(version, rule) for rule, _, _ in steps]
        return found

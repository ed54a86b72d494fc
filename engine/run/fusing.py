"""A version's rules as one generated function (lang.fusion), made once per loaded version.

Input: a version's steps as run.kernel plans them (each rule, its dependencies with the outcomes wanted from each,
whether the caller selected it). Output: the fused function, or None (the rules are then run one by one). A
function is kept on the version (``PolicyVersion.fused``) by the steps it was made for, so a second evaluator of
one loaded rulebook (the embedding API's findings one, the processor ``evaluate_many``'s workers are forked from)
compiles none again.
"""

from __future__ import annotations

from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.fusion import Step, Tokens, fuse
from policy_eval.rulebook.policy import Rule
from policy_eval.run.result import Outcome

__all__ = ["GATED", "Step_", "fused_of", "shown_lets"]

GATED = object()  # a fused step that an undetermined dependency leaves undetermined
_COMPLIED, _VIOLATED = Outcome.COMPLIED, Outcome.VIOLATED
_NOT_APPLICABLE, _UNDETERMINED = Outcome.NOT_APPLICABLE, Outcome.UNDETERMINED

# (rule, its dependencies with the outcomes wanted from each, selected by the caller's --only/--skip)
Step_ = tuple[Rule, tuple[tuple[str, frozenset[Outcome]], ...], bool]


def fused_of(steps: list[Step_], name: str, exact_nulls: bool = False, kept: dict[Any, Any] | None = None,
             required: frozenset[tuple[str, ...]] = frozenset()) -> Any:
    """One generated function for a version's steps (lang.fusion), or None (then rule by rule); ``kept``: the
    version's own (``PolicyVersion.fused``), where one made for the same rules (these objects), dependencies,
    selection, null reading and required paths (lang.fusion.fuse) is found instead of compiled again."""
    key = (exact_nulls, required,
           tuple((id(rule), depends, selected) for rule, depends, selected in steps))  # (per version)
    if kept is not None and (hit := kept.get(key)) is not None \
            and all(rule is step[0] for rule, step in zip(hit[0], steps, strict=True)):
        return hit[1]
    made = _fuse(steps, name, exact_nulls, required)
    if kept is not None:
        kept[key] = (tuple(rule for rule, _, _ in steps), made)  # (the rules held: their ids stay theirs)
    return made


def _fuse(steps: list[Step_], name: str, exact_nulls: bool, required: frozenset[tuple[str, ...]]) -> Any:
    index = {rule.id: i for i, (rule, _, _) in enumerate(steps)}
    return fuse([Step(rule.when.node if rule.when is not None else None, rule.condition.node,
                      rule.mode != "require", tuple((index[d], wanted) for d, wanted in depends), selected,
                      shown_lets(rule))
                 for rule, depends, selected in steps],
                Tokens(_COMPLIED, _VIOLATED, _NOT_APPLICABLE, _UNDETERMINED, GATED), name, exact_nulls, required)


def shown_lets(rule: Rule) -> tuple[ir.IR, ...]:
    """The let-bindings a rule's violated verdict's message and remedies read (lang.fusion's ``Step.shown``)."""
    return tuple({id(n.expr): n.expr for n in ir.walk(*rule.shown_nodes()) if isinstance(n, ir.LetRef)}.values())

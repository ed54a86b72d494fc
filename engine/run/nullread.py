"""What an evaluator keeps to judge the rules a case's explicit nulls may decide (issue 14: nulls at the cost of
generated code).

Input: a kernel (run.kernel, whose steps a version's null reading is fused over) and each rule's case reads
(``compose.case_reads``). Output: per rule, its generated null reading (:func:`~policy_eval.lang.nullcode.null_gate`,
made on its first case with a null); per version and set of null paths, the bit mask of the kernel's steps whose
reads meet one (:meth:`NullReading.want`, remembered: a batch's records tend to leave the same fields null); and a
gated verdict's explanation traced when it is first read (:func:`null_steps`, the embedding API's).
"""

from __future__ import annotations

from typing import Any

from policy_eval.lang.interpreter import Trace
from policy_eval.lang.nullcode import NullGate, null_gate
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.run import compose
from policy_eval.run.explaining import explanation
from policy_eval.run.kernel import Kernel

__all__ = ["NullReading", "null_steps"]

_WANTS_KEPT = 4096  # distinct (version, null paths) masks remembered; then forgotten all at once


class NullReading:
    """An evaluator's null readings (see the module). Safe to share between threads (dicts filled idempotently)."""

    def __init__(self, kernel: Kernel, reads: dict[int, tuple[str, ...]]) -> None:
        self._kernel = kernel
        self._reads = reads
        self._gates: dict[int, NullGate | None] = {}
        self._wants: dict[tuple[int, tuple[str, ...]], int] = {}

    def gate(self, rule: Rule) -> NullGate | None:
        """The rule's generated null reading, made on first use (None where the templates do not spell it)."""
        gates = self._gates
        key = id(rule)
        if key in gates:
            return gates[key]
        made = gates[key] = null_gate(rule.when.node if rule.when is not None else None, rule.condition.node)
        return made

    def want(self, version: PolicyVersion, nulls: tuple[str, ...]) -> int:
        """The bit mask of the kernel's steps of ``version`` whose reads meet one of ``nulls``."""
        key = (id(version), nulls)
        want = self._wants.get(key)
        if want is None:
            reads = self._reads
            want = sum(1 << i for i, r in enumerate(self._kernel.rules(version))
                       if compose.reads_null(reads[id(r)], nulls))
            if len(self._wants) >= _WANTS_KEPT:
                self._wants.clear()
            self._wants[key] = want
        return want


def null_steps(head: tuple[dict[str, Any], ...], rule: Rule, case: dict[str, Any], env: dict[str, Any]
               ) -> tuple[dict[str, Any], ...]:
    """A gated verdict's explanation: ``head`` (its dependencies' chain), then what its `when` and condition came
    to with the case's nulls read as unknown (compose.unknown, traced)."""
    compose.unknown(rule, case, env, trace := Trace())
    return head + explanation(trace)

"""Generated code for the embedding API's lazy verdicts (run.lazy): one small function per policy version.

Input: a version's fused function (run.kernel, lang.fusion), its rules' lazy verdict classes by outcome.
Output: ``glue(case, ref, ref_text, meter)``, which runs the fused function (None if it raised, a null on a
path it read included: the case then goes the general way) and, when every rule's outcome has a lazy class,
returns the verdicts made from them (a tuple), each holding the reference time and the ``fill`` of the case
(in findings detail, ``[the violated ones, complied, not applicable]``, the last two counted); otherwise it
returns ``[the fused function's answer]`` for run.lazy to finish rule by rule. The fill holds the fused
function's outcomes, not the verdicts: a verdict holding its siblings would make every result a reference
cycle, freed only by the garbage collector. Unrolled (no loop, no zip, one dictionary look-up per rule), because this is
most of what an API call does besides deciding: a loop over the rules cost more than the rules' conditions.

The source comes from a fixed template over the number of rules; every class and function is a name bound
in the function's namespace, never text from a policy.

:func:`policy_eval.lang.budget.may_charge` tells whether conditions can spend from the evaluation budget: a
version whose rules cannot is run without setting the budget's context variable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["glue", "MAX_RULES"]

MAX_RULES = 1000  # rules of a version beyond which no glue is made (run.lazy loops over them instead)


def glue(fn: Any, kinds: tuple[dict[Any, type], ...], fill: Callable[..., Any], ready: Any,
         ref_key: str, counted: tuple[Any, Any] | None = None) -> Callable[[dict[str, Any], Any, str, Any], Any]:
    """The glue of one version (see the module docstring): ``fn`` its fused function, ``kinds`` each planned
    rule's lazy classes by outcome, ``fill`` and ``ready`` what each verdict's fill holds, ``ref_key`` the
    environment's name of the reference time.

    ``counted`` (findings detail, every planned rule selected): the two outcomes that are counted, not made
    (complied, not applicable). The glue then returns ``[the lazy verdicts, complied, not applicable]``, the
    verdicts' fill holding the outcomes of every planned rule."""
    n = len(kinds)
    lines = ["def _glue(c, ref, ref_text, m):", "    q = _fn(c, {_R: ref}, m)", "    if q is None:",
             "        return None"]
    if counted is not None:
        lines += ["    if not q[2]:", "        return [(), q[0], q[1]]"]  # (nothing violated nor undetermined)
    lines += ["    " + "".join(f"o{i}, " for i in range(n)) + "= q[3]"]
    held = "    fill = (_fill, (_ready, c, {_R: ref}, ref_text, q[3]))"
    if counted is None:
        lines += ["    if " + " or ".join(f"(k{i} := _K{i}.get(o{i})) is None" for i in range(n)) + ":",
                  "        return [q]", held]
        for i in range(n):
            lines += [f"    v{i} = _new(k{i})", f"    v{i}.reference_time = ref_text", f"    v{i}._fill = fill"]
        lines += ["    return (" + "".join(f"v{i}, " for i in range(n)) + ")", ""]
    else:  # a counted outcome stands for itself (and is not kept); any other needs its lazy class
        lines += [held, "    kept = ()"]
        for i in range(n):
            lines += [f"    if o{i} is not _C and o{i} is not _N:", f"        if (k := _K{i}.get(o{i})) is None:",
                      "            return [q]", "        v = _new(k)", "        v.reference_time = ref_text",
                      "        v._fill = fill", "        kept += (v,)"]
        lines += ["    return [kept, q[0], q[1]]", ""]
    namespace: dict[str, Any] = {"__builtins__": {}, "_fn": fn, "_fill": fill, "_ready": ready, "_R": ref_key,
                                 "_new": object.__new__}
    if counted is not None:
        namespace.update({"_C": counted[0], "_N": counted[1]})
    namespace.update({f"_K{i}": k for i, k in enumerate(kinds)})
    exec(compile("\n".join(lines), f"<policy-eval lazy glue of {n} rules>", "exec"), namespace)  # noqa: S102
    made: Callable[[dict[str, Any], Any, str, Any], Any] = namespace["_glue"]
    return made

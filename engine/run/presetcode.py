"""Full detail's verdicts of one version, made by one generated function from the fused function's outcomes.

Input: a version's rules in order, each with its preset classes by outcome (:mod:`policy_eval.run.presets`; None
for a rule that has none), and whether verdicts record their inputs. Output: ``make(decided, own, ref_text,
general, version, case, env, nulls)``, the list of the version's verdicts, in rule order: where the rule has a
preset class for the outcome the fused function decided, an instance of it with its reference time and inputs set;
else ``general(version, rule, case, env, ref_text, own, None, nulls, outcome)`` (the evaluator's general path).

This is the loop ``Evaluator._policy`` ran over the version's rules, unrolled: no ``zip`` of four sequences, no
per-rule lookups of the rule's classes or the list's ``append`` (bench/opcodes.py: the loop was a tenth of a full
record's bytecode); an identity test per outcome, each branch making one class's verdicts (by calling it: a preset
class has object's own ``__init__``), so that CPython specialises its stores (a site met by a rule's three classes in
turn was not). The source is built from fixed templates and the rules' positions only; every value it uses is
bound in its namespace. ``tests/test_presetcode.py`` compares it with the loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policy_eval.lang.codecache import code_for
from policy_eval.rulebook.policy import Rule

__all__ = ["maker"]

_NONE: Mapping[Any, Any] = {}  # (a rule without preset classes: every outcome goes the general path)


def maker(rules: Sequence[Rule], kinds: Sequence[Mapping[Any, type] | None], record_inputs: bool,
          name: str = "") -> Any:
    """The version's ``make`` function (see the module)."""
    n = len(rules)
    namespace: dict[str, Any] = {"__builtins__": {}}
    lines = ["def make(d, own, t, general, v, c, e, nulls):"]
    if n == 0:
        lines.append("    return []")
    else:
        outcomes = ", ".join(f"o{i}" for i in range(n))
        inputs = ", ".join(f"i{i}" for i in range(n))
        lines += [f"    {outcomes}, = d", f"    {inputs}, = own"]
        outcomes_named: dict[Any, str] = {}
        for i, (rule, classes) in enumerate(zip(rules, kinds, strict=True)):
            namespace[f"_R{i}"] = rule
            branch = "if"
            for outcome, cls in (classes or _NONE).items():  # (one branch per outcome: its stores see one class)
                if getattr(cls, "__init__", None) is not object.__init__:
                    raise TypeError(f"not a preset class (PresetResult.of): {cls!r}")
                o = outcomes_named.setdefault(outcome, f"_O{len(outcomes_named)}")
                namespace[o], namespace[f"_K{i}{o}"] = outcome, cls
                lines += [f"    {branch} o{i} is {o}:",
                          f"        r{i} = _K{i}{o}()",
                          f"        r{i}.reference_time = t",
                          # (no inputs recorded: a fresh empty dict each, as Judge._rule_inputs gives)
                          f"        r{i}.inputs = i{i}" if record_inputs else f"        r{i}.inputs = {{}}"]
                branch = "elif"
            lines += ["    else:" if branch == "elif" else "    if True:",
                      f"        r{i} = general(v, _R{i}, c, e, t, i{i}, None, nulls, o{i})"]
        lines.append("    return [" + ", ".join(f"r{i}" for i in range(n)) + "]")
    exec(code_for("\n".join(lines) + "\n", f"<policy-eval presets {name}>"), namespace)  # noqa: S102
    return namespace["make"]

"""The last lines of a fused function (lang.fusion): the let-bindings' values it leaves in the environment.

Input: the fused function's code generator (its let locals and constants) and its steps. Output: source lines,
run when some step was loud, that store ``(case, reference time, value)`` under each let's key
(:func:`~policy_eval.lang.compiler.let_key`), as the let's memoised function keeps it: the lets a loud step's
message reads, and the lets an undetermined step's ``when`` and condition read themselves (see ``fused_exports``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from policy_eval.lang import ir
from policy_eval.lang.compiler import REF_TIME, let_key

__all__ = ["fused_exports"]


class _FusedGen(Protocol):  # (what is read of lang.fusion's generator)
    lets: dict[int, str]  # a let's three-valued local, by id of its expression
    sure_lets: dict[int, str]  # its two-valued one

    def const(self, value: Any) -> str: ...


class Step(Protocol):  # (what is read of a lang.fusion.Step)
    @property
    def when(self) -> ir.IR | None: ...
    @property
    def condition(self) -> ir.IR: ...
    @property
    def shown(self) -> tuple[ir.IR, ...]: ...


def fused_exports(gen: _FusedGen, steps: Sequence[Step]) -> list[str]:
    """The lines that leave in ``v`` the values of the let-bindings each loud step's message reads (see the module
    docstring), and those an undetermined step's own ``when`` and condition read themselves, for its trace, which
    names what is missing and takes the known ones as they are (run.explaining.known_lets): the three-valued local's
    value, else the two-valued one's, where the function computed one. (A step is undetermined only where its
    three-valued code ran, or a dependency's, which sets ``_z`` false where it reads a let: one test for the rest.)"""
    out: list[str] = []
    undetermined: list[str] = []
    for i, step in enumerate(steps):
        lines = [line for target in step.shown for line in _export(gen, target)]
        if lines:
            out += [f"            if _loud & {1 << i}:", *("                " + line for line in lines)]
        shown = {id(target) for target in step.shown}
        lines = [line for target in ir.lets_read(step.when, step.condition) if id(target) not in shown
                 for line in _export(gen, target)] if gen.lets else []
        if lines:
            undetermined += [f"                if _o{i} is _UN:", *("                    " + line for line in lines)]
    if undetermined:
        out += ["            if not _z:", *undetermined]
    return ["        if _loud:", f"            _xr = v.get({gen.const(REF_TIME)})", *out] if out else []


def _export(gen: _FusedGen, target: ir.IR) -> list[str]:
    """The lines that leave one let's value in ``v`` where the function computed it (none where it has no local)."""
    held = [d[id(target)] for d in (gen.lets, gen.sure_lets) if id(target) in d]  # (its locals, if any)
    key = gen.const(let_key(target)) if held else ""
    lines: list[str] = []
    for j, local in enumerate(held):  # (a three-valued local is set only once three-valued code ran: ``_z``)
        test = f"not _z and {local}" if local.startswith("_l") else local
        lines += [f"{'elif' if j else 'if'} {test} is not _M:", f"    v[{key}] = (c, _xr, {local})"]
    return lines

"""Generated code for the embedding API's lazy verdicts (run.lazy): one small function per policy version.

Input: a version's fused function (run.kernel, lang.fusion), its rules' lazy verdict classes by outcome.
Output: ``glue(case, ref, ref_text, meter)``, which runs the fused function (None if it raised, a null on a
path it read included: the case then goes the general way) and, when every rule's outcome has a lazy class,
returns the verdicts made from them (a tuple), each holding the reference time and the ``fill`` of the case
(in findings detail, ``[the violated ones, complied, not applicable]``, the last two counted); otherwise it
returns ``[the fused function's answer, its environment]`` for run.lazy to finish rule by rule. The fill holds
the fused function's outcomes, not the verdicts: a verdict holding its siblings would make every result a
reference cycle, freed only by the garbage collector; and its environment, where it left the lets the loud
verdicts' messages read (lang.fusion). Unrolled (no loop, no zip, an identity test per outcome a rule has a class
for), because this is most of what an API call does besides deciding: a loop over the rules cost more than the rules'
conditions. Each branch makes one class's verdicts, by calling it (``LazyResult.of`` gives its classes object's own
``__init__``): a site met by a rule's three classes in turn kept CPython from specialising its stores.

The glue that makes a whole case result (``whole``) runs the fused function's body in its own frame (lang.fusion's
``Inline``: one Python call fewer an API call), keeping up to date only the counts it reads; where that body reads
its environment only to leave a loud rule's lets in it, the environment is made only then, and the fill holds the
reference time alone otherwise (:func:`environment` makes the dict when a verdict is filled).

The source comes from a fixed template over the number of rules, and the fused body from lang.fusion's templates
over the checked trees; every class and function is a name bound in the function's namespace, never text from a
policy.

:func:`policy_eval.lang.budget.may_charge` tells whether conditions can spend from the evaluation budget: a
version whose rules cannot is run without setting the budget's context variable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy_eval.lang.codecache import code_for
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.fusion import inline_of
from policy_eval.rulebook.casevalues import id_text

__all__ = ["glue", "environment", "MAX_RULES"]

MAX_RULES = 1000  # rules of a version beyond which no glue is made (run.lazy loops over them instead)


def environment(held: Any, copy: bool = True) -> dict[str, Any]:
    """A fused function's environment as a fill or a whole glue holds it: the environment (a dict; ``copy``: a
    copy of it), or the reference time alone where the function left nothing in it."""
    if type(held) is dict:
        return dict(held) if copy else held
    return {REF_TIME: held}


def glue(fn: Any, kinds: tuple[dict[Any, type], ...], fill: Callable[..., Any], ready: Any,
         ref_key: str, counted: tuple[Any, Any] | None = None,
         whole: tuple[type, str, tuple[Any, ...]] | None = None) -> Callable[..., Any]:
    """The glue of one version (see the module docstring): ``fn`` its fused function, ``kinds`` each planned
    rule's lazy classes by outcome, ``fill`` and ``ready`` what each verdict's fill holds, ``ref_key`` the
    environment's name of the reference time.

    ``counted`` (findings detail, every planned rule selected): the two outcomes that are counted, not made
    (complied, not applicable). The glue then returns ``[the lazy verdicts, complied, not applicable]``, the
    verdicts' fill holding the outcomes of every planned rule.

    ``whole`` (the case result class, the rulebook's digest, the version's ``applied``; every planned rule
    selected, the only policy of its case kind): the function is ``glue(case, ref, ref_text, meter, kind,
    source, record, shown)`` and returns, where the glue returns its verdicts, the whole case result instead
    (``shown``: its ``as_of``), built in the same frame (one API call then runs three Python functions)."""
    n = len(kinds)
    head = "def _glue(c, ref, ref_text, m, kind, source, record, shown):" if whole else \
        "def _glue(c, ref, ref_text, m):"
    # (one environment: the fused function's, which holds the lets it computed for the loud verdicts' messages,
    # kept by the verdicts' fill; where it raised, the glue returns None and the environment is dropped)
    inline = inline_of(fn) if whole is not None else None
    # (the fused function's answer: its counts, loud mask and outcomes, and itself for run.lazy to finish with)
    complied, not_applicable, loud, answer = "q[0]", "q[1]", "q[2]", "q"
    if inline is None:
        lines = [head, "    e = {_R: ref}", "    q = _fn(c, e, m)", "    if q is None:", "        return None"]
    else:  # the whole glue: the fused function's body in the glue's own frame, read from its locals
        # (run.lazy finishes a case with the counts in findings detail only, and never with the complied mask)
        counts = ("_co", "_na") if counted is not None else ()
        if inline.uses_env:
            lines = [head, "    e = v = {_R: ref}", "    try:", *inline.lines(*counts), *inline.handlers]
        else:  # (the environment made only where a loud step leaves lets' values in it; else the fill holds the
            # reference time alone: environment, above)
            lines = [head, "    e = ref", "    try:", *inline.lines(*counts, on_loud="e = v = {_R: ref}"),
                     *inline.handlers]
        complied, not_applicable, loud = "_co", "_na", "_loud"
        answer = "(_co, _na, _loud, (" + "".join(f"o{i}, " for i in range(n)) + "), None)"

    def made(results: str, quiet: str) -> list[str]:
        if whole is None:
            return [f"    return {results}" if quiet == "None" else f"    return [{results}, {quiet}]"]
        return ["    r = _new(_CR)", "    cid = c.get('case_id')", "    r.case_id = cid if cid is None or cid.__class__ is _str else _id(cid)",
                "    r.kind = kind", "    r.source = source", "    r.record = record", f"    r.results = {results}",
                "    r.rulebook = _DIGEST", "    r.as_of = shown", "    r.error = None", "    r.versions = _APPLIED",
                f"    r.quiet = {'None' if quiet == 'None' else f'({quiet})'}", "    r._tally = None", "    return r"]

    if counted is not None:  # (nothing loud)
        lines += [f"    if not {loud}:", *("    " + line for line in made("()", f"{complied}, {not_applicable}"))]
    if inline is None:
        lines.append("    " + "".join(f"o{i}, " for i in range(n)) + "= q[3]")
    else:
        lines += [f"    o{i} = {outcome}" for i, outcome in enumerate(inline.outcomes)]
    # (one tuple: what run.lazy's fill takes, the outcomes last)
    lines.append("    fill = (_fill, _ready, c, e, ref_text, " + "".join(f"o{i}, " for i in range(n)) + ")")
    outcomes: dict[Any, str] = {}  # an outcome -> its name in the namespace
    classes: dict[str, type] = {}

    def verdict(i: int, v: str, indent: str, skip: tuple[Any, ...] = ()) -> list[str]:
        """Rule ``i``'s verdict made in ``v``: one branch per outcome it has a class for, else ``[q, e]``. (A branch
        makes one class's instances, so its stores are specialised for that class: a site that met each rule's
        three classes in turn was not: two verdicts took 296 ns, now about 200.)"""
        out: list[str] = []
        for outcome, cls in kinds[i].items():
            if outcome in skip:
                continue
            o = outcomes.setdefault(outcome, f"_O{len(outcomes)}")
            k = f"_K{i}{o}"
            classes[k] = cls
            out += [f"{indent}{'elif' if out else 'if'} o{i} is {o}:",
                    f"{indent}    {v} = {k}()" if getattr(cls, "__init__", None) is object.__init__ else f"{indent}    {v} = _new({k})",
                    f"{indent}    {v}.reference_time = ref_text", f"{indent}    {v}._fill = fill"]
        return [*out, f"{indent}else:" if out else f"{indent}if True:", f"{indent}    return [{answer}, e]"]

    if counted is None:
        for i in range(n):
            lines += verdict(i, f"v{i}", "    ")
        lines += made("(" + "".join(f"v{i}, " for i in range(n)) + ")", "None") + [""]
    else:  # a counted outcome stands for itself (and is not kept); any other needs its lazy class
        lines += ["    kept = ()"]
        for i in range(n):
            lines += [f"    if o{i} is not _C and o{i} is not _N:", *verdict(i, "v", "        ", counted),
                      "        kept += (v,)"]
        lines += made("kept", f"{complied}, {not_applicable}") + [""]
    namespace: dict[str, Any] = {"__builtins__": {}, "_fn": fn, "_fill": fill, "_ready": ready, "_R": ref_key,
                                 "_new": object.__new__, "_str": str, "_id": id_text}
    if counted is not None:
        namespace.update({"_C": counted[0], "_N": counted[1]})
    if whole is not None:
        namespace.update({"_CR": whole[0], "_DIGEST": whole[1], "_APPLIED": whole[2]})
    namespace.update({name: outcome for outcome, name in outcomes.items()})
    namespace.update(classes)
    if inline is not None:  # (the fused body's names: none is one of the glue's)
        if shared := namespace.keys() & inline.namespace.keys():
            raise ValueError(f"glue and fused function share names: {sorted(shared)}")
        namespace.update(inline.namespace)
    exec(code_for("\n".join(lines), f"<policy-eval lazy glue of {n} rules>"), namespace)  # noqa: S102
    function: Callable[..., Any] = namespace["_glue"]
    return function

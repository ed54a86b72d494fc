"""Findings detail's common case, straight through: every policy of a case's kind in one short loop (and full
detail's, written from the pattern of its outcomes: see the last paragraph).

Input: a case (a dict already read and checked) of a kind with a schema. Output: its
:class:`~policy_eval.run.result.CaseResult` in findings detail, or None when the case needs the evaluator's
general path (:meth:`~policy_eval.run.evaluate.Evaluator.evaluate`): a reference time that is missing or
cannot be read, no version in force, a version the kernel does not run (waivers), an explicit null on a path the
rules of a version with dependencies read (for one without, :meth:`~policy_eval.run.kernel.Kernel.run_nulls`
decides what the unknown value hides).

For each policy it does what the general path does for such a case, and nothing else: the reference time
from the latest version (or ``as_of``; read once where a policy's is the one before's, as the after-sale
policies' ``request.submitted_at`` is), the version in force then, and :meth:`~policy_eval.run.kernel.Kernel.run`
on it (the fused function, the loud verdicts built by the general path), under a fresh budget: the fused function
is called here, on the policy's own new environment (:meth:`~policy_eval.run.kernel.Kernel.fused_steps`: ``run`` calls
it on a copy, which its fall-back to deciding rule by rule needs), and where it does not answer, ``run`` decides the
version on a new environment. What it skips is
the general path's bookkeeping for the cases it does not take (nulls on the paths read, policy-level verdicts,
full detail): about 3 % of a batch worker's time a record (bench/README). A case it gives up on is evaluated again from the
start by the general path, so a partial answer is never returned (nothing it runs has effects: the fused
functions and the verdicts it built are dropped). ``tests/test_straight.py`` holds its answers equal to the
general path's on the golden corpus and on generated records.

In full detail (given the evaluator's :class:`~policy_eval.run.written.Runs`) it takes a case that holds no explicit
null: each policy's version is written by ``Runs.run`` (a :class:`~policy_eval.run.written.VersionRun`, or the
version's verdicts made by its maker), as the general path's ``_policy`` does for such a case, and the result is
:func:`~policy_eval.run.written.written_result` of them, or the plain result when no version was written from
shapes. A version ``Runs.run`` does not take (its fused function did not decide, or it is not written this way)
hands the case back. The bookkeeping it skips is 1–2 µs of a full record (bench/README, thirty-third session).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from policy_eval.lang import ir
from policy_eval.lang.budget import _CURRENT as _METER
from policy_eval.lang.budget import fresh
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.readers import read_datetime
from policy_eval.lang.timestamps import MEMO
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import PolicyHistory
from policy_eval.rulebook.policy.model import PolicyVersion
from policy_eval.run.explaining import DATA_ERRORS
from policy_eval.run.kernel import General, Kernel, quiet_split
from policy_eval.run.lazy import SPENT, Spent
from policy_eval.run.nullpaths import ReadPaths, has_null, null_places
from policy_eval.run.nullshown import NO_NULL
from policy_eval.run.result import CaseResult, Outcome
from policy_eval.run.written import Runs, VersionRun, written_result

__all__ = ["Straight"]

_new = object.__new__
_datetime = _dt.datetime
_Kept = tuple[PolicyVersion, Any]
_METER_SET = _METER.set
_METER_RESET = _METER.reset
_CASE_RESULT = CaseResult
_MEMO_GET = MEMO.get
# a policy of a kind: its history, its reference time's function, whether that is the one before's, its versions kept
# by year, the keys of a plain reference time (_plain)
_Route = tuple[PolicyHistory, Any, bool, dict[int, _Kept], tuple[str, str] | None]
_VIOLATED = Outcome.VIOLATED


def _reference(reference: Any, case: dict[str, Any]) -> Any:
    """A policy's reference time on the case (``reference``: its latest version's compiled reference time), or None
    where it is missing or cannot be read (the general path's case)."""
    try:
        ref = reference(case, {REF_TIME: UNKNOWN})
    except DATA_ERRORS:
        return None
    return None if ref is UNKNOWN else ref


def _plain(node: Any) -> tuple[str, str] | None:
    """The two keys of a reference time read as a timestamp from a record at the case's root (the after-sale
    policies' ``request.submitted_at``), or None for any other: its value is the timestamp the record's read
    remembered in lang.timestamps' memo, as the compiled read itself looks there first (lang.threevalued)."""
    if type(node) is ir.Field and node.convert is read_datetime and type(base := node.base) is ir.Field \
            and base.base is None:
        return base.key, node.key
    return None


def _same_reference(history: PolicyHistory, before: PolicyHistory) -> bool:
    """Whether two policies of a kind read the same reference time: the same checked tree (the same paths,
    functions and constants, a parameter's value included; the text alone is not enough, ``submitted_at + lag``
    with two lags) reads the same value on any case, an error or a missing one included, which ends the case's
    straight way."""
    return ir.same(history.latest().reference_time.node, before.latest().reference_time.node)


class Straight:
    """The straight path of one findings evaluator (see the module). Holds no per-case state."""

    def __init__(self, general: General, kernel: Kernel, by_kind: Mapping[str, list[PolicyHistory]],
                 kinds: Any, digest: str, budget: int | None,
                 null_paths: Mapping[int, ReadPaths], runs: Runs | None = None) -> None:
        """``null_paths``: per version (by id), where a null could decide a rule it evaluates (the evaluator's);
        ``runs``: full detail's (see the module), None in findings detail."""
        self._general = general
        self._runs = runs
        self._null_paths = null_paths
        self._run = kernel.run
        self._kernel = kernel
        self._budget = budget
        self._digest = digest
        # per kind: each policy and its latest version's compiled reference time, in the general path's order
        # (and whether it is the one before's, which is then read once: the after-sale policies' `request.submitted_at`),
        # and by year the version in force at every instant written in it, where the history says one is
        # (PolicyHistory.settled: most years), with what the kernel runs of it (``_parts``): like ``_parts``, made for
        # the versions the histories hold now (the loader adds them; nothing changes them once an evaluator is made)
        self._routes: dict[str, tuple[_Route, ...]] = {
            kind: tuple((h, h.latest().reference_time.fn, i > 0 and _same_reference(h, histories[i - 1]), {},
                         _plain(h.latest().reference_time.node)) for i, h in enumerate(histories))
            for kind in kinds for histories in [list(by_kind.get(kind, ()))]}
        # per version (by id) with a fused function the kernel runs (Kernel.fused_steps): the function, its steps and
        # what the result records of the version (policy, version); any other version is the kernel's own run's
        self._parts: dict[int, tuple[Any, Any, tuple[str, str | None]]] = {
            id(v): (*parts, (h.id, v.version)) for route in self._routes.values() for h, *_ in route
            for v in h.versions if (parts := kernel.fused_steps(v)) is not None}
        # the violated verdicts' makers (run.violated) of the versions whose loud verdicts need nothing of the rules
        # before (Kernel.loud), made now: a forked worker inherits them
        for route in self._routes.values():
            for v in (v for h, *_ in route for v in h.versions if id(v) in self._parts and kernel.alone[id(v)]):
                kernel.makers.made(general, v, self._parts[id(v)][1])

    def result(self, case: dict[str, Any], kind: str, case_id: str | None, as_of: Any, as_text: str | None,
               source: str | None, record: int | None, null_free: bool = True) -> CaseResult | Spent | None:
        """The case's findings result, or None (the general path's case: see the module). ``null_free``: the caller
        knows that the case holds no explicit null (else it is looked for)."""
        route = self._routes.get(kind)
        if route is None:
            return None
        if self._runs is not None:
            return self._written(route, case, kind, case_id, as_of, as_text, source, record) \
                if null_free or not has_null(case) else None
        # (the case's nulls, found once for all its policies: most cases have none)
        places = null_places(case) if not null_free and has_null(case) else None
        meter = fresh(self._budget)  # a fresh budget for the case
        token = _METER_SET(meter)
        try:
            run = self._run
            general = self._general
            kept_parts = self._parts
            found: list[Any] | None = None
            bare = False  # whether ``found`` may hold bare outcomes (Kernel.run's; Kernel.loud's are verdicts only)
            versions: list[tuple[str, str | None]] = []
            complied = not_applicable = 0
            ref: Any = as_of
            for history, reference, shared, years, plain in route:
                # (the reference time: a timestamp the record's read remembered, looked up here, where it is one read
                # from a record at the root; else its compiled function's)
                if not shared and as_of is None and (
                        plain is None or (within := case.get(plain[0])).__class__ is not dict
                        or (text := within.get(plain[1])).__class__ is not str or (ref := _MEMO_GET(text)) is None) \
                        and (ref := _reference(reference, case)) is None:
                    return None
                version: PolicyVersion | None
                if type(ref) is _datetime and (held := years.get(ref.year)) is not None:
                    version, parts = held  # (the year's version, kept: see __init__)
                else:
                    if (version := history.at(ref)) is None:
                        return None
                    parts = kept_parts.get(id(version))
                    if type(ref) is _datetime and history.settled(year := ref.year):  # (years: 1 to 9999)
                        years[year] = (version, parts)
                if places is not None:  # a null on a path the version's rules read: Kernel.run_nulls
                    nulls = self._null_paths[id(version)].named(places)
                    quick = self._kernel.run_nulls(general, version, case, {REF_TIME: ref}, nulls,
                                                   general.null_want(version, nulls)) if nulls else \
                        run(general, version, case, {REF_TIME: ref})
                elif (meter is None or meter.fused) and parts is not None \
                        and (answer := parts[0](case, env := {REF_TIME: ref, NO_NULL: True}, meter)) is not None:
                    # (Kernel.run's common case, without its call and its copy: see the module)
                    versions.append(parts[2])
                    complied += answer[0]
                    not_applicable += answer[1]
                    if answer[2]:
                        loud = self._kernel.loud(general, version, case, env, parts[1], answer[3], answer[2])
                        if found is None:
                            found = loud
                        else:
                            found.extend(loud)
                    continue
                else:  # (no fused function, or it did not answer: Kernel.run decides the version, on a new environment;
                    # a fused function run again there, unless it ran out of budget, has no effect the rules see)
                    quick = run(general, version, case, {REF_TIME: ref, NO_NULL: True})
                if quick is None:
                    return None
                versions.append((history.id, version.version))
                complied += quick[0]
                not_applicable += quick[1]
                if quick[2]:
                    bare = True
                    if found is None:
                        found = quick[2]
                    else:
                        found.extend(quick[2])
        finally:
            _METER_RESET(token)
        made: CaseResult = _new(_CASE_RESULT)
        made.case_id = case_id
        made.kind = kind
        made.source = source
        made.record = record
        tally: tuple[int, int, int, int] | None = None  # (CaseResult.tally's, where it is plain: most cases)
        if found is not None and bare:  # (what the general path keeps of them: run.kernel.quiet_split)
            kept, bare_complied, bare_not_applicable = quiet_split(found)
            complied += bare_complied
            not_applicable += bare_not_applicable
            made.results = tuple(kept)
        elif found is not None:
            made.results = tuple(found)
            if len(found) == 1 and found[0].outcome is _VIOLATED:
                tally = (complied, 1, not_applicable, 0)
        else:
            made.results = ()
            tally = (complied, 0, not_applicable, 0)
        made.rulebook = self._digest
        made.as_of = as_text
        made.error = None
        made.versions = tuple(versions)
        made.quiet = (complied, not_applicable)
        made._tally = tally
        return made

    def _written(self, route: tuple[_Route, ...], case: dict[str, Any],
                 kind: str, case_id: str | None, as_of: Any, as_text: str | None, source: str | None,
                 record: int | None) -> CaseResult | Spent | None:
        """Full detail's result of a case with no explicit null, or None (see the module); SPENT where a fused
        function ran out of budget (the general path then decides the case's rules one by one: run.lazy)."""
        assert self._runs is not None
        run = self._runs.run
        parts: list[Any] = []
        versions: list[tuple[str, str | None]] = []
        written = False
        meter = fresh(self._budget)  # a fresh budget for the case
        token = _METER_SET(meter)
        try:
            ref: Any = as_of
            for history, reference, shared, *_ in route:
                if not shared and as_of is None and (ref := _reference(reference, case)) is None:
                    return None
                if (version := history.at(ref)) is None:
                    return None
                made = run(version, case, {REF_TIME: ref, NO_NULL: True})
                if made is None:  # (a fused function out of budget: not run again on the general path)
                    return SPENT if meter is not None and not meter.fused else None
                versions.append((history.id, version.version))
                if isinstance(made, VersionRun):
                    written = True
                    parts.append(made)
                else:
                    parts.extend(made)
        finally:
            _METER_RESET(token)
        if written:
            return written_result(case_id, kind, source, record, parts, self._digest, as_text, tuple(versions))
        return CaseResult(case_id, kind, source, record, tuple(parts), self._digest, as_text, None, tuple(versions),
                          None)

"""Evaluate a rulebook on case records: compiled conditions → verdicts.

Input: a :class:`~policy_eval.rulebook.Rulebook` and case dicts (raw JSON,
numbers as ``Decimal``). Output: :class:`~policy_eval.run.result.CaseResult`
objects. The hot path calls compiled closures only; the reference
interpreter runs afterwards to explain violated and undetermined verdicts
(and every verdict when ``explain=True``). A failure on one rule of one case
becomes an ``undetermined`` verdict carrying the error, never a crash.
In findings detail the rules of a version run in :mod:`policy_eval.run.kernel`,
which counts complied and not-applicable verdicts and hands the others back
here (:meth:`Evaluator.judged`, :meth:`Evaluator.rule_result`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from policy_eval.lang.budget import _CURRENT as _METER
from policy_eval.lang.budget import DEFAULT_BUDGET, Meter, current
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.interpreter import Trace, interpret
from policy_eval.lang.values import UNKNOWN, render
from policy_eval.rulebook import PolicyHistory, Rulebook
from policy_eval.rulebook.casevalues import id_text
from policy_eval.rulebook.policy import PolicyVersion, Rule
from policy_eval.rulebook.validation import kind_problem
from policy_eval.run import compose
from policy_eval.run.explaining import DATA_ERRORS as _DATA_ERRORS
from policy_eval.run.explaining import explanation
from policy_eval.run.explaining import reason as reason_for
from policy_eval.run.inputs import Inputs, compile_inputs
from policy_eval.run.judge import Judge
from policy_eval.run.kernel import GATED, Kernel, decide, quiet_split, when_false
from policy_eval.run.later import Later
from policy_eval.run.lazy import LazyVerdicts
from policy_eval.run.nullpaths import ReadPaths
from policy_eval.run.nullread import NullReading, null_steps
from policy_eval.run.nullshown import NO_NULL, nullable_paths
from policy_eval.run.presetcode import maker
from policy_eval.run.presets import presets
from policy_eval.run.result import CaseResult, Outcome, RuleResult
from policy_eval.run.selection import SEVERITY_ORDER, Selection
from policy_eval.run.shown import _error_text, _json_kind
from policy_eval.run.straight import Straight
from policy_eval.run.waived import waiver_of
from policy_eval.run.written import Runs, VersionRun, written_result

__all__ = ["Evaluator", "SEVERITY_ORDER"]

_NONE = (0, 0)
_new = object.__new__


class Evaluator(Judge):
    """Evaluates cases against one loaded rulebook. Thread-safe: it holds no per-case state."""

    def __init__(self, rulebook: Rulebook, *, explain: bool | str = False, only: Iterable[str] | None = None,
                 skip: Iterable[str] = (), min_severity: str = "info", record_inputs: bool = True,
                 detail: str = "full", lazy: bool = False, budget: int | None = DEFAULT_BUDGET) -> None:
        """``budget``: items each rule may visit on one record (see docs/language.md; None: unmetered).

        ``explain``: True (or "all") explains every verdict; False (or "decisive") explains violated
        and undetermined ones; "missing" explains only undetermined ones (whose missing paths need the
        reference interpreter) — the batch default, since explanations cost more than verdicts.

        ``detail="findings"``: only violated, undetermined and waived verdicts become RuleResults; the
        complied and not-applicable ones are counted (``CaseResult.quiet``), nothing else is built for them
        and no inputs are recorded. Outcomes are the same as with ``detail="full"`` (both paths decide them
        with run.kernel.decide; tests/test_kernel.py compares the two).

        ``lazy=True`` (the embedding API): inputs and the explanations not asked for eagerly are computed
        when first read (``verdict.explanation``, ``verdict.inputs``); on a case without explicit nulls, a
        complied, violated or not-applicable verdict is made with its outcome and its rule's constants and
        filled whole when anything else is read (run.lazy; in findings detail, the violated ones)."""
        self.rulebook = rulebook
        mode = {True: "all", False: "decisive"}.get(explain, explain) if isinstance(explain, bool) else explain
        if mode not in ("all", "decisive", "missing"):
            raise ValueError(f"explain must be all, decisive or missing, not {explain!r}")
        if detail not in ("full", "findings"):
            raise ValueError(f"detail must be full or findings, not {detail!r}")
        self.findings = detail == "findings"
        self.explain = mode == "all" and not self.findings
        if self.findings:
            mode, record_inputs = "missing", False  # findings carry no explanation, only missing paths
        self._explained = {"all": frozenset(Outcome), "decisive": frozenset({Outcome.VIOLATED, Outcome.UNDETERMINED}),
                           "missing": frozenset({Outcome.UNDETERMINED})}[mode]
        self.record_inputs = record_inputs
        self._violated_explained = Outcome.VIOLATED in self._explained
        # an undetermined verdict that a null decides shows what its conditions came to (findings show no steps)
        self._null_explained = Outcome.UNDETERMINED in self._explained and not self.findings
        self.budget = budget
        self.lazy = lazy and not self.findings
        self.selection = Selection(frozenset(only) if only else None, frozenset(skip),
                                   SEVERITY_ORDER.get(min_severity, 0))
        self._rules: dict[int, list[Rule]] = {
            id(v): [r for r in v.rules if self.selection.wants(r)] for v in rulebook.versions()
        }
        # the policies judged: with --rule/--skip/--severity, those with a rule selected in some version (a policy
        # none of whose rules is asked for gives no verdict, not even "no version in force")
        chosen = only is not None or bool(skip) or self.selection.min_severity > 0
        self._by_kind: dict[str, list[PolicyHistory]] = {}
        for history in rulebook.policies.values():
            if not chosen or any(self._rules[id(v)] for v in history.versions):
                self._by_kind.setdefault(history.applies_to, []).append(history)
        self._plans = compose.plans(rulebook.versions(), self._rules)  # versions whose rules depend on rules
        self._deployed, self._unset = compose.deployed(rulebook.versions())
        self._last_text: tuple[Any, str] = (None, "")
        # the rules of a version fused into one function (run.kernel, lang.fusion): it decides the outcomes (findings
        # detail counts the quiet ones, full detail writes them from their pattern, run.written; exact nulls: run.lazy)
        self._kernel = Kernel(rulebook.versions(), self._rules, self._plans, lazy, rulebook.case_schemas)
        # Per rule, computed once: the case paths it reads outside lists (split), the reasons not of the case.
        self._paths: dict[int, list[tuple[str, tuple[str, ...], Any]]] = {}
        self._version_inputs: dict[int, Inputs] = {}  # (run.inputs)
        self._null_paths: dict[int, ReadPaths] = {}
        self._reads: dict[int, tuple[str, ...]] = {}
        self._hiding: dict[int, tuple[str, ...]] = {}  # (compose.hiding_reads)
        self._nulls = NullReading(self._kernel, self._reads)  # (a case's nulls judged by generated code)
        self.null_want = self._nulls.want  # (run.kernel.General: what Kernel.run_nulls is asked for)
        self._reasons: dict[int, dict[Outcome, str]] = {}
        self._nullable: dict[int, Any] = {}  # (run.nullshown)
        for v in rulebook.versions():
            if record_inputs and not self.lazy:  # full detail: each rule's inputs read once per case
                self._version_inputs[id(v)] = compile_inputs([r.readers for r in self._rules[id(v)]],
                                                             f"{v.id} {v.version}")
            for r in v.rules:
                self._paths[id(r)] = [(p, tuple(p.split(".")), read) for p, read in r.readers.items() if "[" not in p]
                self._reads[id(r)] = compose.case_reads(r)
                self._hiding[id(r)] = compose.hiding_reads(r)
                self._nullable[id(r)] = nullable_paths(r)
                self._reasons[id(r)] = {Outcome.COMPLIED: reason_for(r, Outcome.COMPLIED, None, None, None),
                                        Outcome.NOT_APPLICABLE: reason_for(r, Outcome.NOT_APPLICABLE, None, None,
                                                                             None)}
            # where a null could decide a rule evaluated (objects too): the case's nulls are looked for there
            reads = {p: None for r in self._plans.get(id(v)) or self._rules[id(v)] for p in self._reads[id(r)]}
            self._null_paths[id(v)] = ReadPaths((p, tuple(p.split(".")), None) for p in reads)
        # the embedding API's verdicts: built with their outcome, filled from _rule when more is read
        self._lazy = LazyVerdicts(rulebook.versions(), self._reasons, self._rule, budget, self._kernel, self._rules,
                                  self._text, self.findings,
                                  {kind: self._by_kind.get(kind, []) for kind in rulebook.case_schemas},
                                  rulebook.digest, self._policy, self._deployed) if lazy else None
        # full detail: the quiet verdicts that say only their rule's constants, made from a class per outcome; each
        # version's verdicts made by one generated function from the fused function's outcomes (run.presetcode), or
        # written from the pattern of those outcomes and made only when read (run.written)
        self._presets = presets(rulebook.versions(), self._reasons, self._deployed, self._explained, compose.dated) \
            if not self.lazy and not self.findings else {}
        self._makers = {id(v): maker(self._rules[id(v)], [self._presets.get(id(r)) for r in self._rules[id(v)]],
                                     record_inputs and not self.lazy, f"{v.id} {v.version}")
                        for v in rulebook.versions()} if not self.findings else {}
        self._runs = Runs(rulebook.versions(), self._rules, self._presets, self._version_inputs, self._plans,
                          self._kernel, self, self._makers) if self._presets and record_inputs else None
        # each policy straight through its kernel (findings) or its written run (full) where nothing else is needed
        self._straight = Straight(self, self._kernel, self._by_kind, rulebook.case_schemas, rulebook.digest, budget,
                                  self._null_paths, self._runs) if not lazy and (self.findings or self._runs) else None

    # --- public -----------------------------------------------------------------------------------------
    def evaluate(self, case: Mapping[str, Any], *, as_of: _dt.datetime | None = None, source: str | None = None,
                 record: int | None = None, null_free: bool = False, fused: bool = True, lazy: bool = True,
                 checked: bool = False) -> CaseResult:
        """Every verdict on ``case`` (``null_free``: it holds no null, e.g. its JSON text has no ``null``; ``fused=False``:
        a fused function ran out of budget on it: rule by rule; ``lazy=False``: the lazy verdicts' path left it to the
        general path; ``checked``: a dict of a kind with a schema, checked)."""
        if not checked:  # (checked: a batch's record, checked as it was read: rulebook.msgdecode)
            if type(case) is not dict and not isinstance(case, Mapping):  # (a dict is by far the common case)
                return CaseResult(None, None, source, record, (), self.rulebook.digest, None, {"json_path": "$",
                                  "message": f"a case must be a JSON object, not {_json_kind(case)}"},
                                  (), (0, 0) if self.findings else None)
            case = case if type(case) is dict or isinstance(case, dict) else dict(case)
        kind = case.get("kind")
        case_id = case.get("case_id")
        if case_id is not None and case_id.__class__ is not str:  # (a text is its own: id_text's str())
            case_id = id_text(case_id)
        as_text = self._text(as_of) if as_of is not None else None
        digest = self.rulebook.digest
        if not checked and (not isinstance(kind, str) or kind not in self.rulebook.case_schemas):
            return CaseResult(case_id, kind if isinstance(kind, str) else None, source, record, (), digest, as_text,
                              {"json_path": "$.kind", "message": kind_problem(kind, self.rulebook.case_schemas)},
                              (), (0, 0) if self.findings else None)
        if TYPE_CHECKING:
            assert isinstance(case, dict) and isinstance(kind, str)  # (the checks above, or the caller's)
        if fused and self._straight is not None \
                and (made := self._straight.result(case, kind, case_id, as_of, as_text, source, record,
                                                   null_free)) is not None:
            if isinstance(made, CaseResult):  # (else SPENT)
                return made  # a batch's common case (run.straight)
            fused = False  # (a fused function ran out of budget on it: not run again)
        if fused and lazy and self._lazy is not None \
                and (quick := self._lazy.result(case, as_of, source, record)) is not None:
            if isinstance(quick, CaseResult):  # (else SPENT)
                return quick  # the embedding API's common case (run.lazy)
            fused = False
        results: list[Any] = []
        versions: list[tuple[str, str | None]] = []
        complied = not_applicable = 0
        written = False
        # a case with none (most) needs no search for what it marks unknown
        nulls = False if null_free else compose.has_null(case)
        # a fresh budget, refilled for each rule (run.kernel.decide); set and reset here rather than through
        # `with metered(...)`, which cost a tenth of an API call
        meter = Meter(self.budget) if self.budget is not None else None
        if meter is not None and not fused:
            meter.fused = False
        token = _METER.set(meter)
        try:
            for history in self._by_kind.get(kind, ()):
                version, verdicts, quiet = self._policy(history, case, as_of, nulls)
                versions.append((history.id, version))
                if type(verdicts) is VersionRun:
                    written = True
                    results.append(verdicts)
                else:
                    results.extend(verdicts)
                if quiet is not _NONE:
                    complied += quiet[0]
                    not_applicable += quiet[1]
        finally:
            _METER.reset(token)
        if written:  # (full detail: verdicts made when read)
            return written_result(case_id, kind, source, record, results, digest, as_text, tuple(versions))
        if not self.findings:
            return CaseResult(case_id, kind, source, record, tuple(results), digest, as_text, None,
                              tuple(versions), None)
        # complied and not-applicable verdicts come back as bare outcomes: count them
        kept, bare_complied, bare_not_applicable = quiet_split(results)
        complied += bare_complied
        not_applicable += bare_not_applicable
        return CaseResult(case_id, kind, source, record, tuple(kept), digest, as_text, None, tuple(versions),
                          (complied, not_applicable))

    def _text(self, instant: Any) -> str:
        """An instant as verdicts show it; the last one is kept (an embedder's fixed ``as_of``, a batch's
        cases from the same second). One tuple, replaced whole: safe across threads."""
        last = self._last_text
        if last[0] is instant:
            return last[1]
        text = render(instant)
        self._last_text = (instant, text)
        return text

    def evaluate_many(self, cases: Iterable[Mapping[str, Any]], *, as_of: _dt.datetime | None = None
                      ) -> Iterator[CaseResult]:
        for i, case in enumerate(cases, 1):
            yield self.evaluate(case, as_of=as_of, record=i)

    # --- internals --------------------------------------------------------------------------------------
    def _policy(self, history: PolicyHistory, case: dict[str, Any], as_of: _dt.datetime | None,
                maybe_null: bool = True) -> tuple[str | None, Any, tuple[int, int]]:  # (a list or a VersionRun)
        """The version applied (None when none could be picked), its verdicts, and the complied and
        not-applicable ones only counted (findings detail)."""
        latest = history.latest()
        if as_of is not None:
            ref: Any = as_of
        else:
            try:
                ref = latest.reference_time.fn(case, {REF_TIME: UNKNOWN})
            except _DATA_ERRORS as exc:
                return None, [self._policy_level(history, Outcome.UNDETERMINED,
                                                 f"reference time unreadable: {_error_text(exc)}",
                                                 error=_error_text(exc))], _NONE
            if ref is UNKNOWN:
                trace = Trace()
                interpret(latest.reference_time.node, case, {REF_TIME: UNKNOWN}, trace)
                return None, [self._policy_level(
                    history, Outcome.UNDETERMINED,
                    f"reference time `{latest.reference_time.text}` is missing; cannot pick a version of "
                    f"{history.id}", missing=tuple(trace.missing))], _NONE
        version = history.at(ref)
        if version is None:
            return None, [self._policy_level(history, Outcome.NOT_APPLICABLE,
                                             f"no version of {history.id} in force at {render(ref)}",
                                             reference_time=render(ref))], _NONE
        env = {REF_TIME: ref} if maybe_null else {REF_TIME: ref, NO_NULL: True}
        # what the case marks unknown (an explicit null)
        nulls = compose.null_paths(case, self._null_paths[id(version)]) if maybe_null else ()
        want = self.null_want(version, nulls) if nulls else 0  # (the rules reading them, as a bit mask)
        if self._runs is not None and (made := self._runs.run(version, case, env, nulls, want)) is not None:
            return version.version, made, _NONE  # (full detail's common case, nulls or none: run.written)
        decided: tuple[Any, ...] | None = None  # (the fused function's outcomes, in plan order)
        gated: int | None = None  # (a case with nulls: the rules they decide, as a bit mask)
        if not nulls:
            if self.findings:
                quick = self._kernel.run(self, version, case, env)
                if quick is not None:
                    return version.version, quick[2], (quick[0], quick[1])
            else:
                decided = self._kernel.outcomes(version, case, env)
        else:
            if self.findings:  # the fused function, and the generated null reading for the rules that read a null
                quick = self._kernel.run_nulls(self, version, case, env, nulls, want)
                if quick is not None:
                    return version.version, quick[2], (quick[0], quick[1])
            # nulls read as absent: the rules no null decides (those it does: named by the null reading, to _rule)
            decided = self._kernel.outcomes(version, case, env, nulls=True)
            gated = self._kernel.null_gated(version, case, env, want) if decided is not None else None
        ref_text = self._text(ref)
        rules = self._rules[id(version)]
        # what each rule records as read (full detail): every value the version's rules read outside lists, read
        # once per case (run.inputs), each rule's own a view of them
        own: Any = self._version_inputs[id(version)](case) if self.record_inputs and not self.lazy \
            else (None,) * len(rules)
        plan = self._plans.get(id(version))
        if plan is None and decided is not None and not self.findings and \
                (not nulls or gated is not None and not self.lazy):  # (full detail: most verdicts from a preset
            # class, run.presetcode; lazy has none)
            if gated:  # (the rules a null decides: no preset outcome, so the general path judges them)
                decided = tuple(GATED if gated >> i & 1 else o for i, o in enumerate(decided))
            return version.version, self._makers[id(version)](decided, own, ref_text, self._rule, version, case,
                                                              env, nulls), _NONE
        if plan is None and gated is not None and decided is not None:  # (a rule no null decides: as decided)
            if self._lazy is not None and (made := self._lazy.nulled(version, case, env, ref_text, decided, gated,
                                                                     nulls)) is not None:
                return version.version, made, _NONE  # (the embedding API: its verdicts lazy, run.lazy)
            return version.version, [self._rule(version, rule, case, env, ref_text, mine, None,
                                                nulls if gated >> i & 1 else (), outcome, bool(gated >> i & 1))
                                     for i, (rule, mine, outcome) in enumerate(zip(rules, own, decided, strict=True))
                                     ], _NONE
        if plan is None:
            return version.version, [self._rule(version, rule, case, env, ref_text, mine, None, nulls, outcome)
                                     for rule, mine, outcome in zip(rules, own, decided or (None,) * len(rules),
                                                                    strict=True)], _NONE
        fused = self._kernel.fused(version)  # (the rules its outcomes are of, in plan order)
        found = dict(zip((r.id for r in fused[1]), decided, strict=True)) if decided is not None and fused else {}
        one = self._preset if found and not nulls else self._rule  # (a null: each rule judged by _rule)
        done: dict[str, RuleResult | Outcome] = {}  # each rule once per case, dependencies first
        mine_of = {rule.id: mine for rule, mine in zip(rules, own, strict=True)}  # (a plan's unselected ones: None)
        for rule in plan:
            done[rule.id] = one(version, rule, case, env, ref_text, mine_of.get(rule.id), done, nulls,
                                found.get(rule.id))
        return version.version, [done[rule.id] for rule in rules], _NONE

    def _preset(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any],
                ref_text: str, read_ahead: dict[str, Any] | None, done: dict[str, RuleResult | Outcome] | None,
                nulls: tuple[str, ...], decided: Any) -> RuleResult | Outcome:
        """A verdict whose outcome the fused function decided: from its preset class (run.presets) when it
        has one for that outcome, else from the general path."""
        kinds = self._presets.get(id(rule))
        if kinds is not None and (kind := kinds.get(decided)) is not None:
            result = _new(kind)
            result.reference_time = ref_text
            result.inputs = self._rule_inputs(rule, case, read_ahead)
            return result
        return self._rule(version, rule, case, env, ref_text, read_ahead, done, nulls, decided)

    def _rule(self, version: PolicyVersion, rule: Rule, case: dict[str, Any], env: dict[str, Any],
              ref_text: str, read_ahead: dict[str, Any] | None = None,
              done: dict[str, RuleResult | Outcome] | None = None, nulls: tuple[str, ...] = (),
              decided: Any = None, gated: bool = False) -> RuleResult | Outcome:
        """One rule's verdict; ``decided``: its outcome found by the version's fused function (run.kernel), used
        when no dependency or unknown value decides the rule first; ``gated``: the version's fused null reading
        found the case's nulls decide it (its own reading is then not asked again)."""
        depends = {d: compose.before_waiver(done[d]) for d in rule.depends_on} if done and rule.depends_on else None
        gate = compose.gate(version, rule, depends, done) if depends and done else None
        if gate is not None and gate[0] is Outcome.UNDETERMINED and when_false(rule, case, env, current()):
            gate, decided = None, Outcome.NOT_APPLICABLE  # its own `when` is false: it does not apply either way
        by_null = False
        traced: Trace | None = None
        found: tuple[Outcome, str | None] | None = None
        if gate is None and nulls and compose.reads_null(self._reads[id(rule)], nulls):
            # judged by three-valued logic: does what a null hides decide? Where no non-strict call reads a null,
            # only an undetermined outcome can be its doing, so the outcome is decided first (compose.unknown runs
            # the reference interpreter: most of what a case with a null cost)
            if not compose.reads_null(self._hiding[id(rule)], nulls):
                found = (decided, None) if decided is not None and decided is not GATED else \
                    decide(version, rule, case, env, current())
            if found is None or found[0] is Outcome.UNDETERMINED:
                # the generated null reading first (lang.nullcode); the interpreter then only for a gated rule,
                # traced at once when its verdict is explained
                quick = self._nulls.gate(rule)
                traced = Trace() if quick is not None and self._null_explained and not self.lazy else None
                gate = compose.unknown(rule, case, env, traced, None if gated or decided is GATED else quick)
                by_null = gate is not None
        if gate is not None:
            # a gated verdict in a waiver's scope is waived, as any other verdict is
            waiver, waiver_reads = waiver_of(version, rule, case, env) if version.waivers else (None, {})
            if waiver is None and self.findings and gate[0] is Outcome.NOT_APPLICABLE:
                return gate[0]  # counted, like every not-applicable verdict in findings detail
            result = compose.gated(version, rule, gate, depends, self._rule_inputs(rule, case, read_ahead), ref_text,
                                   gate[0] in self._explained,
                                   compose.in_force(self._deployed.get(id(rule)), env[REF_TIME]), done)
            if by_null and self._null_explained:  # what `when` and condition came to
                if self.lazy:  # (the embedding API: traced when first read, as its other explanations are)
                    result.explanation = Later(partial(null_steps, tuple(result.explanation), rule, case, dict(env)))
                else:
                    if traced is None:
                        compose.unknown(rule, case, env, traced := Trace())
                    result.explanation = tuple(result.explanation) + explanation(traced)
            if waiver is not None:
                compose.waive(result, waiver, waiver_reads)
            return result
        if found is not None:
            outcome, error = found
        elif decided is not None and decided is not GATED:
            outcome, error = decided, None
        else:
            outcome, error = decide(version, rule, case, env, current())
        return self.judged(version, rule, case, env, ref_text, read_ahead, done, depends, outcome, error)

    rule_result = _rule  # the general path for one rule (run.kernel hands it what it does not count)

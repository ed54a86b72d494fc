"""The embedding API: load a rulebook once, evaluate cases, get typed results.

>>> from policy_eval.api import Rulebook, Outcome
>>> book = Rulebook.load()                      # the bundled rulebook, plugins from entry points
>>> result = book.evaluate({"kind": "after_sale", ...})
>>> [r.full_id for r in result.violated]
>>> result.results[0].outcome is Outcome.COMPLIED

A loaded :class:`Rulebook` is immutable and safe to share between threads:
every call of :meth:`Rulebook.evaluate` works on its own data. Plugins are
registered programmatically either for one rulebook
(``Rulebook.load(plugins=[module_or_object, ...])``, which builds a private
plugin manager, leaving the process-wide one alone) or for the whole process
(:func:`register_plugin`, before loading). Cases pass through the plugins'
enrichers, then their kind's JSON Schema, then the policies; exactly as
``policy-eval eval`` does.
"""

from __future__ import annotations

import datetime as _dt
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal

from policy_eval.arguments import batch_item, check_detail, plugin_list
from policy_eval.errors import CaseError, PluginError, PolicyError
from policy_eval.lang.cost import DEFAULT_CEILING
from policy_eval.lang.values import SHANGHAI
from policy_eval.plugin_manager import PluginManager, get_plugin_manager
from policy_eval.rulebook import Rulebook as _Book
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.cases import read_cases
from policy_eval.rulebook.casevalues import checked, id_text
from policy_eval.rulebook.jsonrecord import not_object
from policy_eval.rulebook.policy import Rule, parse_instant
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.run.batch import BatchOptions, run_batch
from policy_eval.run.blocks import internal_error
from policy_eval.run.due import CaseForecast, Forecaster
from policy_eval.run.due.comply import Complier
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.lazy import LazyVerdicts
from policy_eval.run.result import CaseResult, Outcome, RuleResult

Detail = Literal["full", "findings"]  # what a result holds (see Rulebook.evaluate)
_UNTRIED = object()  # (Rulebook.evaluate: the lazy path was not taken)

__all__ = ["Rulebook", "RuleInputs", "CaseResult", "RuleResult", "Outcome", "register_plugin", "CaseError", "PolicyError",
           "PluginError", "PluginManager"]


def register_plugin(plugin: Any, name: str | None = None) -> None:
    """Register a plugin (module path, module or object) with the process-wide plugin manager.

    Rulebooks loaded afterwards without their own ``plugins=`` see it;
    rulebooks already loaded keep the functions they were checked with.
    """
    get_plugin_manager().add(plugin, name=name)


class RuleInputs(list[str]):
    """The case paths a rule reads, and which version of its policy answered."""

    def __init__(self, paths: Iterable[str], *, policy: str, version: str, effective_from: _dt.datetime | None,
                 effective_until: _dt.datetime | None) -> None:
        super().__init__(paths)
        self.policy = policy
        self.version = version
        self.effective_from = effective_from
        self.effective_until = effective_until


def _instant(value: str | _dt.datetime | _dt.date | None) -> _dt.datetime | None:
    if value is None or isinstance(value, _dt.datetime):
        if isinstance(value, _dt.datetime) and value.tzinfo is None:
            return parse_instant(value.isoformat())
        return value
    if isinstance(value, _dt.date):
        return parse_instant(value.isoformat())
    return parse_instant(value)


class Rulebook:
    """A checked, compiled rulebook with the plugins it was loaded with."""

    def __init__(self, book: _Book, *, validate: bool = True, plugin_manager: PluginManager | None = None,
                 plugin_paths: Sequence[str] | None = ()) -> None:
        self._book = book
        self._pm = plugin_manager or get_plugin_manager()
        self._plugin_paths = plugin_paths
        # what evaluate_many(jobs > 1) loads the rulebook again with where workers cannot be forked (set by load)
        self._reload: dict[str, Any] = {"params": book.params_file, "max_cost": DEFAULT_CEILING, "entry_points": True}
        self._evaluator = Evaluator(book, explain="missing", lazy=True)  # (explanation, inputs: computed when read)
        self._explainer: Evaluator | None = None  # explain=True: built on first use (a fifth of a load's CPU)
        self._finder: Evaluator | None = None  # detail="findings", built on first use
        self._forecaster: Forecaster | None = None  # built on first use of due()
        self._complier: Complier | None = None  # explain=True: what would comply, built on first use
        self._validator = CaseValidator(book.case_schemas) if validate else None
        self._enrichers = tuple(self._pm.enrichers())
        # the common call (a dict, no enricher, no explanation): the lazy verdicts' path (run.lazy), the case checked
        # by its kind's compiled check alone; anything else (a case it refuses too) the general way, which words errors
        self._lazy = self._evaluator._lazy
        if type(self).prepare is not Rulebook.prepare or self._enrichers:  # a subclass's own prepare, and the
            self._lazy = None  # enrichers, must see every case
        self._lazy_findings: LazyVerdicts | None = None  # (made with the findings evaluator, on first use)
        self._checks: dict[str, Any] | None = None
        if self._validator is not None:
            self._checks = {kind: check for kind in book.case_schemas
                            if (check := self._validator.screened(kind)) is not None}

    @classmethod
    def load(cls, policies: str | Path | None = None, *, schemas: str | Path | None = None,
             plugins: Sequence[Any] = (), entry_points: bool = True, validate: bool = True,
             plugin_manager: PluginManager | None = None,
             params: str | Path | Mapping[str, Any] | None = None,
             max_cost: int | None = DEFAULT_CEILING) -> Rulebook:
        """Load and check every policy under ``policies`` (default: the bundled rulebook).

        ``plugins``: extra plugins (module paths, modules or objects) for this
        rulebook only; ``entry_points=False`` leaves installed third-party
        plugins out (built-ins always load). Raises a located
        :class:`PolicyError` (an ``ErrorList`` holding every error) if a
        policy is invalid, :class:`PluginError` if a plugin is. ``params``: a deployment overlay (a
        file, or ``{policy: {parameter: value}}``) for the parameters the texts leave to the platform.
        ``max_cost``: the ceiling on each condition's static cost estimate (None: no ceiling;
        docs/language.md, Cost).
        """
        plugins = plugin_list(plugins)
        paths: list[str] | None = [p for p in plugins if isinstance(p, str)]
        if plugin_manager is not None or len(paths or ()) != len(plugins):
            paths = None  # plugins that cannot be named in another process
        if plugin_manager is None and (plugins or not entry_points):
            plugin_manager = PluginManager(entry_points=entry_points, extra=plugins)
        pm = plugin_manager or get_plugin_manager()
        pm.reporters(), pm.loaders()  # a name two plugins provide is an error here, not at the first read or report
        book = load_rulebook(policies, schema_dir=schemas, functions=pm.functions(), params=params,
                             max_cost=max_cost)
        made = cls(book, validate=validate, plugin_manager=pm, plugin_paths=paths)
        made._reload = {"params": params, "max_cost": max_cost, "entry_points": entry_points}
        return made

    # --- what is loaded ---------------------------------------------------------------------------------
    @property
    def book(self) -> _Book:
        """The loaded rulebook itself: policy versions, rules and parameters (read-only by convention)."""
        return self._book

    @property
    def digest(self) -> str:
        """Content hash of the policy files (recorded in every result)."""
        return self._book.digest

    @property
    def plugins(self) -> PluginManager:
        return self._pm

    @property
    def kinds(self) -> list[str]:
        """Case kinds with a schema."""
        return sorted(self._book.case_schemas)

    def rules(self) -> list[Rule]:
        return [r for v in self._book.versions() for r in v.rules]

    def inputs(self, rule_id: str, *, as_of: str | _dt.datetime | _dt.date | None = None,
               version: str | int | None = None) -> RuleInputs:
        """The case paths a rule reads (``policy/rule``), i.e. the evidence support staff should collect, in
        the version of its policy in force ``as_of`` (default: now, Asia/Shanghai) or the given ``version``.
        The answer is a list that also says which version answered (``.version``, ``.effective_from``).
        KeyError: no such rule in that version; LookupError: no version in force then."""
        policy, _, _ = rule_id.rpartition("/")
        history = self._book.policies.get(policy)
        if history is None or not any(r.full_id == rule_id for v in history.versions for r in v.rules):
            raise KeyError(rule_id)
        if version is not None:
            chosen = next((v for v in history.versions if str(v.version) == str(version)), None)
            if chosen is None:
                raise KeyError(f"{rule_id}: policy {policy} has no version {version} "
                               f"(versions: {', '.join(str(v.version) for v in history.versions)})")
        else:
            when = _instant(as_of) or _dt.datetime.now(SHANGHAI)
            chosen = history.at(when)
            if chosen is None:
                raise LookupError(f"{rule_id}: no version of policy {policy} is in force at {when.isoformat()}")
        rule = next((r for r in chosen.rules if r.full_id == rule_id), None)
        if rule is None:
            raise KeyError(f"{rule_id}: not a rule of {policy} version {chosen.version}")
        return RuleInputs(rule.inputs, policy=policy, version=str(chosen.version),
                          effective_from=chosen.effective_from if chosen.start_stated else None,
                          effective_until=chosen.effective_until)

    # --- cases ------------------------------------------------------------------------------------------
    def validate(self, case: Mapping[str, Any]) -> CaseError | None:
        """The schema error of a case as given (before enrichment), or None."""
        if not isinstance(case, Mapping):
            return not_object(case, "<api>", 0)
        return checked(dict(case), self._validator, "<api>", 0) if self._validator else None

    def prepare(self, case: Mapping[str, Any], *, source: str | None = None,
                record: int | None = None) -> dict[str, Any] | CaseError:
        """The case as it will be evaluated: enriched by the plugins, then checked against its schema."""
        if not isinstance(case, Mapping):  # (a list, a string, None: what JSON can give besides an object)
            return not_object(case, source, record)
        data: dict[str, Any] = dict(case)
        for enrich in self._enrichers:
            try:
                enriched = enrich(data)
            except Exception as exc:
                name = getattr(enrich, "__qualname__", repr(enrich))
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                return CaseError(f"enricher {name} failed: {detail}", source=source, record=record)
            if not isinstance(enriched, dict):
                name = getattr(enrich, "__qualname__", repr(enrich))
                return CaseError(f"enricher {name} returned {type(enriched).__name__}, not a case dict",
                                 source=source, record=record)
            data = enriched
        if self._validator is not None:
            err = checked(data, self._validator, source or "<api>", record or 0)
            if err is not None:
                err.source, err.record = source, record
                return err
        return data

    def evaluate(self, case: Mapping[str, Any] | CaseError, *, as_of: str | _dt.datetime | _dt.date | None = None,
                 explain: bool = False, source: str | None = None, record: int | None = None,
                 detail: Detail = "full") -> CaseResult:
        """Evaluate one case: a dict as JSON gives it (non-integers as ``Decimal`` or strings).

        A case that fails its schema (or an enricher) comes back with
        ``error`` set and no results, as a rejected record does on the
        command line. ``as_of`` forces the version date.

        The verdicts are lazy: a message, remedies, inputs or explanation is computed from the case when first
        read, so change nothing in the case (neither it nor its nested objects and lists are copied) until what
        is needed has been read, or evaluate a copy. Nothing here changes the case. One result may be read from
        several threads.

        ``detail="findings"`` (what ``eval`` writes by default): ``results`` holds only the violated,
        undetermined and waived verdicts, and ``counts()`` the rest; the complied and not-applicable
        ones are never built (on the bundled after-sale rules a call is about a tenth cheaper than full
        detail, whose verdicts are lazy too; ``explain=True`` builds and explains every verdict, whatever
        ``detail`` says).
        """
        if type(case) is dict and not explain and (lazy := self._lazy if detail == "full" else
                                                   self._lazy_findings if detail == "findings" else None) is not None:
            kind: Any = case.get("kind")
            checks, result, tried = self._checks, _UNTRIED, False
            # (a kind judged by one policy, given the as_of of the version chosen last time, which was checked then:
            # that version's whole glue, as lazy.result does first; a list: an undetermined verdict to make. Validation
            # on: a case the screened check takes (valid, and orjson can write it), else the general way, where a lone
            # surrogate or a huge integer is refused; validation off: the caller vouches for the case, as prepare does)
            if as_of is not None and type(kind) is str and (one := lazy.single.get(kind)) is not None \
                    and (last := one.last)[0] is as_of and (whole := last[3]) is not None:
                if checks is None or ((check := checks.get(kind)) is not None and check(case)):
                    if type(made := whole(case, as_of, last[2], None, kind, source, record, last[2])) is CaseResult:
                        return made
                    result = made if made is None else lazy.finished(last, case, made, kind, source, record)
            elif as_of is None or (type(as_of) is _dt.datetime and as_of.tzinfo is not None):
                if checks is None or (type(kind) is str and (check := checks.get(kind)) is not None and check(case)):
                    result = lazy.result(case, as_of, source, record)
            if result is None:
                tried = True  # (the general way, which need not try this path again)
            elif type(result) is CaseResult:  # (else SPENT, or not tried)
                return result
            # (False only for SPENT: a fused function ran out of budget on it, so it is not run again)
            fused = result is _UNTRIED or tried
        else:
            fused, tried = True, False
        check_detail(detail)
        try:
            return self._evaluate(case, as_of, explain, source, record, detail, fused, not tried)
        except Exception as exc:  # (a plugin's bug, say) it costs this case, as on the command line
            return self._rejected(case, CaseError(internal_error(exc), source=source, record=record), source,
                                  record, detail == "findings" and not explain)

    def _evaluate(self, case: Mapping[str, Any] | CaseError, as_of: str | _dt.datetime | _dt.date | None, explain: bool,
                  source: str | None, record: int | None, detail: str, fused: bool = True, lazy: bool = True) -> CaseResult:
        prepared = case if isinstance(case, CaseError) else self.prepare(case, source=source, record=record)
        if isinstance(prepared, CaseError):
            return self._rejected(case, prepared, source, record, detail == "findings" and not explain)
        if explain:
            explainer = self._explainer = self._explainer or Evaluator(self._book, explain=True)
        if explain and detail == "full":  # what would comply, as `eval --explain` says it (run.due.comply)
            if self._complier is None:
                self._complier = Complier(self._book)
            result = explainer.evaluate(prepared, as_of=_instant(as_of), source=source, record=record)
            self._complier.annotate(prepared, result, as_of=_instant(as_of))
            return result
        if detail == "findings" and not explain:
            if self._finder is None:
                self._finder = Evaluator(self._book, detail="findings", lazy=True)
                self._lazy_findings = self._finder._lazy if self._lazy is not None else None
            evaluator = self._finder
        else:
            evaluator = explainer if explain else self._evaluator
        return evaluator.evaluate(prepared, as_of=_instant(as_of), source=source, record=record, fused=fused, lazy=lazy)

    def due(self, case: Mapping[str, Any] | CaseError, *, as_of: str | _dt.datetime | _dt.date | None = None,
            source: str | None = None, record: int | None = None) -> CaseForecast:
        """When each verdict on the case changes if no new event happens (docs/due.md).

        "Now" is the case's ``snapshot_at`` / ``assessed_at`` / ``captured_at``, or ``as_of``
        (which, as for :meth:`evaluate`, also picks the version, so a new version taking
        effect is a change). A case that fails its schema comes back with ``error`` set.
        """
        prepared = case if isinstance(case, CaseError) else self.prepare(case, source=source, record=record)
        if isinstance(prepared, CaseError):
            raw = case if isinstance(case, Mapping) else {}
            kind = raw.get("kind")
            return CaseForecast(case_id=id_text(raw.get("case_id")), kind=kind if isinstance(kind, str) else None,
                                source=source, record=record, start=None, error=prepared.to_dict())
        forecaster = self._forecaster = self._forecaster or Forecaster(self._book)
        return forecaster.forecast(prepared, as_of=_instant(as_of), source=source, record=record)

    def evaluate_many(self, cases: Iterable[Mapping[str, Any] | CaseError], *,
                      as_of: str | _dt.datetime | _dt.date | None = None, explain: bool = False,
                      jobs: int = 1, detail: Detail = "full") -> Iterator[CaseResult]:
        """Evaluate cases lazily, in input order (``record`` is the 1-based position); ``detail`` as for
        :meth:`evaluate`.

        With ``jobs > 1`` the cases are evaluated in worker processes, forked from this one where the platform
        forks (they share its compiled rulebook), else loading it again: that needs the rulebook's own plugins
        given as module paths (objects cannot be sent to another process).
        """
        check_detail(detail)  # (here, not at the first record: the generator below starts when first read)
        if jobs <= 1:
            return (self.evaluate(case, as_of=as_of, explain=explain, record=i, detail=detail)
                    for i, case in enumerate(cases, 1))
        if self._plugin_paths is None:
            raise ValueError("evaluate_many(jobs > 1) needs the rulebook's plugins given as module paths")
        options = BatchOptions(policies=str(self._book.root), schemas=str(self._book.schema_dir),
                               params=self._reload["params"], max_cost=self._reload["max_cost"],
                               entry_points=self._reload["entry_points"],
                               as_of=_instant(as_of), explain=True if explain else "missing",
                               validate=self._validator is not None,
                               plugins=list(self._plugin_paths), detail=detail)
        return run_batch(((None, i, batch_item(c, i)) for i, c in enumerate(cases, 1)), options, jobs=jobs, rulebook=self._book)

    def _rejected(self, case: Any, error: CaseError, source: str | None, record: int | None,
                  findings: bool) -> CaseResult:
        """A rejected case's result: its case id and kind when it has them, the error, and in findings detail
        the findings shape (``quiet``)."""
        raw = case if isinstance(case, Mapping) else {}
        case_id, kind = raw.get("case_id"), raw.get("kind")
        return CaseResult(case_id=id_text(case_id), kind=kind if isinstance(kind, str) else None,
                          source=error.source if error.source is not None else source,
                          record=error.record if error.record is not None else record,
                          rulebook=self.digest, error=error.to_dict(), quiet=(0, 0) if findings else None)

    def read(self, source: str | Path | IO[bytes], *, format: str | None = None,
             options: Mapping[str, Any] | None = None) -> Iterator[tuple[int, dict[str, Any] | CaseError]]:
        """Read cases lazily from a file or binary stream: ``(record_number, case_or_CaseError)``.

        ``format`` is ``json``, ``jsonl`` or a plugin's case loader (``csv``,
        ``pdd-after-sale``, ...); by default a loader named like the file's
        suffix (``.csv``), else JSON / JSON Lines. A loader is called with
        ``options`` (the loader's own; ``schemas`` defaults to this
        rulebook's schema folder).
        """
        name = str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "<stream>")
        loaders = self._pm.loaders()
        if format is None and isinstance(source, (str, Path)) and Path(source).suffix[1:] in loaders:
            format = Path(source).suffix[1:]
        if format in (None, "json", "jsonl"):
            if isinstance(source, (str, Path)):
                for _, number, case in read_cases([str(source)], fmt=format):
                    yield number, case
            else:
                import io

                from policy_eval.rulebook.cases import read_stream

                buffered = source if hasattr(source, "peek") else io.BufferedReader(source)  # type: ignore[type-var]
                for _, number, case in read_stream(buffered, str(name), format):
                    yield number, case
            return
        if format not in loaders:
            raise ValueError(f"unknown case format {format!r} (available: json, jsonl, {', '.join(sorted(loaders))})")
        opts = {"schemas": str(self._book.schema_dir), **dict(options or {})}
        if isinstance(source, (str, Path)):
            with open(source, "rb") as fh:
                yield from loaders[format](fh, source=name, options=opts)
        else:
            yield from loaders[format](source, source=str(name), options=opts)

    def evaluate_file(self, source: str | Path | IO[bytes], *, format: str | None = None,
                      options: Mapping[str, Any] | None = None,
                      as_of: str | _dt.datetime | _dt.date | None = None) -> Iterator[CaseResult]:
        """Read a file with :meth:`read` and evaluate each record (rejected records included), lazily."""
        name = str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "<stream>")
        for number, case in self.read(source, format=format, options=options):
            if isinstance(case, CaseError):
                yield CaseResult(case_id=None, kind=None, source=case.source or str(name), record=number,
                                 rulebook=self.digest, error=case.to_dict())
            else:
                yield self.evaluate(case, as_of=as_of, source=str(name), record=number)


"""Run a rulebook over a stream of records, in one process or several.

Input: raw records from :mod:`policy_eval.rulebook.cases`, and in their places
:class:`~policy_eval.rulebook.shards.Shard` byte ranges of JSON Lines files that a
worker reads itself. Output: ``CaseResult`` objects in input order; from worker
processes, as ``BatchOptions.transport`` asks, each record's JSON text instead
(:class:`Rendered`), or one :class:`~policy_eval.run.blocks.Block` per task. Memory stays
flat: at most a bounded window of tasks (a chunk of records or a range) is in
flight, however large the input. Any failure on one record becomes a rejected or
undetermined result for that record; nothing is lost.

:func:`work_on` is the worker core, the same for ``--jobs`` processes and Dask
workers: a task in, its records' results out; :func:`shaped` turns them into what
travels back to the parent.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from policy_eval.errors import CaseError
from policy_eval.lang.budget import DEFAULT_BUDGET
from policy_eval.lang.cost import DEFAULT_CEILING
from policy_eval.rulebook.cases import parse_record
from policy_eval.rulebook.casevalues import checked as screened
from policy_eval.rulebook.casevalues import id_text
from policy_eval.rulebook.jsonrecord import read_checked
from policy_eval.rulebook.msgdecode import compile_decoder
from policy_eval.rulebook.shards import Shard, shard_records
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.run.blocks import INTERNAL_ERROR, Block, block_in_parts, block_of, internal_error
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import CaseResult
from policy_eval.run.runaway import DEFAULT_RECORD_LIMIT, RecordTimeout, Watchdog
from policy_eval.run.slots import Slots, Slotted, slots_for
from policy_eval.run.workers import die_with_parent, run_pool

__all__ = ["BatchOptions", "Processor", "Rendered", "Block", "run_batch", "work_on", "shaped", "task_items",
           "INTERNAL_ERROR"]

CHUNK = 256


@dataclass
class BatchOptions:
    policies: str | None = None
    schemas: str | None = None
    # a deployment overlay (parameters the texts leave to the platform): a file, or {policy: {parameter: value}}
    params: str | Mapping[str, Any] | None = None
    entry_points: bool = True  # installed third-party plugins load (the API's Rulebook.load(entry_points=False))
    as_of: _dt.datetime | None = None
    only: list[str] | None = None
    skip: list[str] = field(default_factory=list)
    min_severity: str = "info"
    # True explains every verdict; False violated and undetermined ones; "missing" only undetermined
    # ones (the CLI's batch default: explanations cost more than verdicts). See Evaluator.
    explain: bool | str = False
    validate: bool = True
    plugins: list[str] = field(default_factory=list)
    record_inputs: bool = True
    # "findings": only violated, undetermined and waived verdicts are built and written (plus counts);
    # "full": every verdict of every rule (see policy_eval.run.result)
    detail: str = "full"
    # How results come back from worker processes (--jobs 2+, Dask; in one process they stay objects):
    # "objects"; "json": each result's JSON text (see Rendered), so that line-oriented JSON output costs
    # the parent a write, not a serialisation; "blocks": one Block per task, its records' texts framed by
    # ``frame`` (written before and after each) and their totals summed, so that the parent writes and
    # adds once per task.
    transport: str = "objects"
    frame: tuple[str, str] = ("", "\n")
    budget: int | None = DEFAULT_BUDGET  # items each rule may visit on one record (docs/language.md, Cost)
    max_cost: int | None = DEFAULT_CEILING  # ceiling on each condition's static cost estimate
    follow_links: bool = False  # read policy files linked from outside the policy folder
    # CPU seconds one record may take before it is stopped and reported rejected (run.runaway); None: no limit
    record_limit: float | None = DEFAULT_RECORD_LIMIT


@dataclass(slots=True)
class Rendered:
    """A case result already serialised in a worker: what JSON reporters and the totals need."""

    text: str
    case_id: str | None
    kind: str | None
    source: str | None
    record: int | None
    error: dict[str, Any] | None
    summary: dict[str, int]

    @classmethod
    def of(cls, result: CaseResult) -> Rendered:
        return cls(result.to_json(), result.case_id, result.kind, result.source, result.record, result.error,
                   result.counts())

    def counts(self) -> dict[str, int]:
        return self.summary

    def tally(self) -> tuple[int, int, int, int]:
        """What ``CaseResult.tally`` says: (complied, violated, not applicable, undetermined)."""
        s = self.summary
        return s["complied"], s["violated"], s["not_applicable"], s["undetermined"]

    def to_json(self) -> str:
        return self.text


class Processor:
    """Turns one raw record into a CaseResult; owns a loaded rulebook."""

    def __init__(self, options: BatchOptions, rulebook: Any = None) -> None:
        from policy_eval.plugin_manager import PluginManager, get_plugin_manager
        from policy_eval.rulebook import load_rulebook

        if options.entry_points:
            pm = get_plugin_manager()
            for plugin in options.plugins:
                pm.add(plugin)
        else:
            pm = PluginManager(entry_points=False, extra=options.plugins)
        self.options = options
        self.rulebook = rulebook or load_rulebook(options.policies, schema_dir=options.schemas,
                                                  functions=pm.functions(), params=options.params,
                                                  max_cost=options.max_cost, follow_links=options.follow_links)
        self.evaluator = Evaluator(self.rulebook, explain=options.explain, only=options.only, skip=options.skip,
                                   min_severity=options.min_severity, record_inputs=options.record_inputs,
                                   detail=options.detail, budget=options.budget)
        self.validator = CaseValidator(self.rulebook.case_schemas) if options.validate else None
        self.enrichers = pm.enrichers()
        # a record's text read and checked in one walk (when no enricher changes it between the two)
        self._exact = self.validator.exact_checks() if self.validator is not None else None
        # most records read, checked and their timestamps parsed in C (rulebook.msgdecode); the others as above
        self._decode = compile_decoder(self.rulebook.case_schemas, texts=options.detail == "full") \
            if self._exact is not None else None
        self._quiet = (0, 0) if options.detail == "findings" else None  # a rejected record in findings shape
        self._complier: Any = None
        # the per-record CPU limit; it watches once armed in the process that evaluates (run_batch, _init_worker)
        self.watchdog = Watchdog(options.record_limit) if options.record_limit is not None else None

    def rejected(self, err: CaseError, case: Any = None) -> CaseResult:
        """A rejected record's result; with the record read (a dict), its case id and kind too."""
        case_id = case.get("case_id") if type(case) is dict else None
        kind = case.get("kind") if type(case) is dict else None
        return CaseResult(case_id=id_text(case_id), kind=kind if isinstance(kind, str) else None, source=err.source,
                          record=err.record, rulebook=self.rulebook.digest, error=err.to_dict(), quiet=self._quiet)

    def process(self, item: tuple[str, int, Any]) -> CaseResult:
        watchdog = self.watchdog
        if watchdog is None or not watchdog.armed:
            return self._process(item)
        watchdog.serial += 1  # (Watchdog.begin and .end, inline: this is every record's path)
        watchdog.active = True
        try:
            return self._process(item)
        except RecordTimeout as exc:  # (the record read again for its case id: reading is bounded)
            payload = item[2]
            case = parse_record(payload, item[0], item[1]) if isinstance(payload, (bytes, str)) else payload
            return self.rejected(CaseError(str(exc), source=item[0], record=item[1]), case)
        finally:
            watchdog.active = False

    def _process(self, item: tuple[str, int, Any]) -> CaseResult:
        source, number, payload = item
        try:
            # null_free: the case holds no null and no enricher may add one, so the evaluator need not search it (a NUL
            # in the bytes may be UTF-16's, whose null the search misses: only parse_record reads those)
            null_free = checked = decoded = False
            given = not isinstance(payload, (bytes, str))  # handed over as Python values (evaluate_many, jobs > 1)
            if not given:
                plain, exact = not self.enrichers, self._exact
                if exact is not None and plain and (decode := self._decode) is not None \
                        and (read := decode(payload)) is not None:
                    (payload, null_free), checked = read, True  # read exactly and valid, nulls known (rulebook.msgdecode)
                    decoded = True  # (a dict of a kind with a schema: Evaluator.evaluate need not check either)
                else:
                    null_free = plain and (b"null" not in payload if type(payload) is bytes else "null" not in payload)
                    if exact is not None and plain and (case := read_checked(payload, exact)) is not None:
                        payload, checked = case, True  # read exactly and valid in one walk
                    else:
                        null_free = null_free and (type(payload) is not bytes or b"\0" not in payload)
                        payload = parse_record(payload, source, number)
            if not checked:
                if isinstance(payload, CaseError):
                    return self.rejected(payload)
                if not isinstance(payload, dict):
                    return self.rejected(CaseError(f"a case must be a JSON object, got {type(payload).__name__}",
                                                   source=source, record=number))
                for enrich in self.enrichers:
                    payload = enrich(payload)
                if self.validator is not None:  # (Python values, given or from an enricher: screened as the API does)
                    err = screened(payload, self.validator, source, number) if given or self.enrichers \
                        else self.validator.check(payload, source, number)
                    if err is not None:
                        return self.rejected(err, payload)
            result = self.evaluator.evaluate(payload, as_of=self.options.as_of, source=source, record=number,
                                             null_free=null_free, checked=decoded)
            if self.options.explain is True and self.options.detail == "full":
                self._comply(payload, result)
            return result
        except Exception as exc:  # a bug must cost one record, not the batch
            return self.rejected(CaseError(internal_error(exc), source=source, record=number),
                                 payload if isinstance(payload, dict) else None)  # (its case id and kind)

    def _comply(self, case: dict[str, Any], result: CaseResult) -> None:
        """``eval --explain``: each violated or undetermined verdict says what would decide it otherwise."""
        from policy_eval.run.due.comply import Complier

        if self._complier is None:
            self._complier = Complier(self.rulebook)
        self._complier.annotate(case, result, as_of=self.options.as_of)


def task_items(task: list[tuple[str, int, Any]] | Shard | Slotted) -> list[Any]:
    """A task's records one by one (a range is read here): how a task that kills its worker is retried."""
    if isinstance(task, Slotted):
        return task_items(task.task)
    if isinstance(task, Shard):
        try:
            return list(shard_records(task))
        except OSError as exc:
            return [(task.source, None, _unopened(task, exc))]
    return task


def _unopened(shard: Shard, exc: OSError) -> CaseError:
    return CaseError(f"cannot read this file: {exc.strerror or exc}; lines {shard.first} to {shard.last} are not "
                     "evaluated", source=shard.source, record=None)


def work_on(proc: Processor, task: list[tuple[str, int, Any]] | Shard) -> list[CaseResult]:
    """The worker core: a chunk of records, or a byte range read here, to results in input order.

    A range whose file cannot be opened raises :class:`OSError` (where the worker runs decides what that
    means: see :func:`_work` and :mod:`policy_eval.run.distributed`)."""
    items: Iterable[Any] = shard_records(task) if isinstance(task, Shard) else task
    return [proc.process(item) for item in items]


_WORKER: Processor | None = None
_INHERITED: Processor | None = None  # set in the parent just before forking workers
_SLOTS: dict[int, Slots] = {}  # each running batch's shared memory for blocks (run.slots), by id, before forking


def _init_worker(options: BatchOptions, parent: int) -> None:
    """A worker's start: ``parent``, the pid of the process that made the pool (see :func:`_die_with_parent`)."""
    global _WORKER
    import signal

    # A forked worker inherits the parent's handlers; the parent alone decides what an
    # interrupt means (it stops feeding work and reports what was written).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)
    # A forked worker already holds the parent's compiled rulebook: loading it again would cost
    # seconds per worker. A spawned worker (no fork on this platform) loads its own.
    if _INHERITED is not None and _INHERITED.options == options:
        _WORKER = _INHERITED
    else:
        _WORKER = Processor(options)
    if _WORKER.watchdog is not None:
        _WORKER.watchdog.arm()  # (for the worker's life)


def shaped(results: list[CaseResult], options: BatchOptions) -> list[Any]:
    """A task's results as they travel back to the parent (``options.transport``): the objects, one
    :class:`Rendered` each, or one :class:`Block` (none for a task without records: a range of blank lines)."""
    if options.transport == "blocks":
        return [block_of(results, options.frame)] if results else []
    if options.transport == "json":
        return [Rendered.of(r) for r in results]
    return results


def _work(task: list[tuple[str, int, Any]] | Shard | Slotted) -> list[Any]:
    assert _WORKER is not None
    if isinstance(task, Slotted):  # (its block left in shared memory where it fits: run.slots; else the pipe)
        done, slots = _work_with(_WORKER, task.task), _SLOTS.get(task.owner)
        return done if slots is None else [slots.store(out, task.slot) for out in done]
    return _work_with(_WORKER, task)


def _work_with(proc: Processor, task: list[tuple[str, int, Any]] | Shard) -> list[Any]:
    """A task's results, shaped to travel (a worker's, or one process's own in blocks)."""
    try:
        if proc.options.transport == "blocks":  # (a part of the records at a time: run.blocks.block_in_parts)
            return block_in_parts(proc.process, shard_records(task) if isinstance(task, Shard) else task,
                                  proc.options.frame)
        results = work_on(proc, task)
    except OSError as exc:  # the range's file went away since the parent planned it (same machine)
        if not isinstance(task, Shard):
            raise
        results = [proc.process((task.source, None, _unopened(task, exc)))]  # type: ignore[arg-type]
    return shaped(results, proc.options)


def _chunks(records: Iterable[Any], size: int) -> Iterator[list[Any] | Shard]:
    """Records in chunks of ``size``; a range is a task of its own, in its place."""
    chunk: list[Any] = []
    for r in records:
        if isinstance(r, Shard):
            if chunk:
                yield chunk
                chunk = []
            yield r
            continue
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_batch(records: Iterable[Any], options: BatchOptions, *, jobs: int = 1,
              processor: Processor | None = None,
              on_worker_death: Callable[[str], None] | None = None, borrowed: bool = False,
              rulebook: Any = None) -> Iterator[Any]:
    """Evaluate records in input order with ``jobs`` processes and a bounded window in flight.

    ``rulebook``: the one ``options`` names, loaded already (the API's): forked workers share a processor on it.

    ``borrowed``: the caller is done with each block before it asks for the next (it writes it), so a block
    that came through shared memory (run.slots) may hold a view of it instead of a copy of its bytes.

    A worker that dies (kill -9, out of memory) does not hang or lose the run: see
    :mod:`policy_eval.run.workers`; ``on_worker_death(message)`` hears of each death.
    """
    if jobs <= 1:
        proc = processor or Processor(options)
        with proc.watchdog.watching() if proc.watchdog is not None else contextlib.nullcontext():
            if options.transport == "blocks":  # the records of each chunk written and totalled as a worker does
                for task in _chunks(records, CHUNK):
                    yield from _work_with(proc, task)
                return
            for item in records:
                if isinstance(item, Shard):
                    yield from (proc.process(one) for one in task_items(item))
                else:
                    yield proc.process(item)
        return
    global _INHERITED
    forks = "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if forks else "spawn")
    if processor is None and rulebook is not None and forks:
        processor = Processor(options, rulebook=rulebook)
    parent: list[Processor] = [processor] if processor is not None else []

    def make() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                   initargs=(options, os.getpid()))

    def lost(item: tuple[str, int, Any], message: str) -> Any:
        if not parent:
            parent.append(Processor(options))
        [result] = shaped([parent[0].rejected(CaseError(message, source=item[0], record=item[1]))], options)
        return result

    # Forked workers (started on first use, and again after a death) inherit the parent's rulebook, and the shared
    # memory their blocks come back through (a slot for each task in flight, and two)
    _INHERITED = processor
    window = jobs * 4
    slots = slots_for(window + 2) if forks and options.transport == "blocks" else None
    tasks: Iterable[Any] = _chunks(records, CHUNK)
    fetch = None if slots is None else slots.borrow if borrowed else slots.fetch
    if slots is not None:
        _SLOTS[id(slots)], tasks = slots, map(slots.slotted, tasks)
    try:
        for out in run_pool(tasks, _work, make, window=window, lost=lost,
                            on_death=on_worker_death or (lambda message: None), items=task_items):
            yield out if fetch is None else fetch(out)
    finally:
        _INHERITED = None
        _SLOTS.pop(id(slots), None)

"""Run the rulebook on Dask: a cluster (or a LocalCluster) instead of local processes.

Optional: needs ``pip install 'policy-eval[dask]'``. Three entry points:

* :func:`run_on_dask` — the CLI's ``eval --engine dask --scheduler ADDRESS``:
  a plain JSON Lines file is cut into byte ranges on the client and each
  range is a task that the worker reads itself (other inputs are read on the
  client and sent as chunks of records); results come back in input order
  through a bounded window of futures, so output is record-for-record
  identical to the single-process run. Tasks run the same worker core as
  ``--jobs`` (:func:`policy_eval.run.batch.work_on`) and send back what it
  sends back (:func:`policy_eval.run.batch.shaped`): with
  ``transport="blocks"`` (the CLI's ``-f jsonl``/``-f json``) one block of
  JSON text and totals per task, else result objects.
* :func:`evaluate_bag` — a ``dask.bag`` of case dicts → a bag of result dicts.
* :func:`evaluate_dataframe` — a ``dask.dataframe`` whose columns are dotted
  case paths (``order.confirmed_at``) → a bag of result dicts.

Workers load the rulebook once per process (cached by options), from the
same policy folder path, which must be readable on the workers; so must the
JSON Lines case files, at the same absolute path (a worker that cannot open
one raises :class:`CasesUnreadable`, which ends the run naming the file).
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from policy_eval.errors import CaseError
from policy_eval.rulebook.shards import Shard
from policy_eval.run.batch import CHUNK, BatchOptions, Processor, _chunks, shaped, task_items, work_on
from policy_eval.run.workers import DIED, ends

__all__ = ["run_on_dask", "evaluate_bag", "evaluate_dataframe", "unflatten", "connect", "CasesUnreadable"]


class CasesUnreadable(Exception):
    """A Dask worker cannot open a case file the client cut into ranges (not at that path on the worker)."""

    def __init__(self, source: str, path: str, reason: str) -> None:
        super().__init__(source, path, reason)
        self.source, self.path, self.reason = source, path, reason

    def __str__(self) -> str:
        return (f"a Dask worker cannot read the case file {self.source} at {self.path}: {self.reason}; the "
                "workers read JSON Lines inputs themselves, so the file must be readable at that path on them")

_PROCESSORS: dict[bytes, Processor] = {}


def _processor(options: BatchOptions) -> Processor:
    key = pickle.dumps(options)
    proc = _PROCESSORS.get(key)
    if proc is None:
        proc = _PROCESSORS[key] = Processor(options)
    return proc


def _process_chunk(task: list[tuple[str, int, Any]] | Shard, options: BatchOptions) -> list[Any]:
    try:
        return shaped(work_on(_processor(options), task), options)
    except OSError as exc:
        if not isinstance(task, Shard):
            raise
        raise CasesUnreadable(task.source, task.path, exc.strerror or str(exc)) from None


def connect(scheduler: str | None, jobs: int = 2) -> Any:
    """A distributed Client: to ``scheduler`` (``tcp://host:8786``), or a new local multi-process cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("the Dask engine needs: pip install 'policy-eval[dask]'") from exc
    if scheduler in (None, "", "local"):
        import dask

        # A task whose worker dies is retried once (Dask's default is 3 more deaths): a record that
        # kills its worker is then isolated by run_on_dask after two deaths, not four.
        # Only critical logs of the cluster's own processes reach stderr (Dask's default: warnings). The run
        # says itself what an operator acts on (a worker's death, the records it cost); when a Ctrl-C closed
        # the scheduler under busy workers, their heartbeats logged an ERROR with a 40-line traceback, and the
        # cancelled tasks a WARNING each, over the run's own two lines (1 in ~10 runs of the signal test).
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}), _deaf_children():
            # No dashboard; the scheduler's HTTP server (health and metrics routes) on a free port: on its
            # default, 8787, a second run at the same time printed a UserWarning that the port is in use.
            cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                                   silence_logs=logging.CRITICAL)
        return Client(cluster)
    return Client(scheduler)


@contextlib.contextmanager
def _deaf_children() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (inherited across fork and exec): a Ctrl-C reaches the whole
    process group, and the workers of a local cluster printed KeyboardInterrupt and CancelledError tracebacks
    over the run's own two lines. The parent alone decides what an interrupt means (it stops and writes what
    it has, as with --jobs, whose workers ignore SIGINT too); its handler is put back at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


POLL = 10.0  # seconds: how often a wait for a result checks that the local cluster still has its workers


def _revive(client: Any) -> None:
    """Start again the workers of the client's own LocalCluster that are gone for good.

    A nanny restarts its worker after a death; if that restart fails (under load: the new process did
    not reach the scheduler in time), the nanny closes and the cluster keeps fewer workers than asked for,
    none at all once both have gone: the run waited forever for results. Scaling the cluster to its own
    spec starts them again. A cluster run elsewhere (``--scheduler``) is left to whoever runs it."""
    cluster = getattr(client, "cluster", None)
    spec = getattr(cluster, "worker_spec", None)
    if cluster is None or spec is None or len(cluster.workers) >= len(spec):
        return
    cluster.scale(len(spec))


def _result(client: Any, future: Any) -> Any:
    """``future.result()``, reviving lost local workers while it waits for the task (see :func:`_revive`).

    Only the wait for the task to end is polled: a timeout on ``result()`` would also cover fetching a
    finished task's data, which can take longer than a poll on a loaded machine."""
    if getattr(getattr(client, "cluster", None), "worker_spec", None) is None:
        return future.result()  # not our own local cluster: nothing to revive, wait as Dask does
    from distributed import wait

    while True:
        try:
            wait([future], timeout=POLL)
        except TimeoutError:
            _revive(client)
            continue
        return future.result()


def _killed(exc: BaseException) -> bool:
    """Dask gave up on a task because the workers running it died (``KilledWorker``)."""
    return type(exc).__name__ == "KilledWorker"


def run_on_dask(records: Iterable[Any], options: BatchOptions, *, client: Any, window: int | None = None,
                on_worker_death: Callable[[str], None] | None = None) -> Iterator[Any]:
    """Evaluate records on a Dask cluster; yield results in input order with bounded memory (``CaseResult``
    objects, or what ``options.transport`` asks for: see :func:`policy_eval.run.batch.shaped`).

    A chunk whose task kills its workers (Dask's ``KilledWorker``) is evaluated again record by record:
    a record that kills its worker is reported as rejected (the worker core's ``lost`` result), the rest
    of the chunk and everything after it are evaluated and written as usual.
    """
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    limit = window or workers * 4
    pending: deque[tuple[Any, Any]] = deque()
    told = on_worker_death or (lambda message: None)
    local: list[Processor] = []

    def lost(item: tuple[str, int, Any]) -> Any:
        if not local:
            local.append(Processor(options))
        [result] = shaped([local[0].rejected(CaseError(DIED, source=item[0], record=item[1]))], options)
        return result

    def take() -> list[Any]:
        chunk, future = pending.popleft()
        try:
            return list(_result(client, future))
        except Exception as exc:
            if not _killed(exc):
                raise
        first, last = ends(chunk)
        told(f"a Dask worker died while evaluating records {first} to {last}; they are evaluated again one by one")
        # One record in flight at a time: an innocent record running beside the poison one would share
        # its worker's deaths and be given up on too (seen under load with allowed-failures=1).
        out: list[Any] = []
        for item in task_items(chunk):  # a range is read here, on the client
            try:
                out.extend(_result(client, client.submit(_process_chunk, [item], options, pure=False)))
            except Exception as exc:
                if not _killed(exc):
                    raise
                told(f"record {item[0]}:{item[1]} killed its Dask worker; reported as rejected")
                out.append(lost(item))
        return out

    for chunk in _chunks(records, CHUNK):
        pending.append((chunk, client.submit(_process_chunk, chunk, options, pure=False)))
        while len(pending) >= limit:
            yield from take()
    while pending:
        yield from take()


def _bag_partition(cases: Iterable[dict[str, Any]], options: BatchOptions) -> list[dict[str, Any]]:
    proc = _processor(options)
    return [proc.process(("<dask>", i, case)).to_dict() for i, case in enumerate(cases, 1)]


def evaluate_bag(bag: Any, options: BatchOptions | None = None) -> Any:
    """Map a bag of case dicts to a bag of result dicts (schemas/result.schema.json)."""
    return bag.map_partitions(_bag_partition, options or BatchOptions())


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """``{"order.id": 1}`` → ``{"order": {"id": 1}}``; missing values (None/NaN) are left out."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (isinstance(value, float) and value != value):
            continue
        if hasattr(value, "isoformat") and not isinstance(value, str):
            value = value.isoformat()  # pandas/datetime timestamps → ISO 8601 text, as cases carry them
        elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()  # numpy scalar → Python
        node = out
        parts = str(key).split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _frame_partition(frame: Any, options: BatchOptions) -> list[dict[str, Any]]:
    records = [unflatten(row) for row in frame.to_dict(orient="records")]
    return _bag_partition(records, options)


def evaluate_dataframe(ddf: Any, options: BatchOptions | None = None) -> Any:
    """Evaluate each row of a dask DataFrame (dotted column names) → a bag of result dicts."""
    import dask.bag as db

    parts = ddf.to_delayed()
    from dask import delayed

    opts = options or BatchOptions()
    return db.from_delayed([delayed(_frame_partition)(p, opts) for p in parts])

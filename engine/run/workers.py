"""Worker processes that may die: ordered results from a process pool, and no lost run when one is killed.

Input: tasks (chunks of records, or tasks a worker expands itself, such as a byte range of a file) and a
function that evaluates one task in a worker. Output: the tasks' results in input order, with at most
``window`` tasks in flight (memory stays flat).

A worker can die under us: ``kill -9``, the kernel's OOM killer, a native crash on one record.
``multiprocessing.Pool`` then waits forever for the lost task; a ``ProcessPoolExecutor`` instead fails
every task in flight with ``BrokenProcessPool``, which this module turns into recovery:

1. a new pool is started and the chunk at the head of the window is run again, alone;
2. if that kills a worker again, each of its records (``items(task)``: a byte range is read in the
   parent for this) is run alone in a fresh worker: a record whose
   worker dies a second time is reported through ``lost(item, message)`` (a rejected record naming
   the failure), the others are evaluated as usual;
3. the other chunks that were in flight are submitted again; nothing is skipped or repeated.

Every death is reported through ``on_death(message)`` so the run can end non-zero.

A worker killed while it was writing a result leaves half a message in the pool's result pipe, which the
executor's manager thread then waits on forever, noticing neither the death nor anything else: a watchdog
(:meth:`_Pool.result`) takes a worker found dead for ``STUCK`` seconds with the awaited result still pending
for such a death, and closing a pool closes the parent's write end of that pipe, which ends the read.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["run_pool", "ends", "DIED", "die_with_parent"]

POLL = 0.5  # seconds between looks at the workers while a result is awaited
STUCK = 5.0  # seconds a dead worker may go unnoticed before the pool is taken for stuck

DIED = ("the worker process evaluating this record died (killed, out of memory, or crashed); "
        "it was run again alone in a fresh worker and died again")


class _Pool:
    def __init__(self, make: Callable[[], ProcessPoolExecutor]) -> None:
        self.make = make
        self.executor = make()

    def submit(self, work: Callable[[Any], list[Any]], chunk: Any) -> Future[list[Any]]:
        """Queue ``chunk``; a pool found broken already (a worker died since the last result was taken)
        gives a failed future, handled when its turn comes like any other death."""
        try:
            return self.executor.submit(work, chunk)
        except BrokenProcessPool as exc:
            failed: Future[list[Any]] = Future()
            failed.set_exception(exc)
            return failed

    def result(self, future: Future[list[Any]]) -> list[Any]:
        """``future.result()``, with a watchdog: a worker killed while it was writing a result leaves half a
        message in the result pipe, and the pool's manager thread, reading it, neither completes the future
        nor notices the death. A worker found dead that long with the future still pending means that: the
        pool is closed (which ends the read) and reported broken."""
        dead_since: float | None = None
        while True:
            try:
                return future.result(timeout=None if future.done() else POLL)
            except FuturesTimeout:
                pass
            processes = getattr(self.executor, "_processes", None) or {}
            if not any(proc.exitcode is not None for proc in list(processes.values())):
                dead_since = None
            elif dead_since is None:
                dead_since = time.monotonic()
            elif time.monotonic() - dead_since > STUCK:
                self.close()
                raise BrokenProcessPool("a worker process died while sending a result")

    def renew(self) -> None:
        self.close()
        self.executor = self.make()

    def close(self) -> None:
        """Stop now: cancel what is queued and end the workers (an interrupted run must not wait)."""
        executor = self.executor
        processes = list((getattr(executor, "_processes", None) or {}).values())
        manager = getattr(executor, "_executor_manager_thread", None)  # (shutdown drops these two)
        results = getattr(executor, "_result_queue", None)
        executor.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.join(5)
        # A worker stopped while it was writing a result leaves half a message in the result pipe, and the
        # manager thread waits for the rest forever (then so does the interpreter's exit, which joins it: a
        # signalled run that never ends). The workers are gone; closing our own copy of the pipe's write end
        # leaves no writer, so that read ends (EOF) and the manager winds the pool up as broken.
        writer = getattr(results, "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        # and its manager thread, which closes the pool's wake-up pipe: left running, it may close the pipe
        # while the interpreter's exit writes to it (Python 3.11's concurrent.futures), which prints an
        # "Exception ignored ... Bad file descriptor" traceback after a run that went well
        if manager is not None:
            with contextlib.suppress(Exception):
                manager.join(5)


def run_pool(chunks: Iterable[Any], work: Callable[[Any], list[Any]],
             make: Callable[[], ProcessPoolExecutor], *, window: int,
             lost: Callable[[Any, str], Any], on_death: Callable[[str], None],
             items: Callable[[Any], list[Any]] = list) -> Iterator[Any]:
    """Yield ``work(chunk)``'s results, chunk after chunk in input order (see the module docstring).

    A chunk is a list of records, or any task that ``items`` turns into one (a list is its own items)."""
    pool = _Pool(make)
    pending: deque[tuple[Any, Future[list[Any]]]] = deque()

    def alone(chunk: Any) -> list[Any] | None:
        try:
            return pool.result(pool.submit(work, chunk))
        except BrokenProcessPool:
            pool.renew()
            return None

    def take() -> list[Any]:
        chunk, future = pending.popleft()
        try:
            return pool.result(future)
        except BrokenProcessPool:
            pass
        # The pool is gone with every chunk in flight; which chunk killed it is not known.
        rest = [c for c, _ in pending]
        pending.clear()
        pool.renew()
        on_death(f"a worker process died while evaluating records {_span(chunk, rest)}; they are evaluated "
                 "again in fresh workers")
        results = alone(chunk)
        if results is None:  # this chunk kills its worker: find the record(s), one at a time
            results = []
            for item in items(chunk):
                one = alone([item])
                if one is None:
                    on_death(f"record {_where(item)} killed its worker twice; reported as rejected")
                    results.append(lost(item, DIED))
                else:
                    results.extend(one)
        for c in rest:
            pending.append((c, pool.submit(work, c)))
        return results

    try:
        for chunk in chunks:
            pending.append((chunk, pool.submit(work, chunk)))
            while len(pending) >= window:
                yield from take()
        while pending:
            yield from take()
    finally:
        pool.close()


def _where(item: Any) -> str:
    source, number = item[0], item[1]
    return f"{source}:{number}" if source else f"#{number}"


def ends(task: Any) -> tuple[str, str]:
    """Where a task's first and last records are: a list's items, or what the task says (``span()``)."""
    if isinstance(task, list):
        return _where(task[0]), _where(task[-1])
    first, last = task.span()
    return str(first), str(last)


def _span(chunk: Any, rest: list[Any]) -> str:
    return f"{ends(chunk)[0]} to {ends(rest[-1] if rest else chunk)[1]}"


def die_with_parent(parent: int) -> None:
    """On Linux, the worker is killed when its parent dies, however it dies (kill -9, the OOM killer): it
    would otherwise wait for work forever, reparented to init. Elsewhere nothing (the parent's exit closes the
    pipes the workers wait on in the usual cases). ``parent``: the pid the pool was made in, known before the
    fork; a worker whose parent died before the request took effect, even before the worker first asked for
    its parent's pid (it then saw init's), ends at once (a CI run once left one alive)."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)

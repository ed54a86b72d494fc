"""Benchmark: one ``policy-eval`` command, its CPU split between the parent process and its workers.

Runs the CLI in this process (so that this process *is* the parent) and prints the exit code, wall time,
the parent's own CPU seconds, split into start-up (imports and loading the rulebook, up to the end of
``common.load``) and the run after it (reading or planning the input, taking the workers' results,
writing, the totals), the CPU seconds of the worker processes it waited for (``RUSAGE_CHILDREN``), and
the peak memory of each, and the size of the report ``-o`` replaced (see :func:`_replaced`)::

    python bench/cpu_split.py eval -q -f jsonl --jobs 2 --fail-on never -o OUT cases.jsonl

The parent's run CPU divided by the records is what the parent costs per record: the figure that must
stay small for ``--jobs`` to scale. (A Dask run's workers belong to its local cluster, which this
accounting does not see.)
"""

from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any


def _cpu_self() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def main(argv: list[str]) -> int:
    from policy_eval.cli import common, run

    # this process stands in for policy-eval's own (cli.main), heap settings included (an install from before the
    # fifty-sixth session, compared by turns, has the flag alone)
    own = getattr(common, "own_process", None)
    if own is not None:
        own()
    else:
        common.OWN_PROCESS = True
    loaded: list[float] = []
    load = common.load

    def timed_load(*args: Any, **kwargs: Any) -> Any:
        rulebook = load(*args, **kwargs)
        loaded.append(_cpu_self())
        return rulebook

    common.load = timed_load  # type: ignore[assignment]
    replaced = _replaced(argv)
    start = time.perf_counter()
    try:
        code = run(argv)
    finally:
        common.load = load  # type: ignore[assignment]
    wall = time.perf_counter() - start
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent, workers = me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime
    share = parent / (parent + workers) if parent + workers else 0.0
    startup = loaded[0] if loaded else parent
    print(f"exit={code} wall={wall:.2f}s cpu={parent + workers:.2f}s parent={parent:.2f}s ({share:.0%}; "
          f"start-up={startup:.2f}s run={parent - startup:.2f}s; user={me.ru_utime:.2f}s sys={me.ru_stime:.2f}s) "
          f"workers={workers:.2f}s peak parent={me.ru_maxrss / 1024:.1f}MiB worker={kids.ru_maxrss / 1024:.1f}MiB"
          + (f" replaced={replaced / 2**20:.0f}MiB" if replaced else ""), file=sys.stderr)
    return code


def _replaced(argv: list[str]) -> int:
    """The size of the report ``-o FILE`` replaces, 0 where none is there: the kernel frees an old report's cached
    pages in the parent's system time when the new one takes its name (~1.1 s for 747 MB here, bench/README,
    fifty-first session): a run that replaces one costs more than a run that does not."""
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-o", "--output"):
            try:
                return os.path.getsize(argv[i + 1])
            except OSError:
                return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

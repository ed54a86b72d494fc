"""Benchmark: one ``policy-eval`` command, its CPU split between the parent process and its workers.

Runs the CLI in this process (so that this process *is* the parent) and prints the exit code, wall time,
the parent's own CPU seconds (reading, stitching, writing, and loading the rulebook at start-up) and the
CPU seconds of the worker processes it waited for (``RUSAGE_CHILDREN``), and the peak memory of each::

    python bench/cpu_split.py eval -q -f jsonl --jobs 2 --fail-on never -o OUT cases.jsonl

(A Dask run's workers belong to its local cluster, which this accounting does not see.)
"""

from __future__ import annotations

import resource
import sys
import time


def main(argv: list[str]) -> int:
    from policy_eval.cli import run

    start = time.perf_counter()
    code = run(argv)
    wall = time.perf_counter() - start
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent, workers = me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime
    share = parent / (parent + workers) if parent + workers else 0.0
    print(f"exit={code} wall={wall:.2f}s cpu={parent + workers:.2f}s parent={parent:.2f}s ({share:.0%}) "
          f"workers={workers:.2f}s peak parent={me.ru_maxrss / 1024:.1f}MiB worker={kids.ru_maxrss / 1024:.1f}MiB",
          file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""run_pool's recovery, driven by a deterministic stand-in for ProcessPoolExecutor.

The stand-in breaks as a real pool does when a worker dies: the dying task's future fails with
BrokenProcessPool, and so does every later ``submit`` until a new pool is made. A real pool can be
found broken at ``submit`` time when a worker dies between two results (seen in CI under load).
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from policy_eval.run.workers import DIED, run_pool


class BreakingExecutor:
    def __init__(self, made: list[BreakingExecutor]) -> None:
        self.broken = False
        made.append(self)

    def submit(self, work: Any, chunk: list[Any]) -> Future[list[Any]]:
        if self.broken:
            raise BrokenProcessPool("A child process terminated abruptly, the process pool is not usable anymore")
        future: Future[list[Any]] = Future()
        if any(item[2] == "poison" for item in chunk):
            self.broken = True
            future.set_exception(BrokenProcessPool("worker died"))
        else:
            future.set_result(work(chunk))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self.broken = True


def _work(chunk: list[Any]) -> list[Any]:
    return [("ok", item[1]) for item in chunk]


def _run(items: list[Any], size: int, window: int) -> tuple[list[Any], list[str], int]:
    made: list[BreakingExecutor] = []
    deaths: list[str] = []
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    out = list(run_pool(chunks, _work, lambda: BreakingExecutor(made), window=window,  # type: ignore[arg-type, return-value]
                        lost=lambda item, message: ("lost", item[1], message), on_death=deaths.append))
    return out, deaths, len(made)


def test_a_pool_found_broken_at_submit_costs_only_the_poison_record() -> None:
    items = [("cases.jsonl", n, "poison" if n in (3, 17) else "fine") for n in range(1, 31)]
    out, deaths, pools = _run(items, size=4, window=3)
    assert [r[1] for r in out] == list(range(1, 31))  # every record once, in order
    assert [r[1] for r in out if r[0] == "lost"] == [3, 17]
    assert all(r[2] == DIED for r in out if r[0] == "lost")
    assert sum("killed its worker twice" in d for d in deaths) == 2
    assert pools > 1


def test_no_death_no_warning() -> None:
    items = [("", n, "fine") for n in range(1, 11)]
    out, deaths, pools = _run(items, size=3, window=2)
    assert out == [("ok", n) for n in range(1, 11)] and deaths == [] and pools == 1


class _Range:
    """A task that is not a list of records (as a byte range of a file is): it names its own ends."""

    def __init__(self, records: list[Any]) -> None:
        self.records = records

    def __iter__(self) -> Any:  # what BreakingExecutor looks into, as a worker would read the range
        return iter(self.records)

    def span(self) -> tuple[str, str]:
        return f"cases.jsonl:{self.records[0][1]}", f"cases.jsonl:{self.records[-1][1]}"


def test_a_task_that_is_not_a_list_is_split_into_its_records_by_items() -> None:
    items = [("cases.jsonl", n, "poison" if n == 6 else "fine") for n in range(1, 13)]
    tasks = [_Range(items[i:i + 4]) for i in range(0, 12, 4)]
    made: list[BreakingExecutor] = []
    deaths: list[str] = []

    def work(task: Any) -> list[Any]:
        return [("ok", item[1]) for item in task]

    out = list(run_pool(tasks, work, lambda: BreakingExecutor(made), window=2,  # type: ignore[arg-type, return-value]
                        lost=lambda item, message: ("lost", item[1], message), on_death=deaths.append,
                        items=lambda task: list(task.records)))
    assert [r[1] for r in out] == list(range(1, 13))
    assert [r[1] for r in out if r[0] == "lost"] == [6]
    assert deaths[0].startswith("a worker process died while evaluating records cases.jsonl:5 to cases.jsonl:")
    assert "record cases.jsonl:6 killed its worker twice" in deaths[1]

"""Blocks through shared memory (run.slots): a ``--jobs`` worker leaves each task's block in a slot the parent
gave the task, and the parent copies it out. What comes out must be what the pipe would have carried, whatever
falls back to the pipe (a block too large for its slot, text, a task that found no free slot), and a slot must be
free again once the block of its task, or of any later task, has been taken."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from casefiles import marked_cases

from policy_eval.rulebook.cases import read_cases
from policy_eval.rulebook.shards import SHARD_BYTES
from policy_eval.run import batch as batch_module
from policy_eval.run import slots as slots_module
from policy_eval.run.batch import BatchOptions, run_batch
from policy_eval.run.blocks import Block
from policy_eval.run.slots import Held, Slots, Slotted


def _block(data: bytes | str) -> Block:
    return Block(data, (1, 1, 0, 0, 0, 0, 0, 0), "sha256:x")


def test_a_block_comes_back_through_its_slot_and_frees_the_slots_taken_before_it() -> None:
    slots = Slots(3, size=64)
    a, b, c, d = (slots.slotted(t) for t in "abcd")
    assert (a.slot, b.slot, c.slot, d.slot) == (0, 1, 2, None)  # (none free for the fourth: it takes the pipe)
    held = slots.store(_block(b"x" * 64), a.slot)
    assert held.data == Held(0, 64) and held.totals == (1, 1, 0, 0, 0, 0, 0, 0) and held.rulebook == "sha256:x"
    assert slots.fetch(held) == _block(b"x" * 64)
    assert slots.slotted("e").slot == 0  # a's slot is free again
    # b's block came through the pipe: c's coming back frees b's slot too (results come in task order)
    assert slots.fetch(_block(b"from the pipe")) == _block(b"from the pipe")
    assert slots.fetch(slots.store(_block(b"c" * 10), c.slot)).data == b"c" * 10
    assert sorted(s.slot for s in (slots.slotted("f"), slots.slotted("g"))) == [1, 2]
    assert slots.slotted("h").slot is None


def test_what_does_not_fit_or_is_not_bytes_is_returned_as_it_is() -> None:
    slots = Slots(2, size=8)
    big, text = _block(b"123456789"), _block("\ud800 text")
    assert slots.store(big, 0) is big and slots.store(text, 1) is text
    assert slots.store(_block(b"12345678"), None).data == b"12345678"  # (no slot: the pipe)
    rendered = object()
    assert slots.store(rendered, 0) is rendered and slots.fetch(rendered) is rendered


def test_a_slotted_task_names_and_splits_its_records_as_the_task_does() -> None:
    """A task that kills its worker is named by its records and run again record by record (run.workers)."""
    task = [("cases.jsonl", 7, b"{}"), ("cases.jsonl", 9, b"{}")]
    assert Slotted(task, 3).span() == ("cases.jsonl:7", "cases.jsonl:9")
    assert batch_module.task_items(Slotted(task, 3)) == task


def _run(source: Path, jobs: int, borrowed: bool = False, **options: Any) -> bytes:
    """The run's blocks' bytes, each taken (copied) before the next is asked for, as the CLI writes each."""
    opts = BatchOptions(transport="blocks", **options)
    records = read_cases([str(source)], raw=True, shards=SHARD_BYTES if jobs > 1 else None)  # (as eval reads them)
    return b"".join([bytes(b.data) for b in run_batch(records, opts, jobs=jobs, borrowed=borrowed)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
@pytest.mark.parametrize("detail", ["findings", "full"])
def test_blocks_through_slots_are_the_bytes_one_process_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              detail: str) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_bytes(marked_cases(3000, {5, 2999}, "X") + b"\n\n" + marked_cases(700, set(), "Y"))
    alone = _run(source, 1, detail=detail)
    fetched: list[bool] = []
    fetch = Slots._fetch

    def counted(self: Slots, block: Any, borrowed: bool) -> Any:
        fetched.append(type(block.data) is Held)
        return fetch(self, block, borrowed)
    monkeypatch.setattr(Slots, "_fetch", counted)
    assert _run(source, 2, detail=detail) == alone
    assert len(fetched) >= 10 and all(fetched)  # (every block came through shared memory)
    fetched.clear()
    assert _run(source, 2, borrowed=True, detail=detail) == alone  # (each block a view of its slot)
    assert len(fetched) >= 10 and all(fetched)
    fetched.clear()
    monkeypatch.setattr(slots_module, "SLOT_BYTES", 4096)  # (now most blocks are too large for a slot)
    assert _run(source, 2, detail=detail) == alone
    assert not all(fetched) and len(fetched) >= 10
    fetched.clear()
    monkeypatch.setattr(batch_module, "slots_for", lambda count: None)  # (no shared memory at all: the pipe)
    assert _run(source, 2, borrowed=True, detail=detail) == alone and not fetched


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
def test_a_borrowed_block_is_a_view_of_its_slot_and_a_fetched_one_a_copy(tmp_path: Path) -> None:
    """Why ``borrowed`` is the caller's promise: a borrowed block's bytes are the slot's own, which the next task
    given that slot writes over; a fetched block's are its own."""
    source = tmp_path / "cases.jsonl"
    source.write_bytes(marked_cases(2000, set(), "X"))
    opts = BatchOptions(transport="blocks")
    for borrowed, kind in ((True, memoryview), (False, bytes)):
        records = read_cases([str(source)], raw=True, shards=SHARD_BYTES)
        kinds = {type(b.data) for b in run_batch(records, opts, jobs=2, borrowed=borrowed)}
        assert kinds == {kind}


def test_memory_that_cannot_be_had_means_the_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A system that refuses the mapping (no overcommit, a process limit) runs as before: no slots, the pipe."""
    assert slots_module.slots_for(3) is not None
    assert len(slots_module.slots_for(10_000)._free) == slots_module.MAX_SLOTS  # type: ignore[union-attr]

    def refused(*args: Any) -> Any:
        raise OSError(12, "Cannot allocate memory")
    monkeypatch.setattr(slots_module.mmap, "mmap", refused)
    assert slots_module.slots_for(3) is None


def test_a_worker_takes_the_slots_of_its_own_batch_or_the_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process may run two batches at once (two threads of an embedding application): each task names the slots
    of its batch, and a worker that does not hold them (forked before they were made, say) sends its block through
    the pipe rather than into another batch's memory."""
    from policy_eval.run.batch import Processor, _work

    proc = Processor(BatchOptions(transport="blocks"))
    monkeypatch.setattr(batch_module, "_WORKER", proc)
    task = [("cases.jsonl", i, line) for i, line in enumerate(marked_cases(3, set(), "X").splitlines(), 1)]
    mine, other = Slots(2, size=1 << 20), Slots(2, size=1 << 20)
    monkeypatch.setattr(batch_module, "_SLOTS", {id(mine): mine, id(other): other})
    [held] = _work(mine.slotted(task))
    assert type(held.data) is Held and mine.fetch(held).data == _work(task)[0].data
    monkeypatch.setattr(batch_module, "_SLOTS", {id(other): other})
    [piped] = _work(mine.slotted(task))
    assert type(piped.data) is bytes and piped.data == _work(task)[0].data
    assert bytes(other.view[:16]) == bytes(16)  # (nothing was written into the other batch's memory)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
def test_two_batches_at_once_each_get_their_own_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(marked_cases(2000, set(), "A"))
    second.write_bytes(marked_cases(1500, {3}, "B"))
    expected = (_run(first, 1), _run(second, 1))
    opts = BatchOptions(transport="blocks")
    runs = [run_batch(read_cases([str(p)], raw=True, shards=SHARD_BYTES), opts, jobs=2) for p in (first, second)]
    got: tuple[list[bytes], list[bytes]] = ([], [])
    while runs[0] is not None or runs[1] is not None:  # (one block of each by turns)
        for i, run in enumerate(runs):
            if run is not None:
                block = next(run, None)
                if block is None:
                    runs[i] = None
                else:
                    got[i].append(bytes(block.data))
    assert (b"".join(got[0]), b"".join(got[1])) == expected
    assert batch_module._SLOTS == {}  # (each batch's slots dropped at its end)

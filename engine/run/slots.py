"""Blocks through shared memory: a worker leaves a task's block where the parent reads it, not in the result pipe.

With ``--jobs N`` each task's records come back to the parent as one block of JSON (run.blocks). Through the process
pool's result pipe a block is pickled, written to the pipe in 64 KB pieces, read back piece by piece and unpickled
in the parent: for a full-detail record (12.8 KB) that cost about 9-13 us of the parent's CPU and as much of the
worker's (bench/README.md, thirty-fourth session), more than a sixth of what evaluating the record costs.

Here the parent maps one region of memory before it forks its workers, shared with them, cut into ``count``
slots of ``size`` bytes, and gives each task it submits a free slot (:class:`Slotted`). The worker copies its
block's bytes into that slot and returns only where they are (:class:`Held`); the parent copies them out into a
block of its own (:meth:`Slots.fetch`), or lends the caller a view of the slot when the caller is done with each
block before it asks for the next (:meth:`Slots.borrow`: the CLI's report, which writes it), and the slot is free
again. Results come back in task order, so when a task's slot comes back
every slot taken before it belongs to a task already taken in full and is free too (a task whose block came
through the pipe, one without records, one run again record by record after a worker died).

Bounds: ``count * size`` bytes of address space for the run, touched only as blocks fill them. A block larger than
a slot, a block of text (a lone surrogate: run.blocks), a task submitted when no slot was free, and platforms
without ``fork`` take the pipe as before: the output is the same either way.
"""

from __future__ import annotations

import mmap
from collections import deque
from dataclasses import dataclass
from typing import Any

from policy_eval.run.blocks import Block

__all__ = ["Held", "Slots", "Slotted", "SLOT_BYTES", "MAX_SLOTS", "slots_for"]

SLOT_BYTES = 8 << 20  # a full-detail block of 256 after-sale records is about 3.3 MB
MAX_SLOTS = 64  # (--jobs auto on a large machine: tasks beyond these in flight take the pipe)


@dataclass(frozen=True, slots=True)
class Held:
    """Where a worker left a block's bytes: ``length`` bytes at the start of slot ``slot``."""

    slot: int
    length: int


@dataclass(frozen=True, slots=True)
class Slotted:
    """A task and the slot its block may be left in (None: none was free), in the slots ``owner`` names (their id:
    a process may run more than one batch at a time, each with slots of its own)."""

    task: Any
    slot: int | None
    owner: int = 0

    def span(self) -> tuple[str, str]:
        """Where the task's first and last records are (run.workers.ends)."""
        from policy_eval.run.workers import ends

        return ends(self.task)


def slots_for(count: int) -> Slots | None:
    """The slots for ``count`` tasks in flight (at most :data:`MAX_SLOTS`), or None where the memory cannot be had
    (a system that does not overcommit, a process limit): the blocks then take the pipe."""
    try:
        return Slots(min(count, MAX_SLOTS))
    except (OSError, ValueError, OverflowError):
        return None


class Slots:
    """The shared region and which of its slots are free (the free list lives in the parent)."""

    def __init__(self, count: int, size: int | None = None) -> None:
        self.size = size = SLOT_BYTES if size is None else size
        self.memory = mmap.mmap(-1, count * size)  # anonymous and shared: the processes forked after see it
        self.view = memoryview(self.memory)
        self._free: deque[int] = deque(range(count))
        self._taken: deque[int] = deque()  # in the order the tasks were submitted

    def slotted(self, task: Any) -> Slotted:
        """``task`` with a free slot, if there is one (in the parent, as the task is submitted)."""
        slot = self._free.popleft() if self._free else None
        if slot is not None:
            self._taken.append(slot)
        return Slotted(task, slot, id(self))

    def store(self, block: Any, slot: int | None) -> Any:
        """In a worker: the block, its bytes left in ``slot`` where they fit (see the module docstring)."""
        data = block.data if type(block) is Block else None
        if slot is None or type(data) is not bytes or len(data) > self.size:
            return block
        at = slot * self.size
        self.memory[at:at + len(data)] = data
        return Block(Held(slot, len(data)), block.totals, block.rulebook)  # type: ignore[arg-type, unused-ignore]

    def fetch(self, block: Any) -> Any:
        """In the parent: a block as it came, or with the bytes a worker left in its slot copied out; that slot
        and every slot taken before it are free again."""
        return self._fetch(block, False)

    def borrow(self, block: Any) -> Any:
        """:meth:`fetch`, the bytes left where they are: the block holds a view of its slot, which stays as it is
        only until the parent submits another task (a caller that writes each block before it asks for the
        next: the CLI's report)."""
        return self._fetch(block, True)

    def _fetch(self, block: Any, borrowed: bool) -> Any:
        held = block.data if type(block) is Block else None
        if type(held) is not Held:
            return block
        at = held.slot * self.size
        data = self.view[at:at + held.length] if borrowed else self.memory[at:at + held.length]
        taken = self._taken
        while taken:
            slot = taken.popleft()
            self._free.append(slot)
            if slot == held.slot:
                break
        return Block(data, block.totals, block.rulebook)

"""JSON Lines files cut into byte ranges that worker processes read for themselves.

Input: a plain JSON Lines file (not gzip, not stdin). Output: :class:`Shard` tasks, each a byte range that
starts at a line start and owns every line that starts inside it, with the number of its first line; and,
in a worker, :func:`shard_records`: the records of one range, numbered and cut exactly as
:func:`policy_eval.rulebook.cases.read_stream` numbers and cuts them (a byte order mark dropped from
line 1, blank lines skipped but counted, a line longer than the record cap cut there and read past).

The parent reads the file once, sequentially, to find line starts and count newlines (``bytes.count`` on a
block: cheap); parsing, validation and evaluation happen where the range is read. Plain reads are used,
not ``mmap``: a file truncated under a mapping kills the reader with SIGBUS.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

from policy_eval.errors import CaseError
from policy_eval.rulebook.casefiles import READ_ERRORS
from policy_eval.rulebook.jsonrecord import MAX_RECORD_BYTES

__all__ = ["SHARD_BYTES", "FINDINGS_SHARD_BYTES", "Shard", "plan_shards", "shard_records"]

# About 300 after-sale records a range: as many as a chunk of records sent by the parent held before,
# so the window of ranges in flight (and the results it holds) stays the size it was.
SHARD_BYTES = 256 * 1024
# A range of a local worker's writing findings records in blocks (cli.inputs: json and jsonl reports; the others take
# every result, a range's in one list): the parent's cost is per range (its pool's threads,
# a wake-up, a write), and the worker makes the range's block a part at a time (run.blocks.block_in_parts), holding
# no more results than with 256 KiB ranges: 1 M after-sale records took ~0.7 s of CPU less (bench/README,
# forty-seventh session). Not full detail's (~16 MB of report a range: more than a shared-memory slot, run.slots),
# nor Dask's.
FINDINGS_SHARD_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_STEP = 1024 * 1024  # how far past a range the parent reads at a time to find the end of a long line
# A worker reads its range through a buffer as large as the range (at most this): one read of the file where the
# default 8 KiB took about 32 (589 -> 289 ns a record, the lines split out of it included: bench/README,
# forty-sixth session)
_READ_BUFFER = FINDINGS_SHARD_BYTES


@dataclass(frozen=True, slots=True)
class Shard:
    """Bytes ``start`` to ``end`` of a JSON Lines file: the lines ``first`` to ``last`` (numbered from 1).

    ``source`` names the input as the user gave it (results carry it); ``path`` is where to open it,
    absolute, so that a worker running in another folder (a Dask worker) reads the same file.
    """

    source: str
    path: str
    start: int
    end: int
    first: int
    last: int

    def span(self) -> tuple[str, str]:
        """Where the range's first and last lines are, for messages: ``file:line``."""
        return f"{self.source}:{self.first}", f"{self.source}:{self.last}"


def plan_shards(fh: io.BufferedReader, source: str, size: int = SHARD_BYTES) -> Iterator[Shard]:
    """Cut the open file ``fh`` (read from its start) into ranges of about ``size`` bytes at line starts.

    A range ends after the last newline of its block; a line longer than a block is a range of its own
    (read through here only to count it, never held). Raises what reading ``fh`` raises (READ_ERRORS).

    The blocks are read into one buffer, the part after a block's last newline moved to its front: a new
    ``bytes`` a block (and another to join the part before) could fault in fresh pages of memory each time (a loop
    over this alone on 1 M after-sale records: ~144,000 page faults and 0.25-0.3 s of system time, where this costs
    ~300 and 0.1 s; bench/README, fifty-first session).
    """
    path = os.path.abspath(fh.name) if isinstance(fh.name, str) else str(fh.name)
    fh.seek(0)
    pos, line = 0, 1
    buf = bytearray(size)
    view = memoryview(buf)
    have = 0  # bytes of buf held: the part a block left, then what was read after it
    eof = False
    while True:
        while not eof and have < size:
            got = fh.readinto(view[have:size])
            if got:
                have += got
            else:
                eof = True
        if not have:
            return
        cut = have if eof else buf.rfind(b"\n", 0, have) + 1
        if cut == 0:  # no newline in a whole block: one long line, to its newline or the end of the file
            end, rest = pos + have, b""
            while True:
                piece = fh.read(_STEP)
                if not piece:
                    eof = True
                    break
                i = piece.find(b"\n")
                if i >= 0:
                    end, rest = end + i + 1, piece[i + 1:]
                    break
                end += len(piece)
            yield Shard(source, path, pos, end, line, line)
            pos, line = end, line + 1
            have = len(rest)
            if have > len(buf):  # (a piece past the long line longer than a block: the buffer grows to hold it)
                view.release()
                buf = bytearray(rest)
                view = memoryview(buf)
            else:
                buf[:have] = rest
            continue
        newlines = buf.count(b"\n", 0, cut)
        last = line + newlines - (1 if buf[cut - 1] == 0x0A else 0)
        yield Shard(source, path, pos, pos + cut, line, last)
        pos, line = pos + cut, line + newlines
        have -= cut
        buf[:have] = bytes(view[cut:cut + have])  # (a copy: the two may overlap)


def shard_records(shard: Shard) -> Iterator[tuple[str, int | None, bytes | CaseError]]:
    """The records of ``shard`` as undecoded lines ``(source, line number, bytes)``, in a worker.

    A read that fails yields one input error (record None) naming the lines not read, after the records
    read before it. A file that cannot be opened raises :class:`OSError` (the caller says where it ran).
    """
    limit = MAX_RECORD_BYTES + 1
    number = shard.first - 1
    with open(shard.path, "rb", buffering=max(io.DEFAULT_BUFFER_SIZE, min(shard.end - shard.start, _READ_BUFFER))) as fh:
        try:
            fh.seek(shard.start)
            pos = shard.start
            while pos < shard.end:
                line = fh.readline(limit)
                if not line:
                    return  # the file is shorter than when it was planned
                pos += len(line)
                if len(line) >= limit and not line.endswith(b"\n"):
                    while True:  # past the cap: the rest of the line is read past, not kept
                        more = fh.readline(limit)
                        pos += len(more)
                        if not more or more.endswith(b"\n"):
                            break
                number += 1
                if number == 1 and line.startswith(_BOM):
                    line = line[3:]
                if line.isspace() or not line:  # (blank, or a byte order mark alone: strip() copied the line)
                    continue
                yield shard.source, number, line
        except READ_ERRORS as exc:
            yield shard.source, None, _unread(shard, exc, number + 1)


def _unread(shard: Shard, exc: BaseException, line: int) -> CaseError:
    """Lines ``line`` to the end of ``shard`` could not be read (the rest of the file is still read)."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
    return CaseError(f"read failed: {reason}; lines {line} to {shard.last} are not evaluated",
                     source=shard.source, record=None)

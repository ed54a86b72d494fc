"""A task's results as one block: the worker serialises and totals, the parent only writes and adds.

Input: the results of one task (a chunk of records, or a byte range a worker read), in input order.
Output: a :class:`Block`: the records' JSON texts, each framed as the report frames a record, as UTF-8
bytes; the number of records; and the totals the run's summary and exit code are made of
(:data:`TOTALS`). With JSON output (``eval -f jsonl`` / ``-f json``, ``--jobs`` or Dask) the parent
process then costs one unpickled byte string, one write and a handful of additions per task, not an
object, a write and the bookkeeping per record. Bytes rather than text: a ``str`` travels pickled as
UTF-8, so the parent would decode each block only to encode it again when writing (the reports are
mostly non-ASCII: the rulebook's messages), about 8 µs of its CPU per after-sale record.

:func:`count` is the one place a result becomes totals: the parent uses it on results it receives one by
one (``--jobs 1``, text and the other reporters), a worker on the records of a block, so that the two
cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

__all__ = ["Block", "TOTALS", "INTERNAL_ERROR", "PART", "internal_error", "count", "block_of", "block_in_parts"]

# How a record that met a bug is rejected (the CLI exits 4 for it: common.EXIT_INTERNAL).
INTERNAL_ERROR = "internal error while evaluating this record"


def internal_error(exc: BaseException) -> str:
    """The message of a record rejected for ``exc``: :data:`INTERNAL_ERROR`, the exception, and the plugin
    function it came from when it came from one (the innermost frame outside policy-eval's own code and
    its generated conditions), so that a plugin's bug is not taken for policy-eval's."""
    import os
    import traceback

    if isinstance(exc, MemoryError):  # the record's size, not a bug: a rejection of that record (red team trial E)
        return "this record needs more memory than the process may use: not evaluated (split it, or allow more memory)"
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    engine = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    origin = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not code.co_filename.startswith("<") and not os.path.abspath(code.co_filename).startswith(engine + os.sep):
            origin = f"{tb.tb_frame.f_globals.get('__name__', '?')}.{code.co_name}"
        tb = tb.tb_next
    return f"{INTERNAL_ERROR}: {detail}" + (f" (raised by {origin}, a plugin's code)" if origin else "")

# What a block carries per name, in this order: records read, of them evaluated and rejected, rejected with
# an internal error; evaluated cases with a violated verdict, with an undetermined one and none violated,
# clean; and the verdicts over all rules by outcome.
TOTALS = ("read", "evaluated", "rejected", "internal", "cases_violating", "cases_undetermined", "cases_clean",
          "complied", "violated", "not_applicable", "undetermined")


def count(totals: list[int], result: Any) -> None:
    """Add one result (a ``CaseResult``, or anything with ``error`` and ``tally()`` or ``counts()``) to
    ``totals``."""
    totals[0] += 1
    error = result.error
    if error is not None:
        totals[2] += 1
        if str(error.get("message", "")).startswith(INTERNAL_ERROR):
            totals[3] += 1
        return
    totals[1] += 1
    tally = getattr(result, "tally", None)
    if tally is not None:  # (complied, violated, not applicable, undetermined): TOTALS 7 to 10 in order
        complied, violated, not_applicable, undetermined = tally()
    else:
        counts = result.counts()
        complied, violated = counts["complied"], counts["violated"]
        not_applicable, undetermined = counts["not_applicable"], counts["undetermined"]
    totals[7] += complied
    totals[8] += violated
    totals[9] += not_applicable
    totals[10] += undetermined
    if violated:
        totals[4] += 1
    elif undetermined:
        totals[5] += 1
    else:
        totals[6] += 1


@dataclass(frozen=True, slots=True)
class Block:
    """Records already written out in a worker, and what they add to the run's totals.

    ``data`` is each record's JSON text between the report's ``frame`` (see :func:`block_of`), in UTF-8; or
    the text itself when it holds a lone surrogate (JSON can carry one: ``"\\ud800"``), which UTF-8 cannot,
    so that the report's stream writes it as it writes such a record alone. ``rulebook`` is the digest of
    the rulebook that evaluated the records (a Dask client checks that it is its own)."""

    data: bytes | str
    totals: tuple[int, ...]
    rulebook: str | None = None

    @property
    def records(self) -> int:
        return self.totals[0]


# Records whose results a worker holds at once while it makes one task's block (:func:`block_in_parts`): a task
# of more records (a 1 MiB range in findings detail: run.batch) costs the parent less per record, but made as one
# list it left ~1,250 results in memory before the first was written, and each record cost ~1.2 µs more
# (bench/README, forty-seventh session); a part of this size costs what a 256 KiB range did.
PART = 256


def block_of(results: Iterable[Any], frame: tuple[str, str]) -> Block:
    """The block of ``results`` (``CaseResult`` objects, in input order) for a report that writes
    ``frame[0]`` before and ``frame[1]`` after each record. Each record's bytes are orjson's own
    (``CaseResult.to_json_bytes``): a record's text is not decoded from them only to be encoded again, and a
    record made of pieces (``CaseResult.json_pieces``: a full record written from shapes) is joined once, here."""
    made = _Making(frame)
    made.add(results)
    return made.block()


def block_in_parts(process: Callable[[Any], Any], items: Iterable[Any], frame: tuple[str, str]) -> list[Block]:
    """The block of ``process`` over ``items`` (records to results), as :func:`block_of` makes it of them all,
    made :data:`PART` records at a time: each part's results are written into the block's pieces and dropped
    before the next part is evaluated (one join of the pieces at the end). In a list: the block, or none where
    ``items`` holds no record (as ``run.batch.shaped`` gives them)."""
    made = _Making(frame)
    records = iter(items)
    while part := [process(item) for item in islice(records, PART)]:
        made.add(part)
        del part  # (dropped before the next part is evaluated: one part's results alive at a time)
    return [made.block()] if made.totals[0] else []


class _Making:
    """A block's pieces and totals as results are added (:func:`block_of`)."""

    __slots__ = ("parts", "totals", "rulebook", "text", "head", "tail")

    def __init__(self, frame: tuple[str, str]) -> None:
        self.parts: list[bytes | str] = []
        self.totals = [0] * len(TOTALS)
        self.rulebook: str | None = None
        self.text = False  # a record orjson refused came as text
        self.head, self.tail = frame[0].encode("utf-8"), frame[1].encode("utf-8")

    def add(self, results: Iterable[Any]) -> None:
        parts, totals, head, tail = self.parts, self.totals, self.head, self.tail
        for result in results:
            pieces = result.json_pieces()
            if head:
                parts.append(head)
            if len(pieces) == 1:
                data = pieces[0]
                if type(data) is not bytes:
                    self.text = True
                parts.append(data)
            else:  # (each piece orjson's bytes, cut next to an ASCII character: UTF-8 on its own)
                parts += pieces
            parts.append(tail)
            count(totals, result)
            self.rulebook = result.rulebook

    def block(self) -> Block:
        parts, totals, rulebook = self.parts, tuple(self.totals), self.rulebook
        if not parts:
            return Block(b"", totals, rulebook)
        if not self.text:  # (each record's bytes copied once)
            return Block(b"".join(parts), totals, rulebook)  # type: ignore[arg-type]
        joined = "".join([p.decode("utf-8") if isinstance(p, bytes) else p for p in parts])
        try:
            return Block(joined.encode("utf-8"), totals, rulebook)
        except UnicodeEncodeError:  # a lone surrogate: the parent's text stream says how it is written
            return Block(joined, totals, rulebook)

"""A task's results as one block: the worker serialises and totals, the parent only writes and adds.

Input: the results of one task (a chunk of records, or a byte range a worker read), in input order.
Output: a :class:`Block`: the records' JSON texts joined by the separator the report writes between two
records, the number of records, and the totals the run's summary and exit code are made of
(:data:`TOTALS`). With line-oriented JSON output (``eval -f jsonl`` / ``-f json``, ``--jobs`` or Dask)
the parent process then costs one unpickled string, one write and a handful of additions per task,
not an object, a write and the bookkeeping per record.

:func:`count` is the one place a result becomes totals: the parent uses it on results it receives one by
one (``--jobs 1``, text and the other reporters), a worker on the records of a block, so that the two
cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Block", "TOTALS", "INTERNAL_ERROR", "count", "block_of"]

# How a record that met a bug is rejected (the CLI exits 4 for it: common.EXIT_INTERNAL).
INTERNAL_ERROR = "internal error while evaluating this record"

# What a block carries per name, in this order: records read, of them evaluated and rejected, rejected with
# an internal error; evaluated cases with a violated verdict, with an undetermined one and none violated,
# clean; and the verdicts over all rules by outcome.
TOTALS = ("read", "evaluated", "rejected", "internal", "cases_violating", "cases_undetermined", "cases_clean",
          "complied", "violated", "not_applicable", "undetermined")
_OUTCOMES = {"complied": 7, "violated": 8, "not_applicable": 9, "undetermined": 10}


def count(totals: list[int], result: Any) -> None:
    """Add one result (a ``CaseResult``, or anything with ``error`` and ``counts()``) to ``totals``."""
    totals[0] += 1
    error = result.error
    if error is not None:
        totals[2] += 1
        if str(error.get("message", "")).startswith(INTERNAL_ERROR):
            totals[3] += 1
        return
    totals[1] += 1
    counts = result.counts()
    for name, n in counts.items():
        totals[_OUTCOMES[name]] += n
    if counts["violated"]:
        totals[4] += 1
    elif counts["undetermined"]:
        totals[5] += 1
    else:
        totals[6] += 1


@dataclass(frozen=True, slots=True)
class Block:
    """Records already written out in a worker, and what they add to the run's totals.

    ``text`` is the records' JSON texts joined by the report's separator (nothing before the first or after
    the last: the reporter writes those, as it does around one record, see :meth:`to_json`). ``rulebook`` is
    the digest of the rulebook that evaluated them (a Dask client checks it is its own)."""

    text: str
    totals: tuple[int, ...]
    rulebook: str | None = None

    @property
    def records(self) -> int:
        return self.totals[0]

    def to_json(self) -> str:
        """The block's text: a JSON reporter given a block writes its records exactly as it writes one."""
        return self.text


def block_of(results: Iterable[Any], separator: str) -> Block:
    """The block of ``results`` (``CaseResult`` objects, in input order) for a report that writes
    ``separator`` between two records."""
    texts: list[str] = []
    totals = [0] * len(TOTALS)
    rulebook = None
    for result in results:
        texts.append(result.to_json())
        count(totals, result)
        rulebook = result.rulebook
    return Block(separator.join(texts), tuple(totals), rulebook)

"""The order errors are reported in: grouped by file, each file's from its top down.

Every stage of the loader that gathers several errors (an ErrorList) finds them in its own order: the schema
check before the conditions, a revision's inherited parts after its own, the versions of a policy after every
file. A reader goes through a file from the top; :func:`in_order` gives the errors in that order.
"""

from __future__ import annotations

from collections.abc import Iterable

from policy_eval.errors import PolicyError

__all__ = ["in_order"]


def in_order(errors: Iterable[PolicyError], files: Iterable[str | None] = ()) -> list[PolicyError]:
    """``errors`` grouped by file -- the files of ``files`` in that order (the order they were read), then
    the others in the order of their first error -- and each file's sorted by line and column (one without a
    line first); errors at the same place keep their order."""
    found = list(errors)
    rank: dict[str | None, int] = {}
    for file in files:
        rank.setdefault(file, len(rank))
    for e in found:
        rank.setdefault(e.file, len(rank))
    return sorted(found, key=lambda e: (rank[e.file], e.line or 0, e.column or 0))

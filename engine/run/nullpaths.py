"""Where a case's explicit nulls fall on the paths a version's rules read.

Input: a case (a dict as JSON gives it) and the case paths some rules read, outside lists. Output: the paths (or
the objects above them) that the case marks unknown with an explicit null, in the order of the first path read
under each: what the evaluator judges by three-valued logic rather than by the fused function.

The paths are given once as :class:`ReadPaths`, which knows, for every prefix of every path, the first path under
it. A case is then searched once for its own nulls (few, usually: :func:`null_places`), each looked up there for
each version, instead of every path being walked down the case: a record with a null costs about what its nulls cost, not what the ~80 paths of the
after-sales rules do (bench/README: about 20 µs a record). ``tests/test_nullpaths.py`` holds the answer equal to
walking each path down the case, as it was found before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["ReadPaths", "has_null", "null_paths", "null_places"]

Path = tuple[str, tuple[str, ...], Any]  # (the path's text, its keys, anything)


class ReadPaths:
    """Paths as :func:`null_paths` takes them, with the first path under each prefix of one (made once)."""

    __slots__ = ("paths", "first")

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths: tuple[Path, ...] = tuple(paths)
        self.first: dict[tuple[str, ...], int] = {}
        for n, (_, keys, _) in enumerate(self.paths):
            for i in range(1, len(keys) + 1):
                self.first.setdefault(keys[:i], n)

    def named(self, places: list[tuple[str, ...]]) -> tuple[str, ...]:
        """:func:`null_paths` from the case's :func:`null_places`: each place that is a path or a prefix of one,
        ordered by the first path under it. (A null has nothing under it, so no path has two of them on its way:
        the walk down a path meets the one found here.)"""
        first = self.first
        found = sorted((n, ".".join(place)) for place in places if (n := first.get(place)) is not None)
        return tuple(p for _, p in found)

    def __len__(self) -> int:
        return len(self.paths)


def has_null(case: dict[str, Any]) -> bool:
    """Whether the case holds an explicit null outside lists (the common case, none, costs a few C-level scans)."""
    stack = [case]
    while stack:
        values = stack.pop().values()
        if None in values:
            return True
        for v in values:
            if type(v) is dict:
                stack.append(v)
    return False


def null_paths(case: dict[str, Any], paths: ReadPaths) -> tuple[str, ...]:
    """The paths (or the objects above them) a case marks unknown with an explicit null."""
    if not has_null(case):
        return ()
    return paths.named(null_places(case))


def null_places(case: dict[str, Any]) -> list[tuple[str, ...]]:
    """The places (keys from the case down) of the case's explicit nulls outside lists, in no particular order."""
    places: list[tuple[str, ...]] = []
    stack: list[tuple[tuple[str, ...], dict[str, Any]]] = [((), case)]
    while stack:
        at, node = stack.pop()
        for key, value in node.items():
            if value is None:
                places.append((*at, key))
            elif type(value) is dict:
                stack.append(((*at, key), value))
    return places

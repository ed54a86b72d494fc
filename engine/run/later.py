"""Values of a verdict computed on first use: the embedding API's explanations and recorded inputs (most
callers only look at outcomes, and explaining re-runs the reference interpreter)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

__all__ = ["Later", "LaterInputs", "Made", "OwnInputs", "recorded"]


class Later(Sequence[dict[str, Any]]):
    """A verdict's explanation, computed on first use (the embedding API's default: most callers only
    look at outcomes, and explaining re-runs the reference interpreter)."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], tuple[dict[str, Any], ...]]) -> None:
        self._make: Callable[[], tuple[dict[str, Any], ...]] | None = make
        self._value: tuple[dict[str, Any], ...] = ()

    def _get(self) -> tuple[dict[str, Any], ...]:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __eq__(self, other: object) -> bool:
        return tuple(self._get()) == (tuple(other) if isinstance(other, Sequence) else other)

    def __repr__(self) -> str:
        return repr(self._get())


class Made(Mapping[str, Any]):
    """A mapping that is the dict :meth:`_get` makes (once) when it is first used."""

    __slots__ = ()

    def _get(self) -> dict[str, Any]:
        raise NotImplementedError

    def copy(self) -> dict[str, Any]:
        """A plain dict of it (as ``dict(self)``, without a Python call for each key)."""
        return dict(self._get())

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


class LaterInputs(Made):
    """The case values a verdict read, computed on first use (see :class:`Later`)."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        self._make: Callable[[], dict[str, Any]] | None = make
        self._value: dict[str, Any] = {}

    def _get(self) -> dict[str, Any]:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value


class OwnInputs(Made):
    """One rule's recorded inputs in full detail: the values of its own paths (``paths``, in its order) among
    those its version read from the case (``union``: run.inputs reads each path once for all the rules),
    made into a dict of its own when first used. A full record lists ``union`` once (:func:`recorded`), so
    most verdicts never make theirs."""

    __slots__ = ("union", "paths", "_own")
    union: dict[str, Any]
    paths: tuple[str, ...]
    _own: dict[str, Any] | None

    def _get(self) -> dict[str, Any]:
        own = self._own
        if own is None:
            union = self.union
            own = self._own = {p: union[p] for p in self.paths if p in union}
        return own

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OwnInputs):
            other = other._get()
        return self._get() == (dict(other.items()) if isinstance(other, Mapping) and type(other) is not dict
                               else other)

    __hash__ = None  # type: ignore[assignment]  # (a mapping)

    def __reduce__(self) -> Any:  # (to another process: the plain dict)
        return dict, (self._get(),)


def recorded(verdicts: Sequence[Any], fresh: bool = True) -> dict[str, Any]:
    """What a full record lists as read: its verdicts' ``inputs`` merged in order (a path keeps its first place
    and its last value). When the verdict of every rule holds an :class:`OwnInputs`, that merge is the merge of
    their versions' unions, each once (every rule of a version is there, and their paths, in order, make its
    union: run.inputs), and no verdict's own dict is made. A verdict of a whole policy (``rule`` None: no version
    applied) reads nothing. A fresh dict either way, unless ``fresh`` is False (the caller only reads it: a version's
    union may then be given as it is)."""
    unions: list[dict[str, Any]] = []
    last = None
    for verdict in verdicts:
        got = verdict.inputs
        if type(got) is OwnInputs:
            union = got.union
            if union is not last:  # (a version's verdicts come together: each union once)
                unions.append(union)
                last = union
        elif got or verdict.rule is not None:  # (a trace's reads, a waiver's...): the verdicts one by one
            out: dict[str, Any] = {}
            for each in verdicts:
                mine = each.inputs
                if type(mine) is OwnInputs:
                    mine = mine._get()  # (its dict, not the Mapping protocol's key-by-key reads)
                if mine:
                    out.update(mine)
            return out
    if len(unions) == 1:
        return unions[0].copy() if fresh else unions[0]
    out = {}
    for union in unions:
        out.update(union)
    return out

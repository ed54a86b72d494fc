"""Values of a verdict computed on first use: the embedding API's explanations and recorded inputs (most
callers only look at outcomes, and explaining re-runs the reference interpreter)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

__all__ = ["Later", "LaterInputs"]


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


class LaterInputs(Mapping[str, Any]):
    """The case values a verdict read, computed on first use (see :class:`Later`)."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        self._make: Callable[[], dict[str, Any]] | None = make
        self._value: dict[str, Any] = {}

    def _get(self) -> dict[str, Any]:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return repr(self._get())

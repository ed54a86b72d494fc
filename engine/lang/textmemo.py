"""A pure function of a text, its answers remembered by the text's value in bounded memory.

Input: ``fn(text) -> value``, free of effects. Output: the same function, answering from a table of the texts it was
given lately. Why: a chat case's message is normalised by a dozen rules and folded by five finders (3 µs and 1 µs a
call: bench/README, thirty-ninth session). Bounded: at most ``entries`` texts, each of at most ``longest``
characters (a longer one is computed at each call), the table emptied when full; only an exact ``str`` is kept (a
subclass may compare or hash as it likes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["remembered_texts"]


def remembered_texts(fn: Callable[[str], Any], entries: int = 256, longest: int = 2048) -> Callable[[str], Any]:
    """``fn`` with its answers remembered (see the module); the table is the function's ``table`` attribute."""
    table: dict[str, Any] = {}

    def remembered(text: str) -> Any:
        if type(text) is not str or len(text) > longest:
            return fn(text)
        done = table.get(text)
        if done is None:
            done = fn(text)
            if len(table) >= entries:
                table.clear()
            table[text] = done
        return done
    remembered.table = table  # type: ignore[attr-defined]
    remembered.entries, remembered.longest = entries, longest  # type: ignore[attr-defined]
    return remembered

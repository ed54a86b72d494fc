"""The core standard library of the condition language, as a plugin."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from policy_eval.lang.functions import Function, core_functions
from policy_eval.lang.types import BOOL, STRING, list_of
from policy_eval.lang.values import UNKNOWN
from policy_eval.plugins.hookspecs import hookimpl

__all__ = ["policy_eval_functions", "in_category"]

CATEGORY_SEPARATOR = ">"


def _split(path: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in path.split(CATEGORY_SEPARATOR))


# The special-goods list and category paths repeat on every case. Paths come from case data, so only
# short ones are kept: the cache holds at most 4096 x 256 characters, whatever the records hold.
_cached_split = lru_cache(maxsize=4096)(_split)


def _segments(path: str) -> tuple[str, ...]:
    return _cached_split(path) if len(path) <= 256 else _split(path)


def in_category(path: str, categories: Sequence[str]) -> bool:
    """True when the category path falls under one of the categories.

    A path such as ``水果生鲜>水果`` is compared segment by segment, never as a
    substring: an entry without ``>`` matches when it equals one segment
    (``水果`` matches ``水果生鲜>水果``, ``汽车`` matches ``汽车>新能源整车``, but
    ``汽车`` does not match ``汽车用品>坐垫``); an entry with ``>`` matches when
    its segments are a leading run of the path's (``汽车>新能源整车`` matches
    ``汽车>新能源整车>轿车``). Blanks around ``>`` are ignored.
    """
    last = _kept.get(id(categories))
    if last is None or last[0] is not categories or categories != last[1]:  # new, or changed since
        last = _wanted(categories)
    found = last[4].get(path)
    return _answered(last[4], path, last[2], last[3]) if found is None else found


def bind(categories: Sequence[str]) -> tuple[Callable[[str, Sequence[str]], bool], dict[str, bool]]:
    """``in_category`` at a call whose list the policy holds (a literal or a parameter), made when the policy is
    checked (lang.functions.Function.bind): the entries split now, once, rather than found by the list's identity
    on each call, and the answers kept by path in a dict of the call's own, which generated code looks the path
    up in before it calls (a case's category recurs across cases, so most calls are that one look-up)."""
    singles, multis = _entries(categories)
    answers: dict[str, bool] = {}

    def in_category_of(path: str, categories: Sequence[str]) -> bool:  # (the list: the one bound, unread)
        found = answers.get(path)
        return _answered(answers, path, singles, multis) if found is None else found

    return in_category_of, answers


def _answered(
    answers: dict[str, bool], path: str, singles: frozenset[str], multis: tuple[tuple[str, ...], ...]
) -> bool:
    """Whether the path falls under the entries (a path not in ``answers``), kept there when short: the one
    way both ``in_category`` and a bound call answer a path asked for the first time."""
    segs = _segments(path)
    found = not singles.isdisjoint(segs) or any(segs[: len(want)] == want for want in multis)
    if len(path) <= _ANSWERED:  # (a path is case data: a long one is not kept)
        if len(answers) >= _ANSWERS:
            answers.clear()
        answers[path] = found
    return found


_Wanted = tuple[Any, Any, frozenset[str], tuple[tuple[str, ...], ...], dict[str, bool]]


def _wanted(categories: Sequence[str]) -> _Wanted:
    """The categories' entries split once: (the list, a copy of it, the one-segment entries, the others, the
    answers given for it by path: a case's category recurs across cases, so most calls are one look-up).

    Kept by the list's identity (``_kept``): a policy passes the same few lists (parameters) on every case, in
    turn (the after-sales rules pass five), so splitting and stripping their entries was most of a call. The
    entry holds the list itself, so its id cannot be reused while kept; the copy says whether the list was
    changed in place since. At most ``_KEEP`` lists are kept (lists built from case data are new objects on
    every case): the table is emptied when full. One tuple per entry, replaced whole: safe across threads."""
    copy = list(categories) if type(categories) is list else tuple(categories)
    if len(_kept) >= _KEEP:
        _kept.clear()
    kept: _Wanted = (categories, copy, *_entries(categories), {})
    _kept[id(categories)] = kept
    return kept


def _entries(categories: Sequence[str]) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """The categories' entries split: the one-segment entries, and the others' segments (blank entries left out)."""
    singles: set[str] = set()
    multis: list[tuple[str, ...]] = []
    for i, entry in enumerate(categories):
        if not isinstance(entry, str):  # (a null written in the list, or one in a case's: the verdict's message, not a crash)
            raise ValueError(f"category {i + 1} of the list is {_what(entry)}, not text")
        if not entry.strip():
            continue
        want = _segments(entry)
        if len(want) == 1:
            singles.add(want[0])
        else:
            multis.append(want)
    return frozenset(singles), tuple(multis)


def _what(entry: Any) -> str:
    return "null" if entry is None else "unknown (a null in the case)" if entry is UNKNOWN else type(entry).__name__


_KEEP = 64
_ANSWERS = 512  # paths answered per list, each of at most _ANSWERED characters (64 lists: a few MiB at most)
_ANSWERED = 64
_kept: dict[int, _Wanted] = {}


@hookimpl
def policy_eval_functions() -> list[Function]:
    return [*core_functions(),
            Function("in_category", (STRING, list_of(STRING)), BOOL, in_category,
                     doc="the category path (segments joined by '>') falls under one of the categories, "
                         "matched by whole segment", scans=(0, 1), bind=bind)]

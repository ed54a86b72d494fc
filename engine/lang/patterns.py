"""Regular expressions on RE2 (linear time), compiled once, held in bounded memory.

Input: a pattern text. Output: a compiled RE2 regex, or ``ValueError`` saying why the pattern is refused.

Two caches. Patterns written in policies and case schemas are checked when they load (:func:`pin_pattern`)
and stay compiled: there are as many as the loaded files hold (a least-recently-used bound of
:data:`PINNED_MAX` keeps a long-lived process that loads many rulebooks from growing without end).
Patterns that arrive in case data (``matches(text, case.rule)``) are untrusted and unbounded in number,
so their cache is bounded by memory, not only by count: each is compiled with a smaller RE2 memory
budget (:data:`DATA_MAX_MEM`, program and DFA caches together), and the sum of those budgets over the
cache stays within :data:`DATA_CACHE_BYTES`; the least recently used are dropped first. A pattern that
needs more memory than its budget is refused ("pattern too large").
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

import re2

__all__ = ["MAX_PATTERN_LENGTH", "PINNED_MAX", "DATA_MAX_MEM", "DATA_CACHE_BYTES", "compile_pattern", "pin_pattern",
           "cache_info", "found", "found_kept", "pinned"]

MAX_PATTERN_LENGTH = 2000
PINNED_MAX = 4096
PINNED_MAX_MEM = 8 << 20  # RE2's budget for a pattern a policy or schema author wrote (checked at load)
DATA_MAX_MEM = 1 << 20  # ... and for one that came in a case record
DATA_CACHE_BYTES = 32 << 20  # the most the case-data patterns may hold together (the sum of their budgets)

_pinned: OrderedDict[str, Any] = OrderedDict()
_data: OrderedDict[str, Any] = OrderedDict()
_lock = Lock()


def _compile(pattern: str, max_mem: int) -> Any:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    options = re2.Options()
    options.max_mem = max_mem
    options.log_errors = False  # the error is reported to the author, located; not on stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ValueError(f"invalid pattern {pattern!r}: {detail}") from None


def _cached(cache: OrderedDict[str, Any], pattern: str, max_mem: int, limit: int) -> Any:
    """``pattern`` from ``cache`` (least recently used first out, at most ``limit`` kept), compiled with
    ``max_mem`` when it is not there."""
    with _lock:
        found = cache.get(pattern)
        if found is not None:
            cache.move_to_end(pattern)
            return found
    regex = _compile(pattern, max_mem)
    with _lock:
        cache[pattern] = regex
        while len(cache) > limit:
            cache.popitem(last=False)
    return regex


def pin_pattern(pattern: str) -> Any:
    """Compile a pattern written in a policy or schema (at load) and keep it compiled."""
    return _cached(_pinned, pattern, PINNED_MAX_MEM, PINNED_MAX)


def compile_pattern(pattern: str) -> Any:
    """The compiled regex for ``pattern``: a pinned one (written in a policy), else one from the
    memory-bounded cache of patterns that came with case data."""
    found = _pinned.get(pattern)
    if found is not None:
        return found
    return _cached(_data, pattern, DATA_MAX_MEM, DATA_CACHE_BYTES // DATA_MAX_MEM)


def pinned(pattern: str) -> Any:
    """The compiled regex of a pattern written in a policy or schema (:func:`pin_pattern`), else None."""
    return _pinned.get(pattern)


def cache_info() -> dict[str, int]:
    """How many patterns each cache holds and the memory budget the case-data ones hold together."""
    return {"pinned": len(_pinned), "data": len(_data), "data_bytes": len(_data) * DATA_MAX_MEM}


# ``found``: RE2's own matcher, under the google-re2 wrapper's Python, as rulebook.schemaregex calls it (another
# release of the wrapper, without it: found() asks search())
_UNANCHORED: Any = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
_NO_SPAN = (-1, -1)


def found(regex: Any, text: str, errors: str = "strict") -> bool:
    """Whether ``regex`` (compiled here) matches anywhere in ``text``: ``regex.search(text) is not None``, without
    making the match. The wrapper's ``search`` builds a generator, maps byte offsets to character offsets (a Python
    step per match, for Chinese text) and a match object: 1.1 µs for no match, 3 µs for one, where RE2's matcher,
    called on the text's UTF-8 bytes, takes 0.5 (bench/README, thirty-ninth session). Most texts a conduct rule
    searches hold nothing it looks for, so the finders ask this first. ``errors``: how a lone surrogate is encoded
    (``"strict"``: it raises, as ``search`` does; rulebook.schemaregex passes ``"surrogatepass"``: bytes no pattern
    character matches)."""
    raw = getattr(regex, "_regexp", None)
    if raw is None or _UNANCHORED is None or type(text) is not str:
        return regex.search(text) is not None
    data = text.encode("utf-8", errors)  # (strict: as the wrapper encodes it, a lone surrogate raising the same)
    spans = raw.Match(_UNANCHORED, data, 0, len(data))
    return bool(spans[0] != _NO_SPAN)


# found()'s answers remembered by (pattern, text): a chat case's rules ask the same question of the same message
# again and again (the condition, then the message's counts and evidence: a third of 305 searches a chat case repeat
# one made before), and a search is 0.5-1 µs where a look-up is 60 ns. Exact texts only (a subclass may redefine
# what it holds), of at most _KEPT_TEXT characters; the table is emptied whole when full, so it holds at most
# _KEPT entries; a pattern is kept by the object (compiled patterns cannot change, and holding it keeps its id its
# own). An error (a lone surrogate) is raised each time, never kept.
_KEPT: dict[tuple[Any, str], bool] = {}
_KEPT_MAX = 1024  # (a chat case asks ~300 distinct questions: room for a few cases, at most ~8 MB of texts)
_KEPT_TEXT = 2048


def found_kept(regex: Any, text: str) -> bool:
    """:func:`found` (strict), remembered (see above), for a pattern written in a policy (:func:`pinned`, or a list
    of them joined at load): never one that came with case data, whose cache bounds their memory, which a
    reference here would escape."""
    if type(text) is not str or len(text) > _KEPT_TEXT:
        return found(regex, text)
    key = (regex, text)
    hit = _KEPT.get(key)
    if hit is None:
        hit = found(regex, text)
        if len(_KEPT) >= _KEPT_MAX:
            _KEPT.clear()
        _KEPT[key] = hit
    return hit

"""Whether any of a list of RE2 patterns matches a text, in one search where the list is written in the policy.

``any_pattern(text, patterns)`` is ``any p in patterns: len(find_pattern(text, p)) > 0`` and
``any_pattern_unless(text, patterns, unless)`` is ``any p in patterns: len(find_pattern_unless(text, p, unless)) >
0``: the same answer on every text (tests/test_patternsets.py holds them equal on the bundled lists and the golden
chats). What differs is the work. A conduct rule looks for some 20 to 60 patterns in each merchant message, and
most messages match none: searched one by one, each pattern costs a call into RE2 that encodes the text again
(about two thirds of a chat case's time went there). A list written in the policy is joined into one alternation
``(?:p1)|(?:p2)|…`` when the policy loads, so a message none of them matches costs one search; where the
alternation matches, ``any_pattern`` is answered (some pattern matched), and ``any_pattern_unless`` (plugins.conduct,
beside ``find_pattern_unless``) looks at each pattern as before, since its exceptions are judged per pattern's own
matches.

A list that comes from case data is never joined (its patterns go one by one through the bounded cache of
lang.patterns, as ``find_pattern`` takes them), nor is one whose alternation RE2 refuses within its memory budget:
both are searched pattern by pattern, with the same answer.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Any

import re2

from policy_eval.lang.patterns import PINNED_MAX_MEM, compile_pattern, found, found_kept, pin_pattern

__all__ = ["any_pattern", "joined_for", "join_patterns", "check_patterns", "join_words", "words_joined_for",
           "check_words", "JOINED_MAX"]

JOINED_MAX = 256  # joined lists kept (a policy holds a few dozen; a long-lived process loading many stays bounded)

_joined: OrderedDict[tuple[str, ...], Any] = OrderedDict()
_lock = Lock()


def _kept(cache: OrderedDict[tuple[str, ...], Any], key: tuple[str, ...], build: Callable[[], Any]) -> Any:
    """``cache[key]``, built by ``build`` when absent; the least recently used go first beyond :data:`JOINED_MAX`."""
    with _lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = build()
    with _lock:
        cache[key] = value
        while len(cache) > JOINED_MAX:
            cache.popitem(last=False)
    return value


def _compile_joined(alternatives: list[str]) -> Any:
    """One alternation of the given (already checked) regex texts, or None where RE2 refuses it within its budget."""
    options = re2.Options()
    options.max_mem = PINNED_MAX_MEM * 4
    options.log_errors = False
    try:
        return re2.compile("|".join(alternatives), options)
    except re2.error:
        return None


def join_patterns(patterns: list[str]) -> Any:
    """Compile the alternation of a list written in a policy (each pattern checked by ``pin_pattern`` first) and
    keep it; None where RE2 cannot compile it within its memory budget (the list is then searched one by one)."""
    key = tuple(patterns)

    def build() -> Any:
        for p in key:
            pin_pattern(p)  # (each is refused on its own, with its own message, before any join)
        return _compile_joined([f"(?:{p})" for p in key])
    return _kept(_joined, key, build)


def joined_for(patterns: list[str]) -> Any:
    """The joined alternation of a list joined at load, else None (unknown list, or not joinable)."""
    return _joined.get(tuple(patterns)) if patterns else None


def any_pattern(text: str, patterns: list[str]) -> bool:
    """Whether any of the patterns matches somewhere in the text."""
    joined = joined_for(patterns)
    if joined is not None:  # (a list written in the policy: its answers on a text are remembered)
        return found_kept(joined, text)
    return any(found(compile_pattern(p), text) for p in patterns)


def check_patterns(position: int, value: Any) -> None:
    """The pattern list (the second argument) written in the policy: each checked, then joined, at load."""
    if position == 1 and isinstance(value, list) and all(isinstance(p, str) for p in value):
        join_patterns(value)


# The same for a list of words (plugins.conduct.find_words): the lower-cased words, and one search of their
# alternation (each escaped) that tells a text holding none of them, which is most messages, in one call.
#
# That alternation is Python's ``re``, not RE2: it holds escaped literals only (no repetition, no group, no class),
# so a search tries each word at most once at each position of the text, and its cost is bounded by the text's
# length times the list's, as the word-by-word ``str.find`` that follows it already is. On a chat message RE2's
# Python binding costs about 2 µs a search (it encodes the text, then decodes the match's offsets), where ``re``
# answers in 0.2-0.45 µs (bench/README.md, "Word lists searched by re").
_words: OrderedDict[tuple[str, ...], tuple[list[str], Any]] = OrderedDict()


def join_words(words: list[str]) -> tuple[list[str], Any]:
    """A word list written in a policy: its words lower-cased (empty ones dropped, as find_words skips them) and
    the alternation of the words, escaped (``re``; see above), kept."""
    key = tuple(words)

    def build() -> tuple[list[str], Any]:
        lowered = [w.lower() for w in key if w]
        return lowered, (re.compile("|".join(re.escape(w) for w in lowered)) if lowered else None)
    entry: tuple[list[str], Any] = _kept(_words, key, build)
    return entry


def words_joined_for(words: list[str]) -> tuple[list[str], Any] | None:
    """What :func:`join_words` kept for a list joined at load, else None (a list from the case)."""
    return _words.get(tuple(words)) if words else None


def check_words(position: int, value: Any) -> None:
    """The word list (the second argument) written in the policy: joined at load."""
    if position == 1 and isinstance(value, list) and all(isinstance(w, str) for w in value):
        join_words(value)

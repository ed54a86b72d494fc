"""Words and patterns found in a text, with the exceptions an ``unless`` pattern makes (conduct detectors).

``find_words`` and ``find_pattern`` return their evidence as ``match`` records (``kind``, ``text``, ``start``,
``end``), as every detector of plugins.conduct does (which registers them); the ``_unless`` forms drop the
occurrences a refusal, a warning or a longer harmless word around them excuses. Lists written in the policy are
joined at load (plugins.patternsets). All patterns are RE2 (linear time): they run on untrusted text.
"""

from __future__ import annotations

import bisect
from typing import Any

from policy_eval.lang.functions import compile_pattern, pin_pattern
from policy_eval.lang.patterns import found as _any_match
from policy_eval.lang.patterns import found_kept as _kept_match
from policy_eval.lang.patterns import pinned
from policy_eval.plugins.patternsets import check_patterns, check_words, joined_for, words_joined_for

__all__ = ["Match", "find_words", "find_pattern", "find_words_unless", "find_pattern_unless", "any_pattern_unless"]

Match = dict[str, Any]


def _m(kind: str, text: str, start: int, end: int) -> Match:
    return {"kind": kind, "text": text[start:end], "start": start, "end": end}


def find_words(text: str, words: list[str]) -> list[Match]:
    """Every occurrence of any of the words (case-insensitive for Latin letters). A list written in the policy was
    lower-cased and joined at load (plugins.patternsets): a text holding none of its words costs one search."""
    out: list[Match] = []
    lowered = text.lower()
    joined = words_joined_for(words)
    if joined is not None:
        if joined[1] is not None and not _any_match(joined[1], lowered):
            return out
        words = joined[0]
    for word in words:
        if not word:
            continue
        w = word.lower()
        start = lowered.find(w)
        while start >= 0:
            out.append(_m("word", text, start, start + len(w)))
            start = lowered.find(w, start + len(w))
    out.sort(key=lambda m: m["start"])
    return out


def find_pattern(text: str, pattern: str) -> list[Match]:
    """Matches of an RE2 pattern (validated when the policy loads)."""
    regex = compile_pattern(pattern)
    if not _any_match(regex, text):
        return []
    return [_m("pattern", text, m.start(), m.end()) for m in regex.finditer(text)]


# Between two things one refusal names ("不支持私下交易、加我微信"), when not nothing: one of these.
_LISTED = frozenset({"、", "和", "或", "及", "与", "/"})


def _excuses(m: Any, start: int, end: int) -> bool:
    """Whether one ``unless`` match excuses the occurrence [start, end): it lies inside the match, and where
    the pattern has groups, it begins where group 1 ends (a refusal or a warning right before the word:
    不支持|私下交易, 谨防|刷单) and, with a group 2, ends where group 2 begins (the phrase closing right after
    it: 不能|加我微信|哦，)."""
    if not (m.start() <= start and end <= m.end()):
        return False
    groups = m.re.groups
    if groups >= 1 and m.end(1) != start:
        return False
    return not (groups >= 2 and m.start(2) != end)


def _unless(text: str, found: list[Match], unless: list[str]) -> list[Match]:
    """``found`` without the occurrences an ``unless`` pattern (RE2, run on the lower-cased text) excuses
    (:func:`_excuses`: 去死皮 holds 去死; 平台不支持 | 私下交易 | ，), and each occurrence listed right after an
    excused one (不支持私下交易、加我微信). Each pattern is searched on its own, so one cannot hide another's
    match. A pattern's matches do not overlap, so at most one of them can hold an occurrence: it is found by
    bisection, and the work is n log n in the occurrences and matches, not their product."""
    if not found or not unless:
        return found
    lowered = text.lower()
    per_pattern = []
    for p in unless:
        if p:
            regex = pinned(p)
            if regex is not None:  # (written in the policy: its answers on a text are remembered)
                hit = _kept_match(regex, lowered)
            else:  # (it came with the case)
                regex = compile_pattern(p)
                hit = _any_match(regex, lowered)
            matches = list(regex.finditer(lowered)) if hit else None
            if matches:
                per_pattern.append(([m.start() for m in matches], matches))
    if not per_pattern:
        return found
    kept: list[Match] = []
    excused_ends: set[int] = set()
    for f in sorted(found, key=lambda m: (m["start"], m["end"])):
        start, end = f["start"], f["end"]
        holders = (matches[i] for starts, matches in per_pattern if (i := bisect.bisect_right(starts, start) - 1) >= 0)
        if (any(_excuses(m, start, end) for m in holders) or start in excused_ends
                or (start - 1 in excused_ends and lowered[start - 1] in _LISTED)):
            excused_ends.add(end)
        else:
            kept.append(f)
    return kept


def find_words_unless(text: str, words: list[str], unless: list[str]) -> list[Match]:
    """:func:`find_words`, except occurrences inside a match of an ``unless`` pattern: a longer harmless word
    (去死皮 holds 去死), a refusal (不能加我微信) or a warning (谨防刷单) around the listed word."""
    return _unless(text, find_words(text, words), unless)


def find_pattern_unless(text: str, pattern: str, unless: list[str]) -> list[Match]:
    """:func:`find_pattern`, except matches inside a match of an ``unless`` pattern."""
    return _unless(text, find_pattern(text, pattern), unless)


def any_pattern_unless(text: str, patterns: list[str], unless: list[str]) -> bool:
    """Whether any pattern has a match no ``unless`` pattern excuses: ``any p in patterns:
    len(find_pattern_unless(text, p, unless)) > 0``, with one search first where none of them matches
    (plugins.patternsets)."""
    joined = joined_for(patterns)
    if joined is not None and not _kept_match(joined, text):
        return False
    return any(len(find_pattern_unless(text, p, unless)) > 0 for p in patterns)


def _check_unless(position: int, value: Any) -> None:
    """The ``unless`` patterns (the third argument), written in the policy: checked at load, kept compiled; the
    words (the second), joined (plugins.patternsets)."""
    check_words(position, value)
    if position == 2 and isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                pin_pattern(item)


def _check_pattern(position: int, value: Any) -> None:
    if position == 1 and isinstance(value, str):
        pin_pattern(value)  # written in the policy: checked at load, kept compiled
    _check_unless(position, value)


def _check_patterns_unless(position: int, value: Any) -> None:
    check_patterns(position, value)
    _check_unless(position, value)

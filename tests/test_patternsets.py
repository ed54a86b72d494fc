"""any_pattern / any_pattern_unless (plugins/patternsets.py, plugins/conduct.py) give the answer of the pattern-by-
pattern quantifier they replace, on every bundled pattern list and every message of the golden chats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_eval.plugins import patternsets
from policy_eval.plugins.conduct import any_pattern_unless, find_pattern, find_pattern_unless
from policy_eval.plugins.patternsets import any_pattern, join_patterns, joined_for

ROOT = Path(__file__).resolve().parent.parent
PARAMS = yaml.safe_load((ROOT / "policies" / "conduct" / "v1.yaml").read_text(encoding="utf-8"))["params"]
PATTERN_LISTS = {name: p["value"] for name, p in PARAMS.items()
                 if name.endswith("_patterns") and isinstance(p.get("value"), list)}
CONTEXT_LISTS = {name: p["value"] for name, p in PARAMS.items()
                 if name.endswith("_contexts") and isinstance(p.get("value"), list)}


def _messages(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for v in node.values() for t in _messages(v)]
    if isinstance(node, list):
        return [t for v in node for t in _messages(v)]
    return []


TEXTS = sorted({t for f in sorted((ROOT / "tests" / "golden").glob("conduct*.yaml"))
                for t in _messages(yaml.safe_load(f.read_text(encoding="utf-8")))})


def _one_by_one(text: str, patterns: list[str]) -> bool:
    return any(len(find_pattern(text, p)) > 0 for p in patterns)


def test_the_corpus_is_large_and_every_list_joins() -> None:
    assert len(TEXTS) > 500 and len(PATTERN_LISTS) >= 8
    for patterns in PATTERN_LISTS.values():
        assert join_patterns(patterns) is not None
        assert joined_for(patterns) is not None


@pytest.mark.parametrize("name", sorted(PATTERN_LISTS))
def test_any_pattern_equals_the_quantifier_on_the_golden_chats(name: str) -> None:
    patterns = PATTERN_LISTS[name]
    join_patterns(patterns)
    hits = 0
    for text in TEXTS:
        for variant in (text, text.lower()):
            expected = _one_by_one(variant, patterns)
            assert any_pattern(variant, patterns) is expected, (name, variant)
            hits += expected
    assert 0 < hits < 2 * len(TEXTS)  # the corpus has messages each list matches and messages it does not


@pytest.mark.parametrize("name", sorted(PATTERN_LISTS))
def test_any_pattern_unless_equals_the_quantifier_on_the_golden_chats(name: str) -> None:
    patterns = PATTERN_LISTS[name]
    join_patterns(patterns)
    unless = [c for contexts in CONTEXT_LISTS.values() for c in contexts][:40]
    for text in TEXTS:
        variant = text.lower()
        expected = any(len(find_pattern_unless(variant, p, unless)) > 0 for p in patterns)
        assert any_pattern_unless(variant, patterns, unless) is expected, (name, variant)


@pytest.mark.parametrize("patterns, text, expected", [
    (["x", "(?i)abc"], "xyz ABC", True),        # a flag inside its own group only
    (["(?i)abc", "def"], "DEF", False),         # ... which does not reach the next pattern
    (["x", "^a"], "ba", False),                 # an anchor stays an anchor inside the alternation
    (["x", "^a"], "ab", True),
    (["b$", "q"], "ab\nc", False),
    (["a|b", "c"], "zzb", True),                # a pattern's own alternation stays inside its group
    ([""], "anything", True),                   # the empty pattern matches, as find_pattern's does
    ([], "anything", False),
])
def test_join_keeps_each_patterns_meaning(patterns: list[str], text: str, expected: bool) -> None:
    join_patterns(patterns)
    assert any_pattern(text, patterns) is expected
    assert _one_by_one(text, patterns) is expected


def test_a_list_not_written_in_a_policy_is_searched_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patternsets, "_joined", patternsets.OrderedDict())
    from_case = ["никогда", "(?i)CASE-[0-9]+"]
    assert joined_for(from_case) is None
    assert any_pattern("see case-42", from_case) is True
    assert any_pattern("nothing", from_case) is False
    assert joined_for(from_case) is None  # never joined at evaluation time


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="微信vxqQ：:加我群裙号0123456789 -。.@at傻逼你是nt爬滚🐷不能", max_size=40))
def test_random_texts(text: str) -> None:
    for patterns in PATTERN_LISTS.values():
        join_patterns(patterns)
        assert any_pattern(text, patterns) is _one_by_one(text, patterns)


WORD_LISTS = {name: p["value"] for name, p in PARAMS.items()
              if name.endswith("_words") and isinstance(p.get("value"), list)}


def _reference_find_words(text: str, words: list[str]) -> list[dict[str, Any]]:
    """find_words as it was before its lists were joined: each word looked for in the whole lower-cased text."""
    out = []
    lowered = text.lower()
    for word in words:
        if not word:
            continue
        w = word.lower()
        start = lowered.find(w)
        while start >= 0:
            out.append({"start": start, "end": start + len(w), "text": text[start:start + len(w)]})
            start = lowered.find(w, start + len(w))
    out.sort(key=lambda m: m["start"])
    return out


def _spans(found: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    return [(m["start"], m["end"], m["text"]) for m in found]


@pytest.mark.parametrize("name", sorted(WORD_LISTS))
def test_find_words_on_a_joined_list_finds_what_it_found_before(name: str) -> None:
    from policy_eval.plugins.conduct import find_words
    from policy_eval.plugins.patternsets import join_words, words_joined_for

    words = WORD_LISTS[name]
    join_words(words)
    assert words_joined_for(words) is not None and words_joined_for(words)[1] is not None
    hits = 0
    for text in TEXTS:
        expected = _spans(_reference_find_words(text, words))
        assert _spans(find_words(text, words)) == expected, (name, text)
        hits += bool(expected)
    assert hits > 0


def test_find_words_on_a_list_from_the_case_is_not_joined() -> None:
    from policy_eval.plugins.conduct import find_words
    from policy_eval.plugins.patternsets import words_joined_for

    words = ["Ünique-Word-From-A-Case", "", "ZZ"]
    assert words_joined_for(words) is None
    assert _spans(find_words("an ünique-word-from-a-case and zz", words)) == _spans(
        _reference_find_words("an ünique-word-from-a-case and zz", words))
    assert words_joined_for(words) is None


def test_find_words_reads_regex_characters_in_a_joined_list_literally() -> None:
    """The joined prefilter (Python's ``re`` over escaped words) matches each word as written: a dot, a bracket
    or a star in a word is that character, never an operator (a.b does not find axb; c* does not find c)."""
    from policy_eval.plugins.conduct import find_words
    from policy_eval.plugins.patternsets import join_words

    words = ["a.b", "(x", "c*", "[vx]", "d|e"]
    join_words(words)
    assert find_words("axb (y c vx d e", words) == []
    found = [m["text"] for m in find_words("a.b (x c* [VX] d|e", words)]
    assert found == ["a.b", "(x", "c*", "[VX]", "d|e"]

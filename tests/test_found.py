"""``lang.patterns.found(regex, text)``, RE2's own matcher on the text's UTF-8 bytes, answers as the google-re2
wrapper's ``regex.search(text) is not None`` does: on every pattern of the bundled conduct policy and on patterns
with anchors, empty matches, classes and case folding, over Chinese, full-width, ASCII and empty texts; a lone
surrogate raises what ``search`` raises. (The conduct finders ask it before making any match: bench/README,
thirty-ninth session.)"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from policy_eval.lang import patterns
from policy_eval.lang.patterns import compile_pattern, found, found_kept, pin_pattern, pinned

ROOT = Path(__file__).resolve().parent.parent
EDGES = ["", "^", "$", "^$", "a*", "(?i)ＡＢ|ab", "[\u4e00-\u9fff]+", "\\bwx\\b", "加我(微信|vx)", "(?s).", "\\d{11}",
         "^亲", "吧$", "[^a-z]", "(?i)https?://", "x{0}"]
ALPHABET = "亲加我微信vxVX淘宝店 ，。：:/.wwwcom１２３0123456789abcABC\n\u3000ｗｘ@"


def _policy_patterns() -> list[str]:
    """The patterns the bundled conduct policy's parameters hold (the lists the finders search with)."""
    out: list[str] = []
    for path in (ROOT / "policies" / "conduct").glob("*.yaml"):
        params = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("params", {})
        for name, spec in params.items():
            value = spec.get("value") if isinstance(spec, dict) else spec
            if "pattern" in name or name.endswith("_unless") or "context" in name:
                values = value if isinstance(value, list) else [value]
                out += [v for v in values if isinstance(v, str)]
    return out


PATTERNS = _policy_patterns() + EDGES


def test_the_bundled_patterns_are_here() -> None:
    assert len(PATTERNS) > 60


def test_found_answers_as_search() -> None:
    rng = random.Random(17)
    texts = ["", "亲", "加我微信 abc123", "ｗｗｗ．ｅｖｉｌ．ｃｎ", "https://item.taobao.com/x"]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 30))) for _ in range(150)]
    checked = matched = 0
    for pattern in PATTERNS:
        regex = compile_pattern(pattern)
        for text in texts:
            answer = regex.search(text) is not None
            assert found(regex, text) is answer, (pattern, text)
            checked += 1
            matched += answer
    assert matched > 500 and checked - matched > 500  # (both answers met)


@pytest.mark.parametrize("pattern", ["a", "x", ""])
def test_a_lone_surrogate_raises_what_search_raises(pattern: str) -> None:
    regex = compile_pattern(pattern)
    with pytest.raises(UnicodeEncodeError):
        regex.search("x\ud800")
    with pytest.raises(UnicodeEncodeError):
        found(regex, "x\ud800")


# --- found_kept: found()'s answers remembered for patterns written in a policy ---------------------------------------

def test_found_kept_answers_as_found_asked_once_or_again() -> None:
    rng = random.Random(11)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 30))) for _ in range(60)]
    for pattern in PATTERNS:
        regex = pin_pattern(pattern)
        for text in texts + texts[::-1]:  # (each asked twice: the second answer is the kept one)
            assert found_kept(regex, text) is found(regex, text), (pattern, text)


def test_found_kept_is_bounded_and_keeps_only_exact_short_texts() -> None:
    regex = pin_pattern("加我(微信|vx)")
    for n in range(patterns._KEPT_MAX + 10):
        found_kept(regex, f"加我微信 {n}")
        assert len(patterns._KEPT) <= patterns._KEPT_MAX
    long = "加我vx" + "。" * patterns._KEPT_TEXT
    assert found_kept(regex, long) is True and (regex, long) not in patterns._KEPT

    class Text(str):
        pass
    assert found_kept(regex, Text("加我微信")) is True and not any(type(k[1]) is Text for k in patterns._KEPT)
    with pytest.raises(UnicodeEncodeError):  # (a lone surrogate raises, each time: never kept)
        found_kept(regex, "加我\ud800")
    assert (regex, "加我\ud800") not in patterns._KEPT


def test_the_finders_keep_no_pattern_that_came_with_case_data() -> None:
    from policy_eval.plugins.patternsets import any_pattern
    from policy_eval.plugins.wording import find_words_unless

    patterns._KEPT.clear()
    data_pattern = "来自记录的模式[0-9]+"  # (never written in a policy: compiled in the bounded data cache)
    assert pinned(data_pattern) is None
    assert any_pattern("来自记录的模式12", [data_pattern]) is True
    assert find_words_unless("加我微信", ["加我微信"], [data_pattern]) != []
    assert not any(k[0] is compile_pattern(data_pattern) for k in patterns._KEPT)
    written = "谨防.{0,4}加我微信"
    pin_pattern(written)
    assert find_words_unless("谨防私下加我微信", ["加我微信"], [written]) == []
    assert any(k[0] is pinned(written) for k in patterns._KEPT)  # (a policy's pattern: kept)

"""``normalize`` and the conduct finders' folding remember the texts they did lately (a chat case's message is
normalised by a dozen rules: 3 µs each for a line of Chinese; bench/README, thirty-ninth session). What they
give is what computing it again gives; the memory stays bounded in entries and in the length of a text kept, and a
``str`` subclass is never kept (its equality is its own)."""

from __future__ import annotations

import random
import unicodedata

import pytest

from policy_eval.lang import functions
from policy_eval.plugins import conduct

MEMOS = [
    (functions._normalize, functions._NORMALIZED, functions._NORMALIZED_MAX, functions._NORMALIZED_KEPT,
     lambda s: functions._SPACE.sub("", unicodedata.normalize("NFKC", s).casefold())),
    (conduct._fold, conduct._FOLDED, conduct._FOLDED_MAX, conduct._FOLDED_KEPT,
     lambda s: s.translate(conduct._FOLD)),
]
ALPHABET = "加我微信 ＷＸ：ａｂｃ１２３ 淘宝店 Ｑq　\u3000\t\nﬁ①Ⅻ㍻"


class Text(str):
    """A str subclass: kept apart from the str it equals."""


@pytest.mark.parametrize(("fn", "memo", "most", "longest", "fresh"), MEMOS, ids=["normalize", "fold"])
def test_a_remembered_text_gives_what_computing_gives(fn, memo, most, longest, fresh) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 40))) for _ in range(600)]
    memo.clear()
    for _ in range(3):  # (asked again and again: answered from the memory, emptied when full)
        for text in texts:
            assert fn(text) == fresh(text), text
            assert len(memo) <= most
    assert memo  # (the memory was used)
    long = "ＡＢ" * (longest // 2 + 1)
    assert fn(long) == fresh(long) and long not in memo
    memo.clear()
    own = Text("ＡＢＣ")
    assert fn(own) == fresh(own) and not memo

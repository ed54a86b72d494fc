"""Schema patterns on RE2 remember their answers for short texts (issue 14: the amounts a case schema's
money pattern checks repeat, and a lookup is a twentieth of a search). The answers must be the search's."""

from __future__ import annotations

from typing import Any

import pytest

from policy_eval.rulebook import schemaregex
from policy_eval.rulebook.schemaregex import _RE2Search

MONEY = r"^[0-9]+(\.[0-9]{1,2})?( [A-Z]{3})?$"
TEXTS = ["19.90", "19.9", "19", "19.901", " 19.90", "19.90\n", "19.90 CNY", "19.90 cny", "", "١٩.٩٠", "19.90\udc80",
         "\udc80", "x" * 64, "1" * 64, "1" * 65, "1" * 5000]


@pytest.mark.parametrize("pattern", [MONEY, "a", "^$", r"\d", "[^a]"])
def test_remembered_answers_are_the_searchs(pattern: str) -> None:
    memo, plain = _RE2Search(pattern), _RE2Search(pattern)
    for _ in range(3):  # the first round fills the memo, the others read it
        for text in TEXTS:
            assert memo.search(text) is plain._search(text), (pattern, text)
    assert memo.search("19.90") is (pattern in (MONEY, r"\d", "[^a]"))


def test_only_short_exact_strings_are_remembered() -> None:
    class Sly(str):
        def __hash__(self) -> int:
            return hash("19.90")

        def __eq__(self, other: Any) -> bool:
            return True

    search = _RE2Search(MONEY)
    assert search.search("19.90") is True
    assert search.search(Sly("not money")) is False  # searched, not looked up as "19.90"
    assert search.search("1" * 65) is True
    assert set(search._memo) == {"19.90"}


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schemaregex, "_MEMO_SIZE", 10)
    search = _RE2Search(MONEY)
    for i in range(35):
        assert search.search(f"{i}.5") is True
        assert search.search(f"{i}.5x") is False
        assert len(search._memo) <= 10

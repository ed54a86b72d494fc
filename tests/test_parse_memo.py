"""Parsed conditions are kept by text (lang.parser): a process that loads policies again parses each once.

The tree is immutable, so sharing it is safe; an error is never kept (the same bad text fails again, with
its position), and the table is bounded.
"""

from __future__ import annotations

import pytest

from policy_eval.errors import PolicySyntaxError
from policy_eval.lang import parser


def test_the_same_text_gives_the_same_tree_once_parsed() -> None:
    text = "order.paid_amount > 1 and exists(request.id)"
    first = parser.parse(text)
    assert parser.parse(text) is first
    assert parser.parse(text + " ") is not first  # another text, another parse


def test_errors_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = parser._parse

    def counting(text: str) -> object:
        calls.append(text)
        return real(text)
    monkeypatch.setattr(parser, "_parse", counting)
    for _ in range(2):
        with pytest.raises(PolicySyntaxError) as info:
            parser.parse("a >  > b")
        assert (info.value.line, info.value.column) == (1, 6)  # the second >
    assert calls == ["a >  > b", "a >  > b"]


def test_the_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "_PARSED", {})
    monkeypatch.setattr(parser, "MAX_PARSED", 3)
    trees = [parser.parse(f"x{i} > {i}") for i in range(5)]
    assert len(parser._PARSED) == 3 and list(parser._PARSED) == ["x2 > 2", "x3 > 3", "x4 > 4"]
    assert parser.parse("x4 > 4") is trees[4]

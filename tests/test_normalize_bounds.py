"""``normalize`` in bounded memory (a red team's trial: NFKC makes U+FDFA eighteen characters, and splitting the
result on whitespace made a string of each of millions of words: a 15.6 MB shipment record needed 1.07 GB and
ended as an internal MemoryError). Now the whitespace goes in one substitution, and a text over
NORMALIZE_MAX characters is a data error (the rule undetermined), not a process that dies."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_eval.lang.functions import NORMALIZE_MAX, _normalize
from policy_eval.lang.ops import EvalFailure


def _old(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).casefold().split())


@given(st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u3000"
                                        "ab１２ＡＢ中山路号\ufdfa\u00dfİ"), max_size=60))
def test_the_same_text_as_before(s: str) -> None:
    assert _normalize(s) == _old(s)


def test_a_text_too_long_to_normalise_is_a_data_error() -> None:
    assert _normalize("\ufdfa" * 10) == _old("\ufdfa" * 10)
    with pytest.raises(EvalFailure, match="at most 100,000"):
        _normalize("\ufdfa" * (NORMALIZE_MAX + 1))

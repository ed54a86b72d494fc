"""The regex caches (issue 13 item 16): patterns from case data are held in bounded memory.

Patterns written in policies are checked and pinned at load; a pattern that arrives in a case record is
compiled with a smaller RE2 memory budget, and the sum of those budgets over the cache stays under
DATA_CACHE_BYTES however many distinct patterns the records bring.
"""

from __future__ import annotations

import pytest

from policy_eval.lang import patterns
from policy_eval.lang.patterns import DATA_CACHE_BYTES, DATA_MAX_MEM, cache_info, compile_pattern, pin_pattern


def test_case_data_patterns_stay_within_the_memory_bound() -> None:
    for i in range(5 * DATA_CACHE_BYTES // DATA_MAX_MEM):
        assert compile_pattern(f"^case-{i}-[a-z]+$").search(f"case-{i}-abc")
        info = cache_info()
        assert info["data_bytes"] <= DATA_CACHE_BYTES
    assert cache_info()["data"] == DATA_CACHE_BYTES // DATA_MAX_MEM  # full, not more


def test_each_case_data_pattern_has_the_smaller_budget() -> None:
    big = "\\pL{1,100}"  # a Unicode class repeated: compiles within 8 MB, not within 1 MB
    with pytest.raises(ValueError, match="invalid pattern"):
        compile_pattern(big)
    assert pin_pattern(big).search("汉字")  # written in a policy: the policy budget


def test_pinned_patterns_are_not_evicted_by_case_data() -> None:
    pinned = pin_pattern("^pinned-[0-9]+$")
    for i in range(2 * DATA_CACHE_BYTES // DATA_MAX_MEM):
        compile_pattern(f"flood-{i}")
    assert compile_pattern("^pinned-[0-9]+$") is pinned
    assert "^pinned-[0-9]+$" not in patterns._data


def test_refusals_are_value_errors() -> None:
    with pytest.raises(ValueError, match="longer than"):
        compile_pattern("a" * (patterns.MAX_PATTERN_LENGTH + 1))
    with pytest.raises(ValueError, match="invalid pattern"):
        compile_pattern("(?=look-ahead)")

"""The test cases of tests/golden/, read once per test process.

Several test modules hold a second form of something to the first over the whole golden corpus and so read
all its files when they are collected (1.4 s each time); they share one reading. Each caller gets its own
copy, so a test that changes a case changes no other module's.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

from policy_eval.run.testing import PolicyTest, load_tests

GOLDEN = Path(__file__).parent / "golden"


@functools.cache
def _read() -> tuple[PolicyTest, ...]:
    return tuple(t for f in sorted(GOLDEN.glob("*.yaml")) for t in load_tests(f))


def golden_tests() -> list[PolicyTest]:
    """Every test of every golden file, in file name and line order."""
    return copy.deepcopy(list(_read()))

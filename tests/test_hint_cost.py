"""The spelt-duration hint reads a condition in linear time (a red team's trial: its "(\\d+)\\s*(day|...)" was tried
from every digit of a long number, each try backtracking to its start: a 16,000-digit literal in a refused
condition cost 41 s of CPU, a 25 KB file 32 s, and blocked the workbench and the language server meanwhile)."""

from __future__ import annotations

import time

from policy_eval.rulebook.yamlhints import condition_hint


def test_a_spelt_duration_still_gets_its_hint() -> None:
    assert "durations are written 24h" in condition_hint("request.submitted_at + 24 hours")
    assert "durations are written 15d" in condition_hint("x <= 15天")


def test_a_long_run_of_digits_costs_linear_time() -> None:
    start = time.process_time()
    for text in ("9" * 16_000 + " > 0", "'" + "9" * 8_000 + "' == 'x' and )", "1" * 16_000 + " days"):
        condition_hint(text)
    assert time.process_time() - start < 5.0  # CPU seconds; the quadratic form took 41 s for the first alone

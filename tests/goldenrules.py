"""Every rule of the policy versions in force on given golden cases: (rule, case, reference time).

Shared by the tests that hold a second form of something (a compiled message, a trace without steps) to the
first on the whole golden corpus. Cases whose reference time is unreadable or unknown, or that no version is
in force for, are left out (the evaluator reports those at policy level)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import UNKNOWN
from policy_eval.rulebook import load_rulebook
from policy_eval.run.explaining import DATA_ERRORS


def rules_in_force(cases: Iterable[tuple[str | None, dict[str, Any]]]) -> Iterator[tuple[Any, dict[str, Any], Any]]:
    """For each (deployment parameters file, case): every rule of each policy version in force on it."""
    books: dict[str | None, Any] = {}
    for params, case in cases:
        book = books.get(params) or books.setdefault(params, load_rulebook(params=params))
        for version, ref in versions_in_force(book, case):
            for rule in version.rules:
                yield rule, case, ref


def versions_in_force(book: Any, case: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(version, reference time) of each policy of the case's kind in force on it, in the rulebook's order."""
    found = []
    for history in book.policies.values():
        if history.applies_to != case.get("kind"):
            continue
        try:
            ref = history.latest().reference_time.fn(case, {REF_TIME: UNKNOWN})
        except DATA_ERRORS:
            continue
        if ref is not UNKNOWN and (version := history.at(ref)) is not None:
            found.append((version, ref))
    return found

"""Which version of a policy is in force at an instant, found by bisecting the boundaries of its periods.

Input: a :class:`~policy_eval.rulebook.PolicyHistory`. Output: :class:`Periods`, whose :meth:`Periods.at`
gives what ``history.at(instant)`` gives, for every instant. Every case asks each of its policies once
(by its reference time); the history walks its versions, two or three ``in_force`` calls of two aware
datetime comparisons each. Here the instants where some version starts or ends are sorted once; between
two neighbours no comparison ``in_force`` makes can change, so the version in force there is the one
``history.at`` names for the left neighbour, found once; per case one ``bisect`` (comparisons in C).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from policy_eval.rulebook import PolicyHistory
from policy_eval.rulebook.policy import PolicyVersion

__all__ = ["Periods"]


class Periods:
    """The versions of one policy by period: ``at(instant)`` is ``history.at(instant)``."""

    __slots__ = ("bounds", "versions")

    def __init__(self, history: PolicyHistory) -> None:
        instants = {v.effective_from for v in history.versions}
        instants.update(v.effective_until for v in history.versions if v.effective_until is not None)
        # equal instants in two offsets are one boundary (aware datetimes hash and compare by the instant)
        self.bounds: list[Any] = sorted(instants)
        # versions[i]: in force from bounds[i - 1] (included) to bounds[i] (excluded); before the first, none
        self.versions: list[PolicyVersion | None] = [None, *(history.at(b) for b in self.bounds)]

    def at(self, when: Any) -> PolicyVersion | None:
        """The version in force at ``when`` (an aware datetime), if any."""
        return self.versions[bisect_right(self.bounds, when)]

"""What an evaluation found, beside its value: the missing case paths, the values read, the steps that decided it.

Made by the reference interpreter (lang.interpreter) and by the generated code that records the same
(lang.stepcode, lang.nullsteps, lang.tracecode); read by the verdicts' explanations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_STEPS", "Step", "Trace"]

MAX_STEPS = 200


@dataclass(slots=True)
class Step:
    text: str
    value: Any
    line: int
    column: int


@dataclass
class Trace:
    """What an evaluation found: the missing paths, the values read and (unless ``explain`` is False: the same
    walk, value, ``missing`` and ``reads``, for a verdict that shows no explanation) its steps and witnesses."""
    missing: list[str] = field(default_factory=list)
    reads: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    witness: dict[str, str] = field(default_factory=dict)
    explain: bool = True

    def add_missing(self, path: str) -> None:
        if path not in self.missing:
            self.missing.append(path)

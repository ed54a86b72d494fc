"""What an evaluator answers on a case, for tests that hold the evaluators to one another (the interpreter, the
closures, the generated code): ``("value", its text)`` or ``("raised", the exception's class name)``; and the
conformance suite's case schema they compile against."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from typing import Any

from policy_eval import expression as lang

SCHEMA: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "conformance" / "case.schema.json").read_text(encoding="utf-8")
)


def outcome(fn: Callable[[dict[str, Any]], Any], case: dict[str, Any]) -> tuple[str, str]:
    try:
        return ("value", lang.render(fn(case)))
    except Exception as exc:  # noqa: BLE001 - compared between the evaluators
        return ("raised", type(exc).__name__)

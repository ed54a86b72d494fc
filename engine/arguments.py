"""The embedding API's arguments checked before any work, with messages a caller can act on.

Input: what a caller passed to :class:`policy_eval.api.Rulebook` (``load``, ``evaluate``, ``evaluate_many``).
Output: the argument as the API uses it, or an exception naming the argument and what it should be; a
``PluginError`` for the plugins, as every plugin mistake is one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from policy_eval.errors import CaseError, PluginError
from policy_eval.rulebook.jsonrecord import not_object

__all__ = ["check_detail", "batch_item", "plugin_list"]


def check_detail(detail: str) -> None:
    if detail not in ("full", "findings"):
        raise ValueError(f"detail must be full or findings, not {detail!r}")


def batch_item(case: Any, number: int) -> dict[str, Any] | CaseError:
    """One item of ``evaluate_many`` as a worker takes it: a copy of a mapping, a CaseError as it is, anything
    else the error ``evaluate`` gives it (so ``jobs`` does not change the answer)."""
    if isinstance(case, CaseError):
        return case
    if isinstance(case, Mapping):
        return dict(case)
    return not_object(case, None, number)


def plugin_list(plugins: Any) -> Sequence[Any]:
    """``plugins`` as a sequence: one module path given as a string is a mistake said as such (iterated, its
    characters were taken for module names: "cannot import plugin 'm'")."""
    if isinstance(plugins, (str, bytes, Path)):
        raise PluginError(f"plugins must be a list of module paths, modules or objects, got {type(plugins).__name__} "
                          f"{str(plugins)!r}: did you mean plugins=[{str(plugins)!r}]?")
    if not isinstance(plugins, Sequence):
        plugins = list(plugins)
    return plugins


"""The ``full-width-list-separator`` lint check: a list parameter's item that is several items run together.

Input: a :class:`~policy_eval.authoring.findings.LintInput`. Output: a finding at each string item of a
parameter's list value that holds a full-width comma ``，`` or an enumeration comma ``、`` between two words,
and nothing a pattern would use: ``[水果，生鲜，虚拟商品, 汽车]`` is two items for YAML, ``水果，生鲜，虚拟商品``
and ``汽车``, so 水果 is no longer a special good. (The language refuses a full-width comma in a condition;
a YAML list is not the language's.) Patterns (items with ``[ ] ( ) | \\ ? * + ^ $ { }``) are left alone:
they match Chinese punctuation on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from policy_eval.authoring.findings import Finding, LintInput

__all__ = ["full_width_list_separators"]

_RUN_TOGETHER = re.compile(r"[^，、\s][ \t]*[，、][ \t]*[^，、\s]")
_PATTERN_CHARS = re.compile(r"[\[\]()|\\?*+^${}]")


def _items(spec: Any) -> tuple[list[Any], tuple[Any, ...]] | None:
    """A parameter's list value and its path below the parameter (the short form or ``value:``)."""
    if isinstance(spec, list):
        return spec, ()
    if isinstance(spec, dict) and isinstance(spec.get("value"), list):
        return spec["value"], ("value",)
    return None


def full_width_list_separators(data: LintInput) -> Iterator[Finding]:
    for file, (raw, _) in data.sources.items():
        params = raw.get("params") if isinstance(raw, dict) else None
        if not isinstance(params, dict):
            continue
        for name, spec in params.items():
            found = _items(spec)
            if found is None:
                continue
            items, below = found
            for index, item in enumerate(items):
                if not isinstance(item, str) or _PATTERN_CHARS.search(item) or not _RUN_TOGETHER.search(item):
                    continue
                parts = ", ".join(p.strip() for p in re.split(r"[，、]", item) if p.strip())
                yield data.finding(
                    "full-width-list-separator",
                    f"item {index + 1} of parameter '{name}' is '{item}', one item: YAML separates list items "
                    f"with an ASCII ',' only; if these are several items, write them as {parts}", file,
                    ("params", name, *below, index))

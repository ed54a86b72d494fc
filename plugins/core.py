"""The core standard library of the condition language, as a plugin."""

from __future__ import annotations

from collections.abc import Sequence

from policy_eval.lang.functions import Function, core_functions
from policy_eval.lang.types import BOOL, STRING, list_of
from policy_eval.plugins.hookspecs import hookimpl

__all__ = ["policy_eval_functions", "in_category"]

CATEGORY_SEPARATOR = ">"


def _segments(path: str) -> list[str]:
    return [s.strip() for s in path.split(CATEGORY_SEPARATOR)]


def in_category(path: str, categories: Sequence[str]) -> bool:
    """True when the category path falls under one of the categories.

    A path such as ``水果生鲜>水果`` is compared segment by segment, never as a
    substring: an entry without ``>`` matches when it equals one segment
    (``水果`` matches ``水果生鲜>水果``, ``汽车`` matches ``汽车>新能源整车``, but
    ``汽车`` does not match ``汽车用品>坐垫``); an entry with ``>`` matches when
    its segments are a leading run of the path's (``汽车>新能源整车`` matches
    ``汽车>新能源整车>轿车``). Blanks around ``>`` are ignored.
    """
    segs = _segments(path)
    for entry in categories:
        want = _segments(entry)
        if not entry.strip():
            continue
        if len(want) == 1 and want[0] in segs:
            return True
        if len(want) > 1 and segs[: len(want)] == want:
            return True
    return False


@hookimpl
def policy_eval_functions() -> list[Function]:
    return [*core_functions(),
            Function("in_category", (STRING, list_of(STRING)), BOOL, in_category,
                     doc="the category path (segments joined by '>') falls under one of the categories, "
                         "matched by whole segment")]

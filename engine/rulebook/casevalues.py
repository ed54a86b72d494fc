"""Cases handed over as Python values (the embedding API), not read from JSON: what no JSON text can hold.

Input: a case dict as a caller built it, and the rulebook's case validator. Output: None, or a
:class:`~policy_eval.errors.CaseError` naming the JSON path of the first value JSON cannot hold, before the
schema's validators see it: a lone surrogate in a string or a key (refused as the JSON readers refuse it,
rulebook.jsonrecord: the rules' text functions cannot read it), a tuple or a set where JSON has an array (the
validators took it for one; the rules do not), a key that is not a string, an integer of more than 4,300
digits (Python will not even write it out, which the validators' messages do).

The common case costs one C pass (:func:`plain`: orjson writes the case out, refusing surrogates, keys that
are not strings and integers beyond 64 bits); only a case it refuses, or one the compiled schema check
refused and the slower validators took, is walked in Python.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from policy_eval.errors import CaseError, shown_repr
from policy_eval.lang.ops import MAX_INT_BITS, MAX_INT_DIGITS
from policy_eval.rulebook.jsonrecord import member, surrogate_error

__all__ = ["plain", "value_error", "checked", "id_text", "MAX_DEPTH"]

_TOO_LONG = 10 ** MAX_INT_DIGITS  # the least integer of more than MAX_INT_DIGITS digits
MAX_DEPTH = 1_000  # levels of nesting walked: the validators refuse a case nested deeper than Python's recursion
_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _decimal(value: Any) -> Any:
    if type(value) is Decimal:
        return None  # (its digits do not matter here)
    raise TypeError


def plain(case: Any) -> bool:
    """Whether ``case`` surely holds nothing :func:`value_error` refuses but tuples and sets (one C pass); False:
    it may (a lone surrogate, a key that is not a string, an integer beyond 64 bits, a value of another type)."""
    try:
        orjson.dumps(case, default=_decimal, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        return False
    return True


def value_error(case: Any, source: str | None, record: int | None) -> CaseError | None:
    """The first value of ``case`` (in document order) that JSON cannot hold, as a CaseError at its JSON path.
    (Paths are made for the error only, from each node's parent: a 200,000-level nesting costs no square.)"""
    parents: list[tuple[int, str]] = [(-1, "$")]  # node number -> (its parent's number, its member or index)

    def at(n: int) -> str:
        parts: list[str] = []
        while n >= 0:
            n, part = parents[n]
            parts.append(part)
        return "".join(reversed(parts))

    def error(message: str, n: int) -> CaseError:
        return CaseError(message, source=source, record=record, json_path=at(n))

    stack: list[tuple[Any, int, int]] = [(case, 0, 0)]
    seen: set[int] = set()
    while stack:
        node, n, depth = stack.pop()
        if isinstance(node, str):
            if (found := surrogate_error(node, source or "", record, "$")) is not None:
                found.json_path, found.source = at(n), source
                return found
        elif isinstance(node, int) and not isinstance(node, bool):
            if node.bit_length() > MAX_INT_BITS and abs(node) >= _TOO_LONG:
                return error(f"an integer of more than {MAX_INT_DIGITS:,} digits: the JSON readers refuse it too", n)
        elif isinstance(node, (dict, list)):
            if id(node) in seen or depth > MAX_DEPTH:  # (reached twice, or holding itself: looked at once; deeper
                continue                                # than any validator goes, "nested too deeply" there)
            seen.add(id(node))
            items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            for k, _ in items:
                if isinstance(node, dict) and not isinstance(k, str):
                    return error(f"a key that is not a string ({type(k).__name__} {_short(k)}): JSON keys are "
                                 "strings", n)
                if isinstance(node, dict) and surrogate_error(k, source or "", record) is not None:
                    return error("a key holds a lone surrogate: not Unicode text", n)
            first = len(parents)
            parents.extend((n, member(str(k)) if isinstance(node, dict) else f"[{k}]") for k, _ in items)
            stack.extend((v, first + i, depth + 1) for i, (_, v) in reversed(list(enumerate(items))))
        elif isinstance(node, (tuple, set, frozenset)):
            return error(f"a {type(node).__name__} where JSON has an array: give a list", n)
    return None


def _short(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return "of many digits"
    return shown_repr(value, 40)


def checked(case: dict[str, Any], validator: Any, source: str | None, record: int | None) -> CaseError | None:
    """``validator.check`` of a case handed over as Python values, with :func:`value_error` first where
    :func:`plain` says it may hold what JSON cannot, and after where the compiled check refused what the slower
    validators took (a tuple for an array). A case that the schema's screened check takes (valid, and orjson can
    write it) is what those steps would find nothing in."""
    kind = case.get("kind")
    if type(kind) is str and (screen := validator.screened(kind)) is not None and screen(case):
        return None
    if not plain(case) and (error := value_error(case, source, record)) is not None:
        return error
    check = validator.compiled(kind) if type(kind) is str else None
    if check is not None and check(case):  # (what validator.check runs first: True means it finds nothing)
        return None
    error = validator.check(case, source, record)
    if error is None and check is not None:  # the compiled check refused what the slower validators took
        return value_error(case, source, record)
    return error


def id_text(case_id: Any) -> str | None:
    """A case id as a result shows it (an integer too long for Python to write out: none)."""
    if case_id is None or (isinstance(case_id, int) and not isinstance(case_id, bool) and abs(case_id) >= _TOO_LONG):
        return None
    return str(case_id)

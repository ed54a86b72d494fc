"""Case schema patterns on RE2: linear time, whatever the pattern and the field.

Input: compiled case schemas (fastjsonschema functions, jsonschema validator classes). Output: the same
validators with every ``pattern``, ``patternProperties`` and ``additionalProperties``-beside-patterns
check run by RE2 (:func:`policy_eval.lang.functions.compile_pattern`, as policy patterns are), never by
Python's backtracking ``re``: ``^(a+)+$`` on a 29-character field took 13 s a record with ``re``.

A pattern RE2 cannot run (look-arounds, back-references) is refused when the rulebook loads, with its
file and JSON path (:mod:`policy_eval.rulebook.schemacheck`), so that validation never meets one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, ValidationError

from policy_eval.lang.functions import compile_pattern
from policy_eval.lang.patterns import found, pin_pattern

__all__ = ["RE2Validator", "use_re2", "search"]


def search(pattern: str, text: str) -> bool:
    """JSON Schema's ``pattern``: a match anywhere in ``text`` (anchors are the pattern's own)."""
    try:
        return compile_pattern(pattern).search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate (valid JSON), which google-re2's search cannot encode
        return _RE2Search(pattern).search(text)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = {key for key in instance
              if key not in properties and not any(search(p, key) for p in patterns)}
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        joined = ", ".join(repr(each) for each in sorted(extras))
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            yield ValidationError(f"{joined} {verb} not match any of the regexes: "
                                  f"{', '.join(repr(p) for p in sorted(patterns))}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(f"Additional properties are not allowed ({joined} {verb} unexpected)")


RE2Validator = jsonschema.validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties},
)


class _RE2Search:
    """What fastjsonschema's generated code calls on a compiled pattern (``.search``), on RE2.

    google-re2's Python ``search`` builds a match object with offsets in characters (about 10 µs for
    a short field); validation needs only whether there is a match, which the compiled RE2's own
    ``Match`` answers on the UTF-8 bytes in under 2 µs.

    Answers for short texts are remembered (:data:`_MEMO_TEXT` characters, :data:`_MEMO_SIZE` texts, then
    forgotten at once): the values a pattern checks in case records repeat (amounts, codes), and a
    lookup costs a twentieth of a search. Only an exact ``str`` is remembered (a subclass may compare
    or hash as it likes)."""

    __slots__ = ("_regex", "_memo")

    def __init__(self, pattern: str) -> None:
        self._regex = pin_pattern(pattern)  # written in a schema: checked at load, kept compiled
        self._memo: dict[str, bool] = {}

    @property
    def answers(self) -> dict[str, bool]:
        """The answers remembered by text (the one dict of the object's life: emptied when full, never replaced),
        for generated code that looks there before it calls :meth:`search` (rulebook.msgdecode's walker)."""
        return self._memo

    def search(self, text: str) -> bool:
        if type(text) is not str or len(text) > _MEMO_TEXT:
            return self._search(text)
        found = self._memo.get(text)
        if found is None:
            found = self._search(text)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[text] = found
        return found

    def _search(self, text: str) -> bool:
        # (RE2's own matcher on the UTF-8 bytes: lang.patterns.found; a lone surrogate, valid JSON, kept as bytes
        # no pattern character matches)
        return found(self._regex, text, "surrogatepass")


_MEMO_TEXT = 64
_MEMO_SIZE = 4096


def use_re2(func: Any) -> Any:
    """A fastjsonschema validator with its patterns swapped for RE2 ones (keys are the schema's own
    patterns; fastjsonschema compiled them with ``re``, ``$`` rewritten to ``\\Z``, which RE2's ``$``
    already means)."""
    from fastjsonschema.draft07 import CodeGeneratorDraft07

    target = getattr(func, "func", func)  # compile() wraps the function in a partial when given formats
    patterns = target.__globals__.get("REGEX_PATTERNS")
    builtin_formats = CodeGeneratorDraft07.FORMAT_REGEXS  # kept under the format's name: fastjsonschema's own
    if patterns:
        for pattern in list(patterns):
            if pattern not in builtin_formats:
                patterns[pattern] = _RE2Search(pattern)
    return func

"""A case field typed as an object or a list is read inline by generated code, as its reader reads it.

Generated code takes a value of exactly the right type itself (``t.__class__ is dict``) and calls the reader
(lang.readers) for anything else, which refuses it as a data error: ``exists(order.verification)`` on
``"verification": "yes"`` is a data error in the generated function, in the fused function of a version and
in the reference interpreter alike, never "it exists". Values a JSON reader never makes (a dict subclass, a
tuple) are refused too, as the reader refuses them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from policy_eval import expression as lang
from policy_eval.lang.fusion import Step, Tokens, fuse
from policy_eval.lang.interpreter import interpret

SCHEMA = {"type": "object", "properties": {
    "order": {"type": "object", "properties": {
        "verification": {"type": "object", "properties": {"done": {"type": "boolean"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"}}}}}

EXPRESSIONS = ["exists(order.verification)", "not exists(order.verification) or order.note == \"x\"",
               "exists(order.tags)", "len(order.tags) > 0", "exists(order.verification) and exists(order.tags)"]
VALUES: list[Any] = [{"done": True}, {}, ["a"], [], "yes", 1, True, OrderedDict(done=True), ("a",)]


def _answer(fn: Any) -> Any:
    try:
        return lang.render(fn())
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return ("error", type(exc).__name__)


@pytest.mark.parametrize("text", EXPRESSIONS)
@pytest.mark.parametrize("field", ["verification", "tags"])
def test_generated_reads_of_objects_and_lists_answer_as_the_interpreter(text: str, field: str) -> None:
    prog = lang.compile_expression(text, case_schema=SCHEMA)
    prog.evaluate({})  # generated on the first call
    assert prog.fn.__code__.co_filename.startswith("<policy-eval: '"), "fell back to the closures"
    steps = [Step(None, prog.node, False, (), True)]
    fused = fuse(steps, Tokens("complied", "violated", "not_applicable", "undetermined", "gated"))
    assert fused is not None
    for value in VALUES:
        case = {"order": {"note": "x", field: value}}
        expected = _answer(lambda: interpret(prog.node, case))  # noqa: B023
        assert _answer(lambda: prog.fn(case, {})) == expected, (text, value)  # noqa: B023
        out = fused(case, {}, None)
        # the fused function gives up (None) where the condition raised: the caller then decides rule by rule
        if isinstance(expected, tuple):
            assert out is None, (text, value)
        else:
            assert out is not None and out[3] == (("complied" if expected == "true" else
                                                   "undetermined" if expected == "unknown" else "violated"),), \
                (text, value, out)


def test_a_string_where_an_object_belongs_is_a_data_error_not_a_presence() -> None:
    prog = lang.compile_expression("exists(order.verification)", case_schema=SCHEMA)
    assert prog.evaluate({"order": {"verification": {}}}) is True
    assert prog.evaluate({"order": {}}) is False
    with pytest.raises(Exception, match="expected an object"):
        prog.evaluate({"order": {"verification": "yes"}})

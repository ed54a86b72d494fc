"""A record hoisted on the way to other reads, read whole too (lang.threevalued's ``g_Field``).

``exists(order.x) and order.x.a + order.x.b > 1`` reads ``order.x`` three times: generated code hoists it to a
local at the top (the record on the way to ``a`` and ``b``), and ``exists(order.x)`` reads that local, not the
case again. These tests fail if the whole read went back to the case (a second ``get`` of ``x``), or if reading
the local answered otherwise than the interpreter: the record missing, null, not a record, empty or holding its
fields, under a missing or null ``order``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from policy_eval import expression as lang
from policy_eval.lang import codegen

_X = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
SCHEMA = {"type": "object", "properties": {"order": {"type": "object", "properties": {"x": _X}}}}
TEXTS = [
    "exists(order.x) and order.x.a + order.x.b > 1",
    "exists(order.x) or order.x.a > order.x.b",
    "not exists(order.x) or order.x.a == order.x.b",
    "(if exists(order.x) then order.x.a else 0) + default(order.x.b, 1) >= 1",
]
CASES: list[Any] = [
    {}, {"order": None}, {"order": {}}, {"order": {"x": None}}, {"order": {"x": "s"}}, {"order": {"x": []}},
    {"order": {"x": {}}}, {"order": {"x": {"a": 1}}}, {"order": {"x": {"a": 1, "b": 1}}},
    {"order": {"x": {"a": 0, "b": 0}}}, {"order": {"x": {"a": "1", "b": 1}}}, {"order": "o"},
]


def _answer(fn: Any, case: Any) -> Any:
    try:
        return fn(case)
    except Exception as exc:  # (a data error: its type is the answer)
        return type(exc)


@pytest.mark.parametrize("text", TEXTS)
def test_the_whole_read_is_the_hoisted_local(text: str) -> None:
    source, namespace = codegen.generate(lang.compile_expression(text, case_schema=SCHEMA).node)
    [x] = [name for name, value in namespace.items() if re.fullmatch(r"_k\d+", name) and value == "x"]
    assert source.count(f".get({x})") == 1, source  # (the hoisted record's read; exists() reads its local)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_the_hoisted_local_answers_as_the_interpreter(text: str, case: Any) -> None:
    prog = lang.compile_expression(text, case_schema=SCHEMA)
    assert _answer(prog.evaluate, case) == _answer(prog.interpret, case)

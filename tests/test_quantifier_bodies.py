"""A quantifier's body runs once an item: where generated code calls a quantifier (lang.codegen's conditions,
lang.fusion's fused functions), the body is generated code too (lang.codegen ``quantifier_body``), with the closures
as its fall-back; the closures themselves (the generated code's fall-back, and what the tracing generators call)
keep their own body. The answers are the closures' (tests/test_closure_calls.py, tests/test_operand_order.py and
tests/test_properties_quantifiers.py hold every evaluator to the interpreter); this holds the wiring.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from evaluators import SCHEMA

from policy_eval import expression as lang
from policy_eval.lang.codegen import compile_fast
from policy_eval.lang.compiler import REF_TIME, compile_ir

TEXT = 'any m in messages: contains(m.text, "a") and not starts_with(m.sender, "b")'
CASE = {"messages": [{"text": "xyz", "sender": "s"}, {"text": "abc", "sender": "s"}]}


def _bodies(fn: Any) -> list[str]:
    """The code names of the quantifier bodies the function calls (the closures' ``body`` cell)."""
    names = []
    for value in fn.__globals__.values():
        for cell in getattr(value, "__closure__", None) or ():
            inner = cell.cell_contents
            if callable(inner) and getattr(inner, "__name__", "") in ("_f", "f", "binary", "call2", "with_const"):
                names.append(inner.__code__.co_filename)
    return names


def test_generated_code_calls_a_generated_body() -> None:
    prog = lang.compile_expression(TEXT, case_schema=SCHEMA)
    fast = compile_fast(prog.node)
    assert fast(CASE, {REF_TIME: lang.UNKNOWN}) is True  # (compiled on its first call, the body on its own first)
    assert "<policy-eval: 'quantifier body'>" in _bodies(fast)


def test_the_closures_keep_their_own_body() -> None:
    prog = lang.compile_expression(TEXT, case_schema=SCHEMA)
    closures = compile_ir(prog.node)
    assert closures(CASE, {REF_TIME: lang.UNKNOWN}) is True
    body = next(c.cell_contents for c in closures.__closure__ or () if c.cell_contents.__class__.__name__ == "function"
                and c.cell_contents.__name__ != "items")
    assert "policy-eval" not in body.__code__.co_filename


def test_a_fused_conduct_function_calls_generated_bodies() -> None:
    from policy_eval.lang import fusion

    made: list[Any] = []
    real = fusion.fuse

    def spy(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]
    import policy_eval.run.fusing as fusing
    fusing.fuse = spy  # type: ignore[assignment]
    try:
        from policy_eval.api import Rulebook
        book = Rulebook.load(entry_points=False)
        case = json.loads((pathlib.Path(__file__).parents[1] / "examples" / "chat_offplatform_diversion.json").read_text(encoding="utf-8"))
        book.evaluate(case, detail="findings")
    finally:
        fusing.fuse = real  # type: ignore[assignment]
    assert any("<policy-eval: 'quantifier body'>" in _bodies(f) for f in made if f is not None)


def _cells(fn: Any) -> dict[str, Any]:
    return dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ()), strict=True))


def test_a_list_made_by_a_quantifier_is_generated_code_too() -> None:
    text = 'count m in (filter x in messages: contains(x.text, "a")): starts_with(m.sender, "s")'
    prog = lang.compile_expression(text, case_schema=SCHEMA)
    fast = compile_fast(prog.node)
    assert fast(CASE, {REF_TIME: lang.UNKNOWN}) == 1 == prog.interpret(CASE)
    folds = [v for k, v in fast.__globals__.items()  # (the generated code's calls, not its fall-back, _slow)
             if k.startswith("_f") and k[2:].isdigit() and getattr(v, "__name__", "") == "f_fold"]
    assert folds
    named = [(_cells(fold)["body"].__code__.co_filename, _cells(_cells(fold)["items"])["coll"].__code__.co_filename)
             for fold in folds]  # (a body not called yet is still the stub its first call compiles)
    assert all(body.startswith("<policy-eval") and coll.startswith("<policy-eval") for body, coll in named), named
    assert ("<policy-eval: 'quantifier body'>",) * 2 in named  # (the filter's too: generated)

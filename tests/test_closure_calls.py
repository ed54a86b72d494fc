"""Calls and quantifiers where an argument or an item is unknown and another raises: every evaluator answers alike.

- The closures' calls of two and three arguments (lang.compiler ``call2``, ``call3``: without the general call's
  list, since a quantifier's body makes most of its calls once an item) compute every argument before looking at
  any, as the general call and the interpreter do: an argument that raises raises even where another is unknown.
- ``any`` stops at its first true item and ``all`` at its first false one, as ``or`` and ``and`` stop at their
  deciding operand; the folds (``count``, ``sum``, ``filter``, ``collect``) take every item, so an unknown item does
  not hide a later item's data error. Before, the interpreter (``explain``, ``--explain``) went on past the deciding
  item of ``any``/``all`` and the closures (``eval``) stopped a fold at its first unknown item, so the two disagreed
  on a case where a later item raised: this test found it.

The error here is a plugin function given a list holding an unknown (``[m.sender]`` where the sender is missing).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from evaluators import SCHEMA, outcome

from policy_eval import expression as lang
from policy_eval.lang.compiler import REF_TIME, compile_ir

RAISES = "any_pattern_unless(m.text, [m.sender], [])"  # (an error where the sender is missing and the text is not)
BODIES = [
    'contains(m.text, "a")',
    'starts_with(m.sender, "b")',
    f"({RAISES})",
    'contains(m.sender, text(len(find_words_unless(m.text, [m.sender], ["x"]))))',
    '0 < len(find_words_unless(m.text, ["a", "b"], [m.sender]))',
    '0 < len(find_words_unless(m.sender, [m.text], ["x"]))',
]
EXPRESSIONS = [f"{kind} m in messages: {body}" for body in BODIES for kind in ("any", "all", "count")]
EXPRESSIONS += [f"len(filter m in messages: {BODIES[2]})", "len(collect m in messages: [m.sender])"]
ITEMS = [{}, {"text": ""}, {"text": "abc"}, {"sender": "buyer"}, {"text": "", "sender": "buyer"},
         {"text": "a b", "sender": "b"}, {"text": "ab", "sender": "a"}]
CASES = [{"messages": list(items)} for n in (1, 2) for items in itertools.product(ITEMS, repeat=n)]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_every_evaluator_answers_as_the_interpreter(text: str) -> None:
    prog = lang.compile_expression(text, case_schema=SCHEMA)
    closures = compile_ir(prog.node)
    for case in CASES:
        reference = outcome(prog.interpret, case)
        assert outcome(lambda c: closures(dict(c), {REF_TIME: lang.UNKNOWN}), case) == reference, (text, case)
        assert outcome(prog.evaluate, case) == reference, (text, case)


def test_the_cases_meet_everyoutcome() -> None:
    seen = {outcome(lang.compile_expression(text, case_schema=SCHEMA).interpret, case)[1]
            for text in EXPRESSIONS for case in CASES}
    assert {"unknown", "true", "false", "EvalFailure"} <= seen, seen


TRUE_THEN_ERROR = {"messages": [{"text": "ab", "sender": "a"}, {"text": "x"}]}
UNKNOWN_THEN_ERROR = {"messages": [{}, {"text": "x"}]}


@pytest.mark.parametrize(("text", "case", "expected"), [
    (f"any m in messages: {RAISES}", TRUE_THEN_ERROR, ("value", "true")),  # (decided before the error)
    (f"all m in messages: not {RAISES}", TRUE_THEN_ERROR, ("value", "false")),
    (f"any m in messages: {RAISES}", UNKNOWN_THEN_ERROR, ("raised", "EvalFailure")),  # (undecided: on to it)
    (f"count m in messages: {RAISES}", UNKNOWN_THEN_ERROR, ("raised", "EvalFailure")),  # (a fold takes every item)
    (f"count m in messages: {RAISES}", {"messages": [{}, {"text": "ab", "sender": "a"}]}, ("value", "unknown")),
    (f"count m in messages: {RAISES}", TRUE_THEN_ERROR, ("raised", "EvalFailure")),
])
def test_what_each_evaluator_answers(text: str, case: dict[str, Any], expected: tuple[str, str]) -> None:
    prog = lang.compile_expression(text, case_schema=SCHEMA)
    closures = compile_ir(prog.node)
    assert outcome(prog.interpret, case) == expected
    assert outcome(lambda c: closures(dict(c), {REF_TIME: lang.UNKNOWN}), case) == expected
    assert outcome(prog.evaluate, case) == expected

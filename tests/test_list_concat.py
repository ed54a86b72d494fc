"""Lists join with ``+`` (a policy unions two parameter lists: ``refusal_contexts + harmless_insult_contexts``).

A function that checks a constant argument (a list of RE2 patterns) checks a join of constant lists at load
as one list, while each parameter stays a parameter of the rule (shown with the verdict, listed as used); a join of case data charges the evaluation budget
for what it makes, as a string join does (a let doubling a list is otherwise exponential in memory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.errors import PolicyError
from policy_eval.expression import compile_expression
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_two_lists_join_with_their_items_in_order() -> None:
    expr = compile_expression('["a", "b"] + ["c"]')
    assert str(expr.type) == "list<string>"
    assert expr.evaluate() == ["a", "b", "c"]
    assert compile_expression("len([1, 2] + [3.5])").evaluate() == 3


def test_lists_of_different_items_do_not_join() -> None:
    with pytest.raises(PolicyError, match="cannot add list<string> to list<int>"):
        compile_expression('[1] + ["b"]')
    with pytest.raises(PolicyError, match="cannot add"):
        compile_expression('[1] + 2')


def test_two_parameter_lists_join_into_one_constant_checked_at_load() -> None:
    params = {"a": '["x"]', "b": '["(y"]'}
    expr = compile_expression('a + b', params={"a": '["x"]', "b": '["y"]'})
    assert expr.evaluate() == ["x", "y"]
    with pytest.raises(PolicyError, match=r"invalid pattern '\(y'") as info:
        compile_expression('len(find_words_unless("text", ["t"], a + b)) > 0', params=params)
    assert info.value.column == 38  # the argument that holds the joined list


def _chat_policy(tmp_path: Path, lets: list[tuple[str, str]], condition: str) -> Any:
    text = pt.policy(pt.rules_text(pt.rule("r1", condition, let=lets)), **pt.CHAT, id="joins", title="Joins",
                     document="tests/test_list_concat.py")
    return pt.load(pt.write(tmp_path / "policies" / "p.yaml", text).parent, max_cost=10 ** 40)


def _case() -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8")))


def test_each_joined_parameter_is_used_by_the_rule(tmp_path: Path) -> None:
    text = pt.policy(pt.rules_text(pt.rule("r1", 'any m in messages: len(find_words_unless(m.text, ["x"], a + b)) > 0')),
                     **pt.CHAT, id="joins", title="Joins", document="tests/test_list_concat.py")
    text = text.replace("rules:", 'params:\n  a: {type: "list<string>", value: ["y"]}\n'
                                  '  b: {type: "list<string>", value: ["z"]}\nrules:', 1)
    book = pt.load(pt.write(tmp_path / "policies" / "p.yaml", text).parent)
    assert book.policies["joins"].latest().rules[0].params == ["a", "b"]


def test_a_join_of_case_data_evaluates(tmp_path: Path) -> None:
    book = _chat_policy(tmp_path, [("both", "messages + messages")], "len(both) == 2 * len(messages)")
    [result] = Evaluator(book).evaluate(_case()).results
    assert result.outcome is Outcome.COMPLIED, result.reason


def test_a_let_doubling_a_list_meets_the_budget(tmp_path: Path) -> None:
    lets = [("l0", "messages")] + [(f"l{i}", f"l{i - 1} + l{i - 1}") for i in range(1, 60)]
    book = _chat_policy(tmp_path, lets, "len(l59) > 0")
    [result] = Evaluator(book).evaluate(_case()).results
    assert result.outcome is Outcome.UNDETERMINED
    assert "budget" in (result.reason or ""), result.reason

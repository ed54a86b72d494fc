"""Red team trial E, D6: work done inside a function is charged to the runtime budget.

``contains_any(m.id, ids)`` over a list the case builds (``ids``: one item per message) looked for every
message's id among every message's id: 25,000,000 substring tests for a 5,000-message chat, of which the
budget saw none (only the command line's CPU watchdog stopped it; the API, serve and Dask had nothing). Such
a function now charges the product of its arguments' sizes, once a call (lang.budget.scan_at), when what it
looks for (the words, a pattern, the categories) comes from the case, and the list ``in`` operator the list of
the case it searches; the budget stops the rule with its usual located message, whatever the caller. A
policy's own words looked for in a text cost work linear in the record, as any function of the text does,
and are not charged (the bundled rules' calls cost what they did). Work is counted in budget items, never timed.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.api import Rulebook
from policy_eval.errors import ErrorList, PolicyError
from policy_eval.expression import compile_expression
from policy_eval.lang.budget import metered
from policy_eval.resources import bundled_schemas, load_json
from policy_eval.run.evaluate import Evaluator

EXAMPLES = Path(__file__).parent.parent / "examples"
SCHEMA = load_json(bundled_schemas() / "cases" / "chat.schema.json")
START = _dt.datetime(2024, 5, 20, 21, 0, tzinfo=_dt.timezone(_dt.timedelta(hours=8)))
IDS = 'collect m in messages: [m.id + "#"]'  # no message's id holds another's plus "#": every test fails


def _chat(n: int) -> dict[str, Any]:
    case = dict(json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8")))
    case["messages"] = [{"id": f"m{i}", "sender": "merchant" if i % 2 else "buyer",
                         "sent_at": (START + _dt.timedelta(seconds=i)).isoformat(), "text": "在的", "attachments": []}
                        for i in range(n)]
    return case


def _book(tmp_path: Path, condition: str, **kw: Any) -> Rulebook:
    text = pt.policy(pt.rules_text(pt.rule("r1", condition, let={"ids": IDS})), **pt.CHAT, id="hostile",
                     title="Hostile", document="tests/test_redteam_leftovers_budget.py")
    folder = pt.write(tmp_path / "policies" / "p.yaml", text).parent
    return Rulebook.load(folder, **kw)


def _verdict(book: Rulebook, case: dict[str, Any]) -> Any:
    result = book.evaluate(case)
    assert result.error is None, result.error
    (verdict,) = [v for v in result.results if v.rule == "r1"]
    return verdict


def test_a_search_of_a_case_built_list_for_each_message_is_stopped_by_the_budget_in_the_api(tmp_path: Path) -> None:
    """The red team's policy at the default budget (1,000,000 items): 100 messages pass; 6,000 messages make
    36,000,000 tests, 375 items a message (16 tests an item), beyond the budget after 2,667 messages."""
    book = _book(tmp_path, "not (any m in messages: contains_any(m.id, ids))", max_cost=None)
    small = _verdict(book, _chat(100))
    assert small.outcome.value == "complied", small.error
    big = _verdict(book, _chat(6000))
    assert big.outcome.value == "undetermined"
    assert big.error is not None and "budget exceeded" in big.error and "`contains_any(m.id, ids)`" in big.error, big.error


@pytest.mark.parametrize("condition, construct, steps", [
    ("not (any m in messages: contains_any(m.id, ids))", "contains_any(m.id, ids)", 16),
    ("not (any m in messages: m.id in ids)", "m.id in ids", 16),
    ("not (any m in messages: len(find_words(m.id, ids)) > 0)", "find_words(m.id, ids)", 4),  # (a plugin's)
    ("not (any m in messages: in_category(m.id, ids))", "in_category(m.id, ids)", 16),  # (a plugin's)
])
def test_each_searching_function_charges_the_budget(tmp_path: Path, condition: str, construct: str,
                                                     steps: int) -> None:
    """With a budget of 20,000 items: 100 messages cost 100 x (100 / steps) items and the walks; 1,000
    messages 1,000 x (1,000 / steps), beyond it."""
    book = _book(tmp_path, condition, max_cost=None)
    evaluator = Evaluator(book.book, budget=20_000)
    for n, outcome in [(100, "complied"), (1000, "undetermined")]:
        case = _chat(n)
        assert book.validate(case) is None
        (verdict,) = [v for v in evaluator.evaluate(case).results if v.rule == "r1"]
        assert verdict.outcome.value == outcome, (n, verdict.error)
    assert verdict.error is not None and "budget exceeded" in verdict.error and f"`{construct}`" in verdict.error


def test_the_static_estimate_counts_a_search_of_a_case_list_so_the_policy_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        _book(tmp_path, "not (any m in messages: contains_any(m.id, ids))")
    errors = list(info.value.errors) if isinstance(info.value, ErrorList) else [info.value]
    assert any("above the ceiling" in e.message for e in errors), [e.message for e in errors]


def test_the_charge_is_the_product_of_the_sizes_once_a_call() -> None:
    """``contains_any(text, words)``: 64-character blocks of the text times the words, 16 to an item."""
    fn = compile_expression("contains_any(text, words)")
    for text, words, items in [("a" * 10, ["x"] * 160, 10), ("a" * 640, ["x"] * 160, 110), ("a", ["x"] * 15, 0)]:
        with metered(1_000) as meter:
            assert fn.evaluate({"text": text, "words": words}) is False
            assert meter is not None and meter.limit - meter.left == items, (len(text), len(words))


def test_a_text_searched_for_the_policys_words_is_not_charged() -> None:
    """The bundled conduct rules search each message for a few dozen words of the policy: linear in the record."""
    fn = compile_expression('contains_any(text, ["加微信", "淘宝"])')
    with metered(10) as meter:
        assert fn.evaluate({"text": "在的" * 100_000}) is False
        assert meter is not None and meter.left == 10

"""Red team trial E, rough edges of the embedding API: a case handed over as Python values that JSON cannot hold.

The JSON readers refuse a lone surrogate and an integer past 4,300 digits with the record and the JSON path;
a caller of ``Rulebook.evaluate`` could hand them over directly, and a tuple where the schema wants an array:
the tuple passed the schema check and gave one verdict of rule None, the surrogate gave undetermined verdicts
naming a codec error, the long integer an "internal error … ValueError" (or, as the case id, an exception out
of ``evaluate``). Each is now a rejected case naming the JSON path (rulebook.casevalues).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from policy_eval.api import Rulebook

EXAMPLES = Path(__file__).parent.parent / "examples"
CHAT = json.loads((EXAMPLES / "chat_offplatform_diversion.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return Rulebook.load()


def _chat(change: Any) -> dict[str, Any]:
    case = copy.deepcopy(CHAT)
    change(case)
    return case


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(case: dict[str, Any]) -> None:
        node = case
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return change


CASES = [
    ("tuple", lambda c: c.__setitem__("messages", tuple(c["messages"])), "$.messages", "a tuple where JSON has an array"),
    ("long integer in a string field", _set(("messages", 0, "id"), 10 ** 100_000), "$.messages[0].id",
     "an integer of more than 4,300 digits"),
    ("long integer as the case id", _set(("case_id",), 10 ** 100_000), "$.case_id", "an integer of more than 4,300 digits"),
    ("lone surrogate in a text", _set(("messages", 0, "text"), "在的\ud800"), "$.messages[0].text", "lone surrogate"),
    ("lone surrogate in the case id", _set(("case_id",), "EX\udfff"), "$.case_id", "lone surrogate"),
    ("lone surrogate in a key", _set(("messages", 1, "t\ud800"), "x"), "$.messages[1]", "lone surrogate"),
    ("key not a string", _set(("messages", 1, 7), "x"), "$.messages[1]", "a key that is not a string"),
]


@pytest.mark.parametrize("change, path, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_value_json_cannot_hold_is_a_rejection_naming_its_json_path(book: Rulebook, change: Any, path: str,
                                                                      words: str, detail: str) -> None:
    case = _chat(change)
    result = book.evaluate(case, detail=detail)  # type: ignore[arg-type]
    assert result.error is not None, [(v.rule, v.outcome, v.error) for v in result.results]
    assert result.error["json_path"] == path and words in result.error["message"], result.error
    assert "internal error" not in result.error["message"]
    assert not result.results
    error = book.validate(case)
    assert error is not None and error.json_path == path


def test_explain_rejects_it_too(book: Rulebook) -> None:
    result = book.evaluate(_chat(_set(("messages", 0, "text"), "\ud83d")), explain=True)
    assert result.error is not None and result.error["json_path"] == "$.messages[0].text"


def test_a_valid_case_still_evaluates_with_its_surrogate_pairs_and_long_enough_numbers(book: Rulebook) -> None:
    """A joined pair is a character (an emoji), and an integer JSON readers read is no error."""
    case = _chat(_set(("messages", 0, "text"), "在的 \U0001F600"))
    result = book.evaluate(case)
    assert result.error is None and result.results
    assert result.to_dict() == book.evaluate(copy.deepcopy(case)).to_dict()
    assert book.validate(case) is None

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


def test_evaluate_many_in_worker_processes_rejects_them_as_one_process_does(book: Rulebook) -> None:
    """With ``jobs > 1`` the cases went to the batch workers' schema check without the screen: the tuple passed
    it and gave a verdict of rule None, the long integer an internal error. Every job count now gives the same
    rejection at the same JSON path, and the valid cases around them are evaluated."""
    cases = [CHAT] + [_chat(c[1]) for c in CASES] + [CHAT]
    one = [r.to_dict() for r in book.evaluate_many(cases)]
    two = [r.to_dict() for r in book.evaluate_many(cases, jobs=2)]
    for (_, _, path, words), result in zip(CASES, two[1:-1], strict=True):
        assert result.get("error") is not None and result["error"]["json_path"] == path, result
        assert words in result["error"]["message"] and "internal error" not in result["error"]["message"]
    assert "error" not in two[0] and "error" not in two[-1] and two[0]["results"]
    assert [r.get("error") for r in two] == [r.get("error") for r in one]
    assert [r.get("results") for r in two] == [r.get("results") for r in one]


TUPLE_PLUGIN = '''
from policy_eval.plugins.hookspecs import hookimpl

def _tuples(case):
    case["messages"] = tuple(case["messages"])
    return case

@hookimpl
def policy_eval_enrichers():
    return [_tuples]
'''


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_enricher_that_returns_what_json_cannot_hold_costs_its_record_with_the_json_path(
        tmp_path: Path, jobs: str) -> None:
    """``eval`` screens what an enricher returns as the API does (a tuple passed the schema check and gave one
    verdict of rule None)."""
    import subprocess
    import sys

    (tmp_path / "tuple_plugin.py").write_text(TUPLE_PLUGIN, encoding="utf-8")
    source = tmp_path / "cases.jsonl"
    source.write_text(json.dumps(CHAT, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    cli = Path(sys.executable).parent / "policy-eval"
    proc = subprocess.run([str(cli), "eval", "-q", "--plugin", "tuple_plugin", "-f", "jsonl", "--jobs", jobs, "-o", str(out),
                           str(source)], env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # (a record was rejected)
    [line] = out.read_text(encoding="utf-8").splitlines()
    error = json.loads(line)["error"]
    assert error["json_path"] == "$.messages" and "a tuple where JSON has an array" in error["message"], error


@pytest.fixture(scope="module")
def unchecked() -> Rulebook:
    return Rulebook.load(validate=False)


LONG_ID = 10 ** 100_000  # an integer Python will not write out in decimal (more than 4,300 digits)


@pytest.mark.parametrize("detail", ["full", "findings"])
@pytest.mark.parametrize("explain", [False, True])
def test_with_validation_off_a_case_id_too_long_to_write_is_shown_as_none_not_raised(
        unchecked: Rulebook, detail: str, explain: bool) -> None:
    """With validation off nothing refuses the case, and writing its id with ``str()`` raised ValueError out of
    ``evaluate`` (the quick paths); the batch path showed such an id as none, and now every path does."""
    case = _chat(_set(("case_id",), LONG_ID))
    result = unchecked.evaluate(case, detail=detail, explain=explain)  # type: ignore[arg-type]
    assert result.case_id is None and result.error is None
    plain = unchecked.evaluate(_chat(_set(("case_id",), None)), detail=detail, explain=explain)  # type: ignore[arg-type]
    assert [(v.rule, v.outcome) for v in result.results] == [(v.rule, v.outcome) for v in plain.results]
    assert [r.case_id for r in unchecked.evaluate_many([case, CHAT])] == [None, CHAT["case_id"]]


def test_with_validation_off_due_shows_a_too_long_case_id_as_none(unchecked: Rulebook) -> None:
    forecast = unchecked.due(_chat(_set(("case_id",), LONG_ID)))
    assert forecast.case_id is None and forecast.error is None


def test_an_integer_case_id_of_ordinary_length_is_still_written_out(unchecked: Rulebook) -> None:
    for detail in ("full", "findings"):
        assert unchecked.evaluate(_chat(_set(("case_id",), 12345)), detail=detail).case_id == "12345"  # type: ignore[arg-type]


def test_a_case_id_of_a_text_subclass_is_written_as_plain_text(unchecked: Rulebook) -> None:
    """A text is its own id; a subclass of str (an embedder's own type) is written as the plain text it holds."""
    class Tagged(str):
        def __str__(self) -> str:
            return "tagged:" + super().__str__()

    for detail in ("full", "findings"):
        shown = unchecked.evaluate(_chat(_set(("case_id",), Tagged("C-1"))), detail=detail).case_id
        assert type(shown) is str and shown == str(Tagged("C-1"))
        assert unchecked.evaluate(_chat(_set(("case_id",), "C-2")), detail=detail).case_id == "C-2"

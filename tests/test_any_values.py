"""Values of type ``any`` (a field the schema leaves untyped, every path without a schema) are checked where a type
is due (lang.dynamic; docs/language.md, "Values of type any").

Before, a value of the wrong JSON type reached Python code written for the declared one: ``lower(p)`` on a list
ended the whole record as an internal error, ``p or true`` answered with Python's truthiness, ``p > 1`` read
``true`` as the number 1, and the generated code and the interpreter (``explain``) could answer differently. Now
each is a data error naming the expression and what it got, the same in every evaluator, and the rule is
undetermined. Found by a grammar fuzzer over untyped paths (2026-12-06): 1,034 disagreements between the
generated code and the interpreter in 110,000 expressions before, none after.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from policy_eval import expression as lang
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN
from policy_eval.run.batch import BatchOptions, Processor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
import fuzz_untyped  # noqa: E402

UNTYPED = {"type": "object", "properties": {"p": {}, "q": {}, "o": {"type": "object", "properties": {"x": {}}},
                                            "n": {"type": "integer"}, "s": {"type": "string"}}}


def _both(text: str, case: dict[str, Any], schema: dict[str, Any] | None = UNTYPED) -> list[Any]:
    """What the generated code and the interpreter answer (an EvalFailure's message where they fail)."""
    prog = lang.compile_expression(text, case_schema=schema)
    out = []
    for run in (prog.evaluate, prog.interpret):
        try:
            out.append(run(case))
        except EvalFailure as exc:
            out.append(exc.message)
    return out


@pytest.mark.parametrize("schema", [UNTYPED, None], ids=["untyped-fields", "no-schema"])
@pytest.mark.parametrize(("text", "case", "error"), [
    ('lower(p) == "x"', {"p": []}, "p: argument 1 of lower() must be string, got a list ([])"),
    ("date_of(p) == date_of(p)", {"p": "2024-01-01T00:00:00+08:00"},
     "p: argument 1 of date_of() must be datetime, got a text ('2024-01-01T00:00:00+08:00')"),
    ("p or true", {"p": {}}, "p: the left side of 'or' must be bool, got an object ({})"),
    ("not p", {"p": 1}, "p: the operand of 'not' must be bool, got a number (1)"),
    ("(if p then 1 else 2) > 0", {"p": "yes"}, "p: the condition of 'if' must be bool, got a text ('yes')"),
    ("p > 1", {"p": True}, "p: the left side of '>' must be decimal, got a boolean (True)"),
    ("p == 1", {"p": True}, "p: the left side of '==' must be decimal, got a boolean (True)"),
    ("p / 2 > 1", {"p": []}, "p: the left side of '/' must be decimal, got a list ([])"),
    ("default(p, true) or false", {"p": 1}, "p: argument 1 of default() must be bool, got a number (1)"),
    ("(if true then p else 1) > 0", {"p": "s"}, "p: the 'then' branch of 'if' must be decimal, got a text ('s')"),
    ("abs(p) > 0", {"p": True}, "p: argument 1 of abs() must be decimal, got a boolean (True)"),
    ("len(p) > 0", {"p": True}, "p: argument 1 of len() must be string or list, got a boolean (True)"),
    ('lower(p) == "x"', {"p": 10 ** 5000},  # (an integer of more digits than Python writes, named)
     "p: argument 1 of lower() must be string, got a number (<int too large to show>)"),
    ("any i in p: i", {"p": [False, 2]}, "i: the body of 'any' must be bool, got a number (2)"),
])
def test_a_value_of_the_wrong_type_is_a_data_error_in_every_evaluator(schema: dict[str, Any] | None, text: str,
                                                                      case: dict[str, Any], error: str) -> None:
    assert _both(text, case, schema) == [error, error]


@pytest.mark.parametrize(("text", "case", "expected"), [
    ('lower(p) == "x"', {"p": "X"}, True),
    ("p or true", {"p": False}, True),
    ("p > 1", {"p": 2}, True),
    ("p > 1", {"p": 1.5}, True),  # (a float, as an embedder's dict may hold: a number)
    ("p == 1", {}, UNKNOWN),  # unknown stays unknown
    ("lower(p) == \"x\"", {}, UNKNOWN),
    # two values of type any: JSON's equality, where a boolean is not a number
    ("p == q", {"p": True, "q": 1}, False),
    ("p == q", {"p": [True], "q": [1]}, False),
    ("p == q", {"p": {"a": [1, False]}, "q": {"a": [1, False]}}, True),
    ("p != q", {"p": 1, "q": True}, True),
    ("p in q", {"p": True, "q": [1, 2]}, False),
    ("p in q", {"p": 1, "q": [True, 1]}, True),
])
def test_a_value_of_the_right_type_is_read_as_before(text: str, case: dict[str, Any], expected: Any) -> None:
    assert _both(text, case) == [expected, expected]


@pytest.mark.parametrize(("text", "error"), [
    ("p + q > 0", "p + q: '+' does not take a boolean (a boolean (True))"),
    ("p < q", "p < q: '<' does not take a boolean (a boolean (True))"),
    ("-p < 0", "-p: '-' does not take a boolean (a boolean (True))"),
])
def test_arithmetic_and_order_between_values_of_type_any_refuse_a_boolean(text: str, error: str) -> None:
    assert _both(text, {"p": True, "q": 1}) == [error, error]


@pytest.mark.parametrize(("text", "case"), [
    ("default(1, p.w) == 1", {"p": "x"}),  # the fallback is computed too, as every call's arguments are
    ("exists(exists(p.w))", {"p": 0}),  # an argument that is never unknown is still computed
    ("q < exists(p.w)", {"p": 0}),  # an operand that is never unknown beside an unknown one
])
def test_a_data_error_in_an_argument_that_is_not_needed_is_still_the_answer(text: str, case: dict[str, Any]) -> None:
    got = _both(text, case, None)
    assert got[0] == got[1] and isinstance(got[0], str) and "p.w: expected an object" in got[0]


@pytest.mark.parametrize(("text", "case", "expected"), [
    ("p[q] == 1", {"p": [1, 2], "q": 0}, True),
    ("p[q] == 1", {"p": [1, 2], "q": "0"}, "q: a list index must be int, got a text ('0')"),
    ("p[q] == 1", {"p": [1, 2], "q": {}}, "q: a list index must be int, got an object ({})"),  # (was a TypeError)
    ("n[p.w] == 1", {"p": 0}, "p.w: expected an object"),  # the index is computed where the list is unknown too
])
def test_a_list_index_of_type_any_is_checked_and_computed_with_its_list(text: str, case: dict[str, Any],
                                                                        expected: Any) -> None:
    got = _both(text, case, None)
    assert got[0] == got[1]
    assert got[0] == expected if not isinstance(expected, str) else got[0].startswith(expected)


@pytest.mark.parametrize(("text", "case", "expected"), [
    ("exists(null)", {}, False),  # (was true: Python's None is not unknown)
    ("default(n, null) > 1", {}, UNKNOWN),  # (was a data error: '>' between None and an int)
    ("default(n, null) > 1", {"n": 2}, True),
    ("(if default(b, null) then 1 else 2) == 2", {}, UNKNOWN),
    ('text(null) == "x"', {}, UNKNOWN),  # (a strict function of a constant that is unknown is unknown)
])
def test_a_null_written_as_an_argument_is_unknown(text: str, case: dict[str, Any], expected: Any) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "b": {"type": "boolean"}}}
    assert _both(text, case, schema) == [expected, expected]


def test_a_record_with_a_value_of_the_wrong_type_is_evaluated_not_an_internal_error(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "schemas" / "cases").mkdir(parents=True)
    schema = {"type": "object", "required": ["kind"], "properties": {
        "kind": {"const": "demo"}, "at": {"type": "string", "format": "date-time"}, "p": {}}}
    (tmp_path / "schemas" / "cases" / "demo.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    (tmp_path / "policies" / "demo.yaml").write_text("""\
policy:
  id: demo
  title: demo
  version: "1"
  source: {document: tests/test_any_values.py}
  effective_from: 2020-01-01
  applies_to: demo
  reference_time: at
rules:
  - id: lower
    title: p in lower case is x
    clause: "1"
    severity: low
    require: lower(p) == "x"
    message: not x
  - id: flag
    title: p is set
    clause: "2"
    severity: low
    require: p
    message: not set
""", encoding="utf-8")
    proc = Processor(BatchOptions(policies=str(tmp_path / "policies"), schemas=str(tmp_path / "schemas"),
                                  detail="full"))
    outcomes = {}
    for p in ([], "X", True):
        record = json.dumps({"kind": "demo", "at": "2024-01-01T00:00:00+08:00", "p": p}).encode()
        result = proc.process(("cases.jsonl", 1, record))
        assert result.error is None, result.error
        outcomes[json.dumps(p)] = {r.rule: (r.outcome.value, r.error) for r in result.results}
    assert outcomes["[]"] == {
        "lower": ("undetermined", "p: argument 1 of lower() must be string, got a list ([])"),
        "flag": ("undetermined", "p: require must be bool, got a list ([])")}
    assert outcomes['"X"'] == {"lower": ("complied", None),
                               "flag": ("undetermined", "p: require must be bool, got a text ('X')")}
    assert outcomes["true"]["flag"] == ("complied", None)
    assert outcomes["true"]["lower"] == ("undetermined",
                                         "p: argument 1 of lower() must be string, got a boolean (True)")


@pytest.mark.parametrize("seed", range(4))
def test_random_conditions_over_untyped_paths_get_one_answer(seed: int) -> None:
    """A fixed sample of fuzz/fuzz_untyped.py: 400 conditions a seed, six random cases each."""
    assert list(fuzz_untyped.disagreements(random.Random(seed), 400)) == []

"""A ``null`` written as an item of a list in a policy is a load error located at it: in a list literal, in a
parameter's value (plain or dated) and in a deployment's overlay. Before, ``["水果", null]`` type-checked as
``list<string>`` and held Python's None, which ``in`` and the functions read as a value, not as unknown
(``order.n in [1, null]`` was false, not unknown, for any other n; in_category failed on it when the call ran), and a
parameter's null item was reported as "unknown name 'None'". The expected messages and columns are read off the
texts below, not from a run of the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval import expression as lang
from policy_eval.errors import PolicyError, PolicyTypeError

SCHEMA = {"type": "object", "properties": {"order": {"type": "object", "properties": {
    "category": {"type": "string"}, "n": {"type": "integer"}}}}}
LITERAL = "a list written in a policy holds values; leave the item out (a missing value in the case is tested with " \
          "exists(...))"


@pytest.mark.parametrize(("text", "item", "column"), [
    ('order.category in ["水果", null]', 2, 26),
    ("order.n in [1, null]", 2, 16),
    ("order.n in [null, 1]", 1, 13),
    ("len([null]) > 0", 1, 6),
    ("len([1, null, 2]) > 0", 2, 9),
    ('order.category in [["a"], [null]][1]', 1, 28),  # (the inner list's own item)
    ('in_category(order.category, ["水果", null])', 2, 36),
])
def test_a_null_item_of_a_written_list_is_a_load_error_at_the_null(text: str, item: int, column: int) -> None:
    with pytest.raises(PolicyTypeError) as info:
        lang.compile_expression(text, case_schema=SCHEMA)
    err = info.value
    assert err.message == f"item {item} of the list is null: {LITERAL}"
    assert (err.line, err.column, err.end_column) == (1, column, column + 4)
    assert text[column - 1:column + 3] == "null"


@pytest.mark.parametrize("text", ['order.category in ["水果", "生鲜"]', "order.n in [1, 2]", "len([]) == 0",
                                  'default(order.category, "x") in ["x"]'])
def test_lists_without_a_null_still_load(text: str) -> None:
    assert lang.compile_expression(text, case_schema=SCHEMA).type.name == "bool"


def _policy(tmp_path: Path, params: str, use: str) -> Path:
    pt.write(tmp_path / "p" / "demo.yaml", pt.policy(params + pt.rules_text(pt.rule("r", use))))
    return tmp_path / "p"


def _only(errors: list[PolicyError]) -> PolicyError:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def _at(path: Path, text: str) -> tuple[int, int]:
    """The line and column of the ``null`` on the first line of ``path`` holding ``text``."""
    line = next(i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in row)
    row = path.read_text(encoding="utf-8").splitlines()[line - 1]
    return line, row.index("null", row.index(text)) + 1


PARAM = "item 2 of parameter 'cats' is null: a parameter holds values; give one, or leave the item out of a list"


@pytest.mark.parametrize(("params", "marker"), [
    ("params:\n  cats:\n    type: list<string>\n    value: [水果, null]\n", "value: [水果, null]"),
    ("params:\n  cats:\n    type: list<string>\n    values:\n      '2020-01-01': [水果]\n"
     "      '2021-01-01': [水果, null]\n", "'2021-01-01': [水果, null]"),
])
def test_a_null_item_of_a_parameter_is_a_load_error_at_the_null(tmp_path: Path, params: str, marker: str) -> None:
    folder = _policy(tmp_path, params, "request.type in cats")
    err = _only(pt.errors(folder))
    assert isinstance(err, PolicyTypeError) and err.message == PARAM
    assert (err.file, err.line, err.column) == (str(folder / "demo.yaml"), *_at(folder / "demo.yaml", marker))


DEPLOYED = "params:\n  cats:\n    type: list<string>\n    clause: 售后服务规则 1.1\n"


@pytest.mark.parametrize("overlay", ["file", "mapping"])
def test_a_null_item_of_a_deployments_parameter_is_a_load_error(tmp_path: Path, overlay: str) -> None:
    folder = _policy(tmp_path, DEPLOYED, "request.type in cats")
    given: Any = {"demo": {"cats": ["水果", None]}}
    if overlay == "file":
        given = pt.write(tmp_path / "deploy.yaml", "params:\n  demo:\n    cats: [水果, null]\n")
    err = _only(pt.errors(folder, params=given))
    assert err.message == PARAM
    if overlay == "file":
        assert (err.file, err.line, err.column) == (str(given), 3, 16)
    # the same overlay without the null loads
    assert pt.load(folder, params={"demo": {"cats": ["水果"]}}) is not None

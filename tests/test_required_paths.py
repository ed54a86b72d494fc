"""The paths a case schema requires, tested once at the top of a fused function (rulebook.required, lang.fusion).

A fused function reads a path every checked case holds (``request.type`` of an after-sale case) without testing it
for unknown at each use: it tests it once, at the top, and gives up (the caller decides the case rule by rule)
on a case without it, which only an unchecked case can be (the API with validation off). A required record it
hoists (``request``) is tested where it is read, and the reads within it are not tested for it again. These tests fail if a
path the schema does not require were taken as required, if the test at the top were missing or wrong, or if a
case without a required path were decided otherwise than by the function that takes nothing as required.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from goldencorpus import golden_tests

from policy_eval.lang.compiler import REF_TIME
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.required import required_paths
from policy_eval.run import compose, kernel
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.nullshown import NO_NULL


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


@pytest.mark.parametrize(("schema", "expected"), [
    (_obj(["a", "b"], a={"type": "string"}, b={"type": "integer"}, c={"type": "string"}), {("a",), ("b",)}),
    (_obj(["o"], o=_obj(["x"], x={"type": "string"}, y={"type": "string"})), {("o",), ("o", "x")}),
    (_obj(["o"], o={"type": ["object", "null"], "required": ["x"], "properties": {"x": {"type": "string"}}}), set()),
    (_obj(["a"], a={"type": ["string", "null"]}), set()),  # null allowed
    (_obj(["a"], a={"enum": ["x", None]}), set()),
    (_obj(["a"], a={"enum": ["x", "y"]}), {("a",)}),
    (_obj(["a"], a={"const": "x"}), {("a",)}),
    (_obj(["a"], a={"const": None}), set()),
    (_obj(["a"], a={}), set()),  # no type: anything, null included
    (_obj(["a"], a={"$ref": "#/$defs/t"}), set()),  # not followed
    (_obj(["a"]), set()),  # required, but no properties named
    (_obj(["a"], b={"type": "string"}), set()),
    ({"type": "object", "allOf": [_obj(["a"], a={"type": "string"})]}, set()),  # only the object's own list
    ({"type": "array"}, set()),
    (True, set()),
])
def test_the_paths_a_schema_requires(schema: Any, expected: set[tuple[str, ...]]) -> None:
    assert required_paths(schema) == expected


def test_the_bundled_after_sale_schema_requires_the_request_type_and_submission() -> None:
    paths = required_paths(load_rulebook().case_schemas["after_sale"])
    assert {("request", "type"), ("request", "submitted_at"), ("order", "id")} <= paths
    assert ("order", "confirmed_at") not in paths and ("request", "merchant_response") not in paths


@pytest.fixture(scope="module")
def pair() -> tuple[Evaluator, Evaluator]:
    rb = load_rulebook()
    seeded = Evaluator(rb, detail="findings")
    plain_paths = kernel.required_paths
    kernel.required_paths = lambda schema: frozenset()
    try:
        plain = Evaluator(rb, detail="findings")
    finally:
        kernel.required_paths = plain_paths
    return seeded, plain


def _after_sale_cases() -> list[dict[str, Any]]:
    return [t.case for t in golden_tests() if isinstance(t.case, dict) and t.case.get("kind") == "after_sale"]


def test_a_fused_function_tests_the_required_paths_it_reads_once(pair: tuple[Evaluator, Evaluator]) -> None:
    seeded, plain = pair
    assert seeded._kernel is not None and plain._kernel is not None
    tops = [" ".join(fn.inline.body).split("# step 0")[0] for fn in seeded._kernel._fused.values() if fn is not None]
    assert any(" is U:" in top for top in tops)  # the test at the top, where the reads are
    assert not any(" is U:" in " ".join(fn.inline.body).split("# step 0")[0]
                   for fn in plain._kernel._fused.values() if fn is not None)


def test_a_required_record_is_tested_once_where_it_is_read(pair: tuple[Evaluator, Evaluator]) -> None:
    """``order`` and ``request`` (required records, hoisted): each tested at its read, the reads within it not."""
    seeded, plain = pair
    assert seeded._kernel is not None and plain._kernel is not None
    history = next(h for h in seeded._by_kind["after_sale"] if h.id == "after-sales")
    body = " ".join(seeded._kernel._fused[id(history.latest())].inline.body)
    tested = set(re.findall(r"if (_r\d+) is None: +_u\(\)", body.split("# step 0")[0]))
    assert len(tested) >= 2  # order and request
    assert not any(f"{record} is None or" in body for record in tested)
    plain_bodies = [" ".join(fn.inline.body) for fn in plain._kernel._fused.values() if fn is not None]
    assert not any(re.search(r"if _r\d+ is None: +_u\(\)", b) for b in plain_bodies)
    assert any(re.search(r"_r\d+ is None or", b) for b in plain_bodies)  # (without: tested at every read)


@pytest.mark.parametrize("change", ["removed", "null", "text"])
def test_a_case_without_a_required_path_is_decided_as_without_the_test(pair: tuple[Evaluator, Evaluator],
                                                                       change: str) -> None:
    seeded, plain = pair
    required = sorted(required_paths(load_rulebook().case_schemas["after_sale"]))
    gave_up = compared = 0
    for case in _after_sale_cases():
        for path in required:
            other = copy.deepcopy(case)
            node: Any = other
            for key in path[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict) or path[-1] not in node:
                continue
            if change == "removed":
                del node[path[-1]]
            else:  # (a text where a record is required: only an unchecked case, which the fused function gives up on)
                node[path[-1]] = None if change == "null" else "x"
            null_free = not compose.has_null(other)
            a = seeded.evaluate(other, source="x.jsonl", record=1, null_free=null_free)
            b = plain.evaluate(other, source="x.jsonl", record=1, null_free=null_free)
            assert a.to_json_bytes() == b.to_json_bytes(), (path, change)
            compared += 1
            gave_up += _gives_up(seeded, other)
    assert compared > 100
    assert gave_up > 0  # the test at the top was met, and the case went the general way


def _gives_up(ev: Evaluator, case: dict[str, Any]) -> bool:
    """Whether a fused function of an after-sale version returned None on the case (at the version's start)."""
    assert ev._kernel is not None
    for history in ev._by_kind.get("after_sale", []):
        for version in history.versions:
            fn = ev._kernel._fused.get(id(version))
            if fn is not None and fn(case, {REF_TIME: version.effective_from, NO_NULL: True}, None) is None:
                return True
    return False

"""Full detail's inputs read once per case by generated code (run.inputs) equal the loops they replace.

For every version of the bundled rulebook, on every golden case and its variants (each leaf made null,
deleted, of the wrong type), and on cases holding a value of every JSON type at every path the rules read:
the version's inputs equal ``case_inputs`` of the union of its rules' paths (same keys, same order, same
values), and each rule's equal ``case_inputs`` of its own paths. A verdict's ``inputs`` is then its own dict.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

import pytest
from test_kernel import TESTS, _variants

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import PolicyVersion
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.explaining import case_inputs
from policy_eval.run.inputs import compile_inputs

RULEBOOK = load_rulebook()
VERSIONS = [v for v in RULEBOOK.versions() if v.rules]


def _paths(readers: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...], Any]]:
    union: dict[str, Any] = {}
    for rule in readers:
        for p, read in rule.items():
            if "[" not in p:
                union.setdefault(p, read)
    return [(p, tuple(p.split(".")), read) for p, read in union.items()]


def _own(readers: dict[str, Any]) -> list[tuple[str, tuple[str, ...], Any]]:
    return [(p, tuple(p.split(".")), read) for p, read in readers.items() if "[" not in p]


def _check(version: PolicyVersion, case: Any) -> None:
    readers = [r.readers for r in version.rules]
    own = compile_inputs(readers, version.id)(case)
    want = case_inputs(_paths(readers), case) if type(case) is dict else {}
    made: dict[str, Any] = {}  # every rule's, in the rules' order: each path read once, with its first reader
    for mine in own:
        for path, value in mine.items():
            made.setdefault(path, value)
    assert list(made.items()) == list(want.items())
    assert len(own) == len(version.rules)
    for rule, mine in zip(version.rules, own, strict=True):
        expected = case_inputs(_own(rule.readers), case) if type(case) is dict else {}
        assert list(mine.items()) == list(expected.items()), rule.full_id
    assert len({id(d) for d in own}) == len(own)  # a fresh dict for each rule


@pytest.mark.parametrize("index", range(len(TESTS)), ids=[f"{t.file.rsplit('/', 1)[-1]}:{t.line}" for t in TESTS])
def test_generated_inputs_equal_the_loops_on_the_golden_corpus(index: int) -> None:
    case = TESTS[index].case
    versions = [v for v in VERSIONS if RULEBOOK.policies[v.id].applies_to == case.get("kind")]
    assert versions
    for variant in _variants(case) if index % 20 == 0 else [case]:
        for version in versions:
            _check(version, variant)


# a value of every JSON type (and what orjson or a plugin hands over), placed at every path a rule reads
_VALUES: list[Any] = [None, True, 0, -7, Decimal("19.90"), Decimal("1E+3"), 1.5, "", "x", "2023-10-20T19:32:41+08:00",
                      "2023-10-20T19:32:41Z", "2023-10-20T19:32:41.5-03:30", "2023-13-40T99:00:00+08:00",
                      "P3D", "2023-10-20", [], [1, "a"], {}, {"amount": "1.00"},
                      _dt.datetime(2023, 1, 1, tzinfo=_dt.UTC)]


def _placed(paths: list[str], value: Any) -> dict[str, Any]:
    case: dict[str, Any] = {}
    for path in paths:
        keys = path.split(".")
        node = case
        for k in keys[:-1]:
            nxt = node.get(k)
            if not isinstance(nxt, dict):
                nxt = node[k] = {}
            node = nxt
        node[keys[-1]] = value
    return case


@pytest.mark.parametrize("version", VERSIONS, ids=[f"{v.id}@{v.version}" for v in VERSIONS])
def test_generated_inputs_equal_the_loops_on_every_value_type(version: PolicyVersion) -> None:
    paths = [p for r in version.rules for p in r.readers if "[" not in p]
    for value in _VALUES:
        _check(version, _placed(paths, value))
        # and with an object in the way of every path (what is below it is not read)
        for p in {p.split(".")[0] for p in paths if "." in p}:
            _check(version, {**_placed(paths, value), p: value})
    _check(version, [])  # not an object: nothing read
    _check(version, {})


def test_a_verdicts_inputs_are_its_rules_own() -> None:
    ev = Evaluator(RULEBOOK, detail="full", explain="missing")
    case = next(t.case for t in TESTS if t.case.get("kind") == "after_sale")
    result = ev.evaluate(case)
    by_rule = {r.rule: r for r in result.results if r.rule is not None}
    checked = 0
    for version in VERSIONS:
        for rule in version.rules:
            got = by_rule.get(rule.id)
            if got is None or got.version != version.version or got.policy != version.id or got.missing:
                continue  # (an undetermined verdict records what its trace read)
            assert dict(got.inputs) == case_inputs(_own(rule.readers), case), rule.full_id
            checked += 1
    assert checked > 5

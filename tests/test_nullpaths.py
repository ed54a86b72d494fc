"""run.nullpaths: a case's nulls found by its nulls (ReadPaths) give what walking every read path gives.

The evaluator asks, per version, which of the paths its rules read a case marks unknown with a null. Walking each
path down the case was the old way (the reference here); a :class:`ReadPaths` looks each null of the case up among
the prefixes of the paths instead. Both must name the same paths, in the same order, on every golden
case with each of its values (and objects) made null by turns, on nulls inside lists, under a key holding a dot,
under an object no path reads, and at several places at once.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from goldencorpus import golden_tests

from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.nullpaths import ReadPaths, null_paths


def _paths(*texts: str) -> list[tuple[str, tuple[str, ...], Any]]:
    return [(t, tuple(t.split(".")), None) for t in texts]


_ABSENT = object()


def _walked(case: dict[str, Any], paths: list[tuple[str, tuple[str, ...], Any]]) -> tuple[str, ...]:
    """The reference: each path walked down the case to the first null on its way (the way before ReadPaths)."""
    out: list[str] = []
    for _, keys, _ in paths:
        node: Any = case
        for i, key in enumerate(keys):
            if type(node) is not dict:
                break
            node = node.get(key, _ABSENT)
            if node is None:
                p = ".".join(keys[: i + 1])
                if p not in out:
                    out.append(p)
                break
            if node is _ABSENT:
                break
    return tuple(out)


def _both(case: dict[str, Any], paths: list[tuple[str, tuple[str, ...], Any]]) -> tuple[str, ...]:
    walked = _walked(case, list(paths))
    assert null_paths(case, ReadPaths(paths)) == walked, (case, walked)
    return walked


def test_small_cases() -> None:
    paths = _paths("order.received_at", "request.submitted_at", "order.shipped_at", "request.merchant_response.at",
                   "snapshot_at", "a.b")
    assert _both({"order": {"received_at": None}}, paths) == ("order.received_at",)
    assert _both({"order": None, "request": {"submitted_at": "x"}}, paths) == ("order",)
    assert _both({"request": {"merchant_response": None}, "order": {"shipped_at": None, "received_at": None}},
                 paths) == ("order.received_at", "order.shipped_at", "request.merchant_response")
    assert _both({"snapshot_at": None, "order": {"shipped_at": None}}, paths) == ("order.shipped_at", "snapshot_at")
    assert _both({"a.b": None, "a": {"c": None}}, paths) == ()  # a dotted key is not a path; a.c is not read
    assert _both({"order": {"items": [None, {"x": None}]}, "other": {"deep": {"x": None}}}, paths) == ()
    assert _both({"request": {"merchant_response": {"at": None}}}, paths) == ("request.merchant_response.at",)
    assert _both({}, paths) == () and _both({"order": {}}, []) == ()


def _walk(node: Any, at: list[Any], places: list[list[Any]]) -> None:
    """Every place in ``node`` (keys and the first two items of lists), into ``places``."""
    if isinstance(node, dict):
        for k, v in node.items():
            places.append([*at, k])
            _walk(v, [*at, k], places)
    elif isinstance(node, list):
        for i, v in enumerate(node[:2]):
            _walk(v, [*at, i], places)


def test_the_golden_corpus_with_nulls_anywhere() -> None:
    """Each version's read paths, on golden cases with 1 to 4 of their values or objects made null at random."""
    ev = Evaluator(load_rulebook())
    versions = {kind: [ev._null_paths[id(v)] for h in histories for v in h.versions]
                for kind, histories in ev._by_kind.items()}
    rng = random.Random(7)
    found = compared = 0
    for test in golden_tests():
        kind = test.case.get("kind")
        if kind not in versions:
            continue
        places: list[list[Any]] = []
        _walk(test.case, [], places)
        for _ in range(3):
            case = copy.deepcopy(test.case)
            for place in rng.sample(places, min(len(places), rng.randint(1, 4))):
                node = case
                try:
                    for key in place[:-1]:
                        node = node[key]
                    node[place[-1]] = None
                except (KeyError, IndexError, TypeError):  # (under a null set just before)
                    pass
            for read in versions[kind]:
                found += bool(_both(case, list(read.paths)))
                compared += 1
    assert compared > 5000 and found > 1000, (compared, found)

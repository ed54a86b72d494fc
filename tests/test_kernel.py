"""The findings fast path (run.kernel) decides exactly what the general path decides.

In findings detail, complied and not-applicable verdicts are counted by a tight loop and only the others
are built by the evaluator's general path. Every golden case, and variants of each with a value made
unknown (null), removed, or given the wrong type, must give the same findings record as the full result
does (findings are the full result's violated, undetermined and waived verdicts, with the same counts).
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
from goldencorpus import golden_tests

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome

TESTS = golden_tests()


@pytest.fixture(scope="module")
def pair():  # type: ignore[no-untyped-def]
    books: dict[str | None, tuple[Evaluator, Evaluator]] = {}

    def get(params: str | None, **selection: Any) -> tuple[Evaluator, Evaluator]:
        key = repr((params, sorted(selection.items())))
        if key not in books:
            rb = load_rulebook(params=params)
            books[key] = (Evaluator(rb, detail="findings", **selection),  # type: ignore[index]
                          _rule_by_rule(Evaluator(rb, detail="full", explain="missing", **selection)))
        return books[key]  # type: ignore[index]
    return get


def _rule_by_rule(ev: Evaluator) -> Evaluator:
    """The general path with each rule decided on its own (no fused function, lang.fusion): the reference
    the fast path is compared with."""
    ev._kernel._fused.clear()
    return ev


def _leaves(value: Any, path: tuple[Any, ...] = (), items: bool = False) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in ("kind",):
                yield path + (k,)
                yield from _leaves(v, path + (k,), items)
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            if items:
                yield path + (i,)
            yield from _leaves(v, path + (i,), items)


_CHANGES = ("null", "delete", "wrong")


def _variants(case: dict[str, Any], items: bool = False, rotate: int | None = None) -> Iterator[dict[str, Any]]:
    """The case itself, then each path set to null, deleted, and set to a value of the wrong type (``items``:
    the first two items of each list too). With ``rotate`` (a case's index) each path gets one of the three
    changes, the next one at the next path and case, so that a sweep over the corpus still makes every change
    at every kind of path at a third of the cost."""
    yield case
    for n, path in enumerate(_leaves(case, items=items)):
        for change in _CHANGES if rotate is None else (_CHANGES[(n + rotate) % 3],):
            other = copy.deepcopy(case)
            node = other
            for key in path[:-1]:
                node = node[key]
            if change == "null":
                node[path[-1]] = None
            elif change == "delete":
                del node[path[-1]]
            else:
                node[path[-1]] = [1] if isinstance(node[path[-1]], str) else "x"
            yield other


def _same(fast: Evaluator, full: Evaluator, case: dict[str, Any], as_of: _dt.datetime | None) -> None:
    a = fast.evaluate(case, as_of=as_of)
    b = full.evaluate(case, as_of=as_of)
    assert a.is_findings and not b.is_findings
    assert a.to_findings() == b.to_findings()
    # findings detail keeps only what is not counted
    assert all(r.outcome in (Outcome.VIOLATED, Outcome.UNDETERMINED) or r.waiver is not None or r.rule is None
               for r in a.results)


@pytest.mark.parametrize("index", range(len(TESTS)), ids=[f"{Path(t.file).stem}:{t.line}" for t in TESTS])
def test_fast_path_agrees_with_the_general_path(pair, index: int) -> None:  # type: ignore[no-untyped-def]
    """Every golden case; every sixth one also with each of its values made null, removed or mistyped (by turns)."""
    test = TESTS[index]
    fast, full = pair(test.params)
    as_of = parse_instant(test.as_of) if test.as_of else None
    for case in _variants(test.case, rotate=index // 6) if index % 6 == 0 else [test.case]:
        _same(fast, full, case, as_of)


@pytest.mark.parametrize("selection", [{"only": ["after-sales/return-refund-handling-limit"]},
                                       {"skip": ["after-sales/refund-only-window"]},
                                       {"min_severity": "high"}])
def test_fast_path_with_a_selection(pair, selection: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """A rule selected alone still sees its (unselected) dependencies; they are not counted."""
    fast, full = pair(None, **selection)
    for test in TESTS:
        if test.params is None:
            _same(fast, full, test.case, parse_instant(test.as_of) if test.as_of else None)


CHAIN = pt.policy("definitions:\n  window_end: order.received_at + 15d\n" + pt.rules_text(
    pt.rule("in-window", "request.submitted_at <= window_end"),
    pt.rule("auto-refund", "exists(request.refund_succeeded_at)", depends_on="{in-window: complied}"),
    pt.rule("late-notice", "exists(request.merchant_response)", depends_on="{in-window: violated}",
         when="request.submitted_at > window_end - 30d"),
    pt.rule("after-refund", 'request.type != "return_refund"',
         depends_on="{auto-refund: [violated, complied], late-notice: [not_applicable, complied]}")))


def _chain_cases() -> Iterator[dict[str, Any]]:
    for received in (None, "absent", "2024-02-25T10:00:00+08:00", "2024-01-01T10:00:00+08:00"):
        for refunded in (None, "absent", "2024-03-02T10:00:00+08:00"):
            for response in ("absent", {"at": "2024-03-02T10:00:00+08:00", "action": "agree"}):
                for kind in ("refund_only", "return_refund"):
                    order: dict[str, Any] = {"id": "O1", "confirmed_at": "2024-02-20T10:00:00+08:00"}
                    request: dict[str, Any] = {"id": "R1", "type": kind, "submitted_at": "2024-03-01T10:00:00+08:00"}
                    if received != "absent":
                        order["received_at"] = received
                    if refunded != "absent":
                        request["refund_succeeded_at"] = refunded
                    if response != "absent":
                        request["merchant_response"] = response
                    yield {"kind": "after_sale", "case_id": "C1", "snapshot_at": "2024-03-20T00:00:00+08:00",
                           "order": order, "request": request}


@pytest.mark.parametrize("selection", [{}, {"only": ["demo/after-refund"]}, {"skip": ["demo/in-window"]}])
def test_fast_path_follows_dependencies(tmp_path: Path, selection: dict[str, Any]) -> None:
    """Dependencies decided on the fast path gate their dependents as the general path does: an unwanted
    outcome makes the dependent not applicable, an undetermined one makes it undetermined."""
    rb = pt.load(pt.write(tmp_path / "demo.yaml", CHAIN).parent)
    fast = Evaluator(rb, detail="findings", **selection)
    full = _rule_by_rule(Evaluator(rb, detail="full", explain="missing", **selection))
    outcomes: set[tuple[str | None, str]] = set()
    for case in _chain_cases():
        _same(fast, full, case, None)
        outcomes |= {(r.rule, r.outcome.value) for r in full.evaluate(case).results}
    if not selection:  # the cases reach every outcome the chain can give
        assert {("auto-refund", "not_applicable"), ("auto-refund", "undetermined"), ("late-notice", "violated"),
                ("after-refund", "not_applicable"), ("after-refund", "violated"),
                ("after-refund", "undetermined"), ("after-refund", "complied")} <= outcomes


def test_outcomes_are_the_fused_functions_answer_by_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernel.outcomes (the full path's quick decisions) runs what Kernel.fused gives, and names its answers by
    the rules fused gives: each example case's outcomes are what decide() says rule by rule; a version that
    fused has no function for (here: made to say so) has none."""
    import json

    from policy_eval.lang.compiler import REF_TIME
    from policy_eval.lang.values import UNKNOWN
    from policy_eval.run.kernel import GATED, decide

    ev = Evaluator(load_rulebook(), detail="full")
    kernel = ev._kernel
    examples = Path(__file__).resolve().parent.parent / "examples"
    compared = 0
    for path in sorted(examples.glob("after_sale_*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        for history in ev._by_kind["after_sale"]:
            ref = history.latest().reference_time.fn(case, {REF_TIME: UNKNOWN})
            version = history.at(ref) if ref is not UNKNOWN else None
            found = kernel.fused(version) if version is not None else None
            if found is None:
                continue
            env = {REF_TIME: ref}
            answer = kernel.outcomes(version, case, env)
            assert answer is not None and len(answer) == len(found[1])
            outcomes = dict(zip((r.id for r in found[1]), answer, strict=True))
            for rule in found[1]:
                if outcomes[rule.id] is not GATED and not rule.depends_on:
                    assert outcomes[rule.id] is decide(version, rule, case, env, None)[0], (path.name, rule.id)
                    compared += 1
            monkeypatch.setattr(kernel, "fused", lambda v: None)
            assert kernel.outcomes(version, case, env) is None
            monkeypatch.undo()
    assert compared > 20

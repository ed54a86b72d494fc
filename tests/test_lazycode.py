"""run.lazycode: the generated glue of the embedding API's lazy verdicts, and which versions are metered.

The glue must give what the general path gives (tests/test_api_quick.py, tests/test_lazy_verdicts.py compare
them on the corpus); here: a version whose conditions can charge the budget is still metered on that path,
one that cannot is run without the budget's context variable, and the loop that stands in for the glue of a
very large version gives the same results."""

from __future__ import annotations

import copy
import json
import operator
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval.lang import ir
from policy_eval.lang.ast import Span
from policy_eval.lang.budget import concat_at, current, may_charge
from policy_eval.lang.types import BOOL, STRING
from policy_eval.rulebook import load_rulebook
from policy_eval.run import lazy as lazy_module
from policy_eval.run import lazycode
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import LazyResult, Outcome

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_SPAN = Span(1, 1, 1, 1, 0, 0)


def _chat() -> dict[str, Any]:
    case: dict[str, Any] = json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8"))
    return case


def _field(key: str) -> ir.IR:
    return ir.Field(STRING, _SPAN, key, None, key, None)


def test_what_may_charge_the_budget() -> None:
    text = _field("a")
    assert not may_charge([text, None])
    assert not may_charge([ir.Op(BOOL, _SPAN, "a == a", "==", operator.eq, (text, text))])
    # a quantifier, string `+` (lang.budget.concat_at) and a plugin's function may charge; the language's own not
    assert may_charge([ir.Quant(BOOL, _SPAN, "any", "any", "x", text, text)])
    assert may_charge([ir.Op(STRING, _SPAN, "a + a", "+", concat_at("a + a", 1, 1), (text, text))])
    assert may_charge([ir.Call(BOOL, _SPAN, "p(a)", "p", lambda v: True, (text,))])
    rb = load_rulebook()
    by_id = {f"{v.id}/{r.id}": r for v in rb.versions() for r in v.rules}
    uncharged = [r for r in by_id.values() if not may_charge([r.condition.node])]
    assert uncharged and any(may_charge([r.condition.node]) for r in by_id.values())


@pytest.mark.parametrize("findings", [False, True])
def test_a_version_that_may_charge_is_metered_on_the_quick_path(tmp_path: Path, findings: bool) -> None:
    """A quantifier over the messages with a budget too small for them: undetermined with the budget error, as
    the general path says; with a budget large enough, the same outcome as there. No budget is left set."""
    rb = pt.load(pt.write(tmp_path / "chat.yaml", pt.policy(
        pt.rules_text(pt.rule("no-links", 'all m in messages: len(m.text) < 500'),
                      pt.rule("plain", "exists(store_id)")),
        applies_to="chat", reference_time="captured_at")).parent)
    detail = "findings" if findings else "full"
    case = _chat()
    case["messages"] = case["messages"] * 20
    for budget in (5, 10_000):
        quick = Evaluator(rb, explain="missing", lazy=True, budget=budget, detail=detail)
        general = Evaluator(rb, explain="missing", lazy=True, budget=budget, detail=detail)
        general._lazy = None
        assert quick._lazy is not None
        ready = list(quick._lazy._ready.values())
        assert ready and all(r.metered for r in ready)
        a, b = quick.evaluate(case), general.evaluate(case)
        assert current() is None
        assert [(r.rule, r.outcome, r.error, r.reason) for r in a.results] == \
            [(r.rule, r.outcome, r.error, r.reason) for r in b.results]
        assert a.to_dict() == b.to_dict()
        outcome = next((r.outcome for r in a.results if r.rule == "no-links"), None)
        if budget == 5:
            assert outcome is Outcome.UNDETERMINED and "budget exceeded" in (a.results[0].error or "")
        else:
            assert outcome in (None, Outcome.COMPLIED)
            assert findings or all(isinstance(r, LazyResult) for r in a.results)  # (the quick path took it)


def test_a_version_that_cannot_charge_runs_unmetered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rb = pt.load(pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(
        pt.rule("in-window", "request.submitted_at <= order.confirmed_at + 15d")))).parent)
    ev = Evaluator(rb, explain="missing", lazy=True)
    assert ev._lazy is not None
    (ready,) = ev._lazy._ready.values()
    assert not ready.metered
    seen: list[Any] = []
    fused, glued, whole = ready.fn, ready.glue, ready.whole
    assert glued is not None and whole is not None
    glued.__globals__["_fn"] = lambda c, v, m: (seen.append((m, current())), fused(c, v, m))[1]
    # (the whole result's glue, of a one-policy case kind, runs the fused function's body in its own frame: its
    # meter is its fourth argument)
    ready.whole = lambda *a: (seen.append((a[3], current())), whole(*a))[1]
    (verdict,) = ev.evaluate(pt.after_sale_case()).results
    assert isinstance(verdict, LazyResult) and seen == [(None, None)]


def test_the_loop_gives_what_the_glue_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """A version with more rules than glue is made for is judged by loops: the same verdicts."""
    rb = load_rulebook()
    glued = Evaluator(rb, explain="missing", lazy=True)
    monkeypatch.setattr(lazy_module, "MAX_RULES", 0)
    looped = Evaluator(rb, explain="missing", lazy=True)
    assert looped._lazy is not None and all(r.glue == r._loop for r in looped._lazy._ready.values())
    cases = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]
    variants = []
    for case in cases:
        variants.append(case)
        if isinstance(case.get("order"), dict):
            other = copy.deepcopy(case)
            other["order"]["received_at"] = None  # (a null in an object the rules read: the general path)
            variants.append(other)
    lazy = 0
    for case in variants:
        a, b = glued.evaluate(case), looped.evaluate(case)
        assert [(r.rule, r.outcome) for r in a.results] == [(r.rule, r.outcome) for r in b.results]
        assert a.to_dict() == b.to_dict()
        lazy += any(isinstance(r, LazyResult) for r in b.results)
    assert lazy > 5


@pytest.mark.parametrize("wanted", ["not_applicable", "complied"])
def test_findings_glue_counts_the_quiet_and_keeps_their_outcomes_for_dependents(tmp_path: Path, wanted: str) -> None:
    """Findings detail's glue counts the complied and not-applicable verdicts and makes only the violated ones;
    a violated verdict depending on a counted one records that rule's own outcome (the glue keeps the bare
    outcome in the counted rule's place), as the general findings path does."""
    quiet = "false" if wanted == "not_applicable" else "true"
    rb = pt.load(pt.write(tmp_path / "demo.yaml", pt.policy(pt.rules_text(
        pt.rule("gate", "true", when=quiet),
        pt.rule("after", "false", depends_on=f"{{gate: [{wanted}]}}"),
        pt.rule("ok", "true"), pt.rule("na", "true", when="false"), pt.rule("bad", "false")))).parent)
    quick = Evaluator(rb, explain="missing", lazy=True, detail="findings")
    general = Evaluator(rb, explain="missing", lazy=True, detail="findings")
    general._lazy = None
    assert quick._lazy is not None
    (ready,) = quick._lazy._ready.values()
    assert ready.wanted is None and ready.glue != ready._loop
    def finish(*a: Any) -> Any:
        raise AssertionError("finished rule by rule: the glue should have made the verdicts")
    quick._lazy._finish = finish  # type: ignore[method-assign]
    a, b = quick.evaluate(pt.after_sale_case()), general.evaluate(pt.after_sale_case())
    assert [r.rule for r in a.results] == ["after", "bad"] and all(isinstance(r, LazyResult) for r in a.results)
    assert a.quiet == b.quiet == ((2, 1) if wanted == "complied" else (1, 2))
    assert a.results[0].depends == b.results[0].depends == {"gate": wanted}
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_a_rule_past_its_budget_runs_out_twice_at_most(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       detail: str) -> None:
    """docs/language.md: "the work a rule does on one record is at most twice its budget". An outside trial
    measured 4.4x the CPU of a rule just under the budget through the API: the lazy path's fused function ran
    out, then the general path tried it again (and, in full detail, a third time for its outcomes) before
    deciding the rule alone. Counted here as how many times the budget ran out on one evaluation: once in the
    fused function, once deciding the rule one by one (the batch path: the same)."""
    from policy_eval.api import Rulebook
    from policy_eval.lang import budget as budget_module

    pt.write(tmp_path / "chat.yaml", pt.policy(
        pt.rules_text(pt.rule("pairs", "any a in messages: any b in messages: a.text == b.text and a.id != b.id"),
                      pt.rule("plain", "exists(store_id)")),
        applies_to="chat", reference_time="captured_at"))
    raised: list[str] = []
    real = budget_module.BudgetExceeded.__init__

    def counted(self: Any, *args: Any) -> None:
        raised.append(args[1])
        real(self, *args)

    monkeypatch.setattr(budget_module.BudgetExceeded, "__init__", counted)
    book = Rulebook.load(tmp_path, entry_points=False, max_cost=None)

    def chat(n: int) -> dict[str, Any]:
        case = _chat()
        case["messages"] = [{**case["messages"][0], "id": f"m{i}", "text": f"t{i}"} for i in range(n)]
        return case

    small, large = chat(40), chat(1001)  # 40 x 40 pairs past a budget of 1,000; 1001 x 1001 past 1,000,000
    for label, evaluate in [
            ("api", lambda: book.evaluate(large, detail=detail)),  # type: ignore[arg-type]
            ("lazy evaluator", lambda: Evaluator(book._book, lazy=True, budget=1000, detail=detail).evaluate(small)),
            ("batch evaluator", lambda: Evaluator(book._book, budget=1000, detail=detail).evaluate(small))]:
        raised.clear()
        result = evaluate()
        (pairs,) = [r for r in result.results if r.rule == "pairs"]
        assert pairs.outcome is Outcome.UNDETERMINED and "budget exceeded" in (pairs.error or ""), label
        # a run that did the work ran out inside the inner quantifier (the outer one's charge went through);
        # the undetermined verdict's trace (naming missing paths) finds the meter spent at its first charge,
        # the outer quantifier's, and visits nothing
        assert 1 <= len([w for w in raised if w.startswith("any b")]) <= 2, (label, raised)
        assert all(w.startswith(("any b", "any a")) for w in raised), (label, raised)


class _Plain:
    """A verdict class made as LazyResult.of makes them: called with no argument."""

    __slots__ = ("reference_time", "_fill")
    __init__ = object.__init__


class _Other(_Plain):
    """One whose __init__ wants arguments: the glue allocates it without calling it."""

    __slots__ = ()

    def __init__(self, needed: Any) -> None:
        raise AssertionError("not called")


@pytest.mark.parametrize("counted", [False, True])
def test_the_glue_makes_each_outcome_its_own_class(counted: bool) -> None:
    """One branch per outcome: each rule's verdict is of the class its outcome names (whether the class is called
    or allocated), holding the reference time and the fill; an outcome without a class hands the case back
    (``[q, e]``), and in findings detail a counted outcome makes no verdict."""
    co, vi, na = Outcome.COMPLIED, Outcome.VIOLATED, Outcome.NOT_APPLICABLE
    kinds = ({co: type("A", (_Plain,), {"__slots__": ()}), vi: type("B", (_Other,), {"__slots__": ()})},
             {co: type("C", (_Plain,), {"__slots__": ()}), na: type("D", (_Other,), {"__slots__": ()})})
    answer: list[Any] = []
    fill = object()
    glue = lazycode.glue(lambda c, e, m: answer[0], kinds, fill, "ready", "ref", (co, na) if counted else None)
    for o0, o1 in [(co, co), (vi, co), (co, na), (vi, na)]:
        answer[:] = [(2, 0, 1, (o0, o1), 0)]
        made = glue({"x": 1}, "REF", "2024-01-01", None)
        verdicts = made[0] if counted else made
        expected = [kinds[i][o] for i, o in enumerate((o0, o1)) if not counted or o is vi]
        assert [type(v) for v in verdicts] == expected, (o0, o1)
        for v in verdicts:
            # (the fill: the function, the ready version, the case, the environment, the time, the outcomes)
            assert v.reference_time == "2024-01-01" and v._fill[:3] == (fill, "ready", {"x": 1})
            assert v._fill[3] == {"ref": "REF"} and v._fill[4:] == ("2024-01-01", o0, o1)
    answer[:] = [(0, 0, 1, (vi, vi), 0)]  # (rule 1 has no violated class)
    made = glue({"x": 1}, "REF", "2024-01-01", None)
    assert type(made) is list and made[0] is answer[0] and made[1] == {"ref": "REF"}


def test_lazy_classes_are_made_by_a_call_without_arguments() -> None:
    """LazyResult.of's classes (every rule and outcome of the bundled rulebook) take the glue's bare call."""
    lazy = Evaluator(load_rulebook(), explain="missing", lazy=True)._lazy
    assert lazy is not None
    classes = [cls for ready in lazy._ready.values() if ready.kinds for kinds in ready.kinds for cls in kinds.values()]
    assert len(classes) > 100
    for cls in classes:
        assert cls.__init__ is object.__init__ and type(made := cls()) is cls and isinstance(made, LazyResult)


@pytest.mark.parametrize("uses_env", [False, True])
def test_the_whole_glue_makes_the_environment_where_it_is_needed(tmp_path: Path, uses_env: bool) -> None:
    """The whole glue runs the fused body in its own frame. A body that reads its environment only to leave a loud
    rule's lets in it (lang.fusion.Inline.uses_env false) gets one made only then; otherwise the verdicts' fill holds
    the reference time alone. Either way every verdict reads as the general path makes it, a violated one's message
    from the let the body computed. (``uses_env``: a quantifier over the case's list, whose body function takes the
    environment: a dated parameter, read at the reference time the environment holds, makes the body read it.)"""
    from policy_eval.api import Rulebook
    from policy_eval.lang.compiler import REF_TIME
    from policy_eval.lang.fusion import inline_of
    from policy_eval.rulebook.policy import parse_instant

    window = "window" if uses_env else "15d"
    params = "params:\n  window:\n    type: duration\n    values:\n      2019-01-01: 15d\n      2030-01-01: 20d\n"
    text = pt.policy((params if uses_env else "") + pt.rules_text(pt.rule(
        "in-window", "not (request.submitted_at > limit)", let={"limit": f"order.confirmed_at + {window}"},
        message='"after {limit}"')))
    pt.write(tmp_path / "policies" / "demo.yaml", text)
    book = Rulebook.load(tmp_path / "policies", entry_points=False, validate=False)
    eager = Rulebook.load(tmp_path / "policies", entry_points=False, validate=False)
    eager._lazy = None  # (every verdict by the general path, at once)
    (ready,) = book._lazy._ready.values()  # type: ignore[union-attr]
    inline = inline_of(ready.fn)
    assert ready.whole is not None and inline is not None and inline.exports > 0 and inline.uses_env is uses_env
    as_of = parse_instant("2024-03-01T00:00:00+08:00")
    for submitted, outcome in (("2024-03-19T10:00:00+08:00", Outcome.VIOLATED),
                               ("2024-03-01T10:00:00+08:00", Outcome.COMPLIED)):
        case = pt.after_sale_case(submitted_at=submitted)
        for _ in range(2):  # (the first call chooses the version; the second takes the whole glue)
            (verdict,) = book.evaluate(case, as_of=as_of).results
        assert isinstance(verdict, LazyResult) and verdict.outcome is outcome
        held = verdict._fill[3]
        if outcome is Outcome.VIOLATED or uses_env:  # (the let the message reads, left by the fused body)
            assert type(held) is dict and held[REF_TIME] is as_of
            assert outcome is not Outcome.VIOLATED or any(key.startswith("$let") for key in held)
        else:
            assert held is as_of
        (expected,) = eager.evaluate(case, as_of=as_of).results
        assert verdict.to_dict() == expected.to_dict()
    assert expected.message is None and verdict.reason == expected.reason

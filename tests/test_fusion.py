"""A version's rules fused into one generated function (lang.fusion) decide what the rules decide one by one.

The fused function is an optimisation of the findings fast path (run.kernel): it must be made for the
bundled rulebook, decide the golden cases itself (not fall back), give each rule the outcome that
``run.kernel.decide`` gives it, refill the budget before each rule, and stay within its source cap
whatever the policy (a chain of definitions that each use the previous one twice is not fused).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
from goldencorpus import golden_tests

from policy_eval.lang import compiler, fusion
from policy_eval.lang.budget import metered
from policy_eval.lang.compiler import REF_TIME, let_function
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run import fusing
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.kernel import GATED, decide
from policy_eval.run.result import Outcome

TESTS = golden_tests()


@pytest.fixture(scope="module")
def bundled() -> Evaluator:
    return Evaluator(load_rulebook(), detail="findings")


def _versions(ev: Evaluator) -> list[Any]:
    return [v for v in ev.rulebook.versions() if not v.waivers]


def test_every_bundled_version_without_waivers_is_fused(bundled: Evaluator) -> None:
    kernel = bundled._kernel
    assert kernel is not None
    versions = _versions(bundled)
    assert len(versions) >= 9
    assert all(kernel._fused[id(v)] is not None for v in versions)


def _has_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    return False


def _fused_versions(ev: Evaluator) -> Iterator[tuple[Any, Any, Any]]:
    """(golden test, reference time, version in force) for each golden case without an unknown value and each
    version in force on it that the kernel fuses (no waivers)."""
    for test in TESTS:
        if test.params is not None or _has_null(test.case) or test.case.get("kind") not in ev.rulebook.case_schemas:
            continue
        as_of = parse_instant(test.as_of) if test.as_of else None
        for history in ev._by_kind.get(test.case["kind"], ()):
            ref = as_of or history.latest().reference_time.fn(test.case, {REF_TIME: None})
            version = history.at(ref) if ref is not None else None
            if version is not None and not version.waivers:
                yield test, ref, version


def test_fused_functions_decide_the_golden_cases_as_the_rules_do(bundled: Evaluator) -> None:
    """On every golden case without an unknown value, each version in force is decided by its fused function
    (no fall back), and each rule's outcome is the one decide() gives it after the same dependency gates."""
    assert _decided_as_the_rules_do(bundled) > 200


def test_the_counts_are_of_the_selected_rules_only() -> None:
    """With rules left out of the report (``min_severity``), the fused function counts only the selected ones (each
    complied, not applicable or loud; those not applicable counted at the end from the other two)."""
    ev = Evaluator(load_rulebook(), detail="findings", min_severity="high")
    kernel = ev._kernel
    assert kernel is not None
    assert any(not selected for v in _versions(ev) for _, _, selected in kernel._steps[id(v)])
    assert _decided_as_the_rules_do(ev) > 200


def _decided_as_the_rules_do(bundled: Evaluator) -> int:
    kernel = bundled._kernel
    assert kernel is not None
    decided = 0
    for test, ref, version in _fused_versions(bundled):
        steps = kernel._steps[id(version)]
        with metered(1_000_000) as meter:
            env = {REF_TIME: ref}
            out = kernel._fused[id(version)](test.case, env, meter)
            assert out is not None, f"{test.file}:{test.line}: the fused function fell back"
            expected = _one_by_one(version, steps, test.case, {REF_TIME: ref}, meter)
        complied = sum(1 for (_, _, sel), o in zip(steps, expected, strict=True)
                       if sel and o is Outcome.COMPLIED)
        quiet = sum(1 for (_, _, sel), o in zip(steps, expected, strict=True)
                    if sel and o is Outcome.NOT_APPLICABLE)
        assert out[:2] == (complied, quiet), f"{test.file}:{test.line}"
        loud = sum(1 << i for i, o in enumerate(expected)
                   if o is not Outcome.COMPLIED and o is not Outcome.NOT_APPLICABLE)
        assert out[2] == loud, f"{test.file}:{test.line}"  # (bit i: step i violated or undetermined)
        complied_mask = sum(1 << i for i, o in enumerate(expected) if o is Outcome.COMPLIED)
        assert out[4] == complied_mask, f"{test.file}:{test.line}"  # (bit i: step i complied, counted or not)
        assert list(out[3]) == expected, f"{test.file}:{test.line}"
        decided += 1
    return decided


def test_the_lets_a_fused_function_leaves_for_the_messages_are_their_values(bundled: Evaluator) -> None:
    """The values a fused function leaves in its environment for a loud rule's message and remedies (lang.fusion's
    ``Step.shown``) are what each let's own function gives on the case, of the same type (a message shows them)."""
    kernel = bundled._kernel
    assert kernel is not None
    targets = {key: target for target, key in compiler._KEYS.items()}
    compared = 0
    for test, ref, version in _fused_versions(bundled):
        with metered(1_000_000) as meter:
            env = {REF_TIME: ref}
            out = kernel._fused[id(version)](test.case, env, meter)
            assert out is not None
            for key, kept in env.items():
                if key not in targets:  # (the reference time; a quantifier's variable)
                    continue
                assert kept[0] is test.case and kept[1] is ref
                want = let_function(targets[key])(test.case, {REF_TIME: ref})
                assert type(kept[2]) is type(want) and kept[2] == want, f"{test.file}:{test.line}: {key}"
                compared += 1
    assert compared > 300


def test_lets_read_with_a_null_as_absent_are_not_left_for_the_messages(bundled: Evaluator) -> None:
    """``Kernel.keyed`` keeps the lets the fused function left for the loud rules' messages only where it read the
    case exactly: not where it read the case's nulls as absent (``nulls``), whose values a message must not show."""
    kernel = bundled._kernel
    assert kernel is not None
    targets = {key for key in compiler._KEYS.values()}
    kept = {True: 0, False: 0}
    for test, ref, version in _fused_versions(bundled):
        for nulls in (True, False):
            env = {REF_TIME: ref}
            with metered(1_000_000):
                assert kernel.keyed(version, test.case, env, nulls) is not None
            kept[nulls] += len(targets.intersection(env))
    assert kept == {True: 0, False: kept[False]} and kept[False] > 300


def _one_by_one(version: Any, steps: list[Any], case: dict[str, Any], env: dict[str, Any], meter: Any) -> list[Any]:
    """Each step's outcome the rule-by-rule way: dependency gates, then decide()."""
    outcomes: dict[str, Any] = {}
    out = []
    for rule, depends, _ in steps:
        got = [outcomes[d] for d, _ in depends]
        if any(o is not Outcome.UNDETERMINED and o not in wanted for o, (_, wanted) in zip(got, depends, strict=True)):
            outcomes[rule.id] = Outcome.NOT_APPLICABLE
            out.append(Outcome.NOT_APPLICABLE)
            continue
        if any(o is Outcome.UNDETERMINED for o in got):
            outcomes[rule.id] = Outcome.UNDETERMINED
            out.append(GATED)
            continue
        outcome, _ = decide(version, rule, case, env, meter)
        outcomes[rule.id] = outcome
        out.append(outcome)
    return out


CHAT_RULES = pt.rules_text(
    pt.rule("many-a", "(count m in messages: m.sender == \"merchant\") >= 0"),
    pt.rule("many-b", "(count m in messages: m.sender == \"buyer\") >= 0"))


def _chat(n: int) -> dict[str, Any]:
    return {"kind": "chat", "case_id": "C1",
            "messages": [{"sender": "merchant" if i % 2 else "buyer", "sent_at": f"2024-03-01T10:{i % 60:02d}:00+08:00",
                          "text": "hi"} for i in range(n)]}


def test_the_budget_is_refilled_before_each_fused_rule(tmp_path: Path) -> None:
    """Two rules that each walk 30 messages fit a budget of 40 each; together they would not."""
    rb = pt.load(pt.write(tmp_path / "p" / "chat.yaml", pt.policy(CHAT_RULES, **pt.CHAT, id="chat")).parent)
    ev = Evaluator(rb, detail="findings", budget=40)
    kernel = ev._kernel
    assert kernel is not None
    (version,) = [v for v in rb.versions()]
    case = _chat(30)
    with metered(40) as meter:
        out = kernel._fused[id(version)](case, {REF_TIME: parse_instant("2024-03-01T10:00:00+08:00")}, meter)
    assert out is not None and out[:3] == (2, 0, False)
    assert ev.evaluate(case).counts()["complied"] == 2
    # over budget: the fused function gives up and the rule-by-rule path names the budget in each verdict
    result = ev.evaluate(_chat(50))
    assert [r.outcome for r in result.results] == [Outcome.UNDETERMINED, Outcome.UNDETERMINED]
    assert all("budget exceeded" in (r.error or "") for r in result.results)


def test_only_a_rule_that_can_spend_gets_a_refill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refill is skipped before a rule whose conditions cannot spend from the budget (no walk, no
    concatenation, no plugin function): the two walks around such a rule still get a full budget each."""
    sources: list[str] = []
    made = fusion._source

    def kept(*args: Any, **kwargs: Any) -> Any:
        out = made(*args, **kwargs)
        sources.append(out[0])
        return out
    monkeypatch.setattr(fusion, "_source", kept)
    rules = pt.rules_text(
        pt.rule("many-a", "(count m in messages: m.sender == \"merchant\") >= 0"),
        pt.rule("quiet", "case_id != \"\""),
        pt.rule("many-b", "(count m in messages: m.sender == \"buyer\") >= 0"))
    rb = pt.load(pt.write(tmp_path / "p" / "chat.yaml", pt.policy(rules, **pt.CHAT, id="chat")).parent)
    ev = Evaluator(rb, detail="findings", budget=40)
    (source,) = sources
    # two rules that can spend, each refilled before its two-valued and its three-valued code
    assert source.count("m.left = m.limit") == 4, source
    assert ev.evaluate(_chat(30)).counts()["complied"] == 3
    result = ev.evaluate(_chat(50))
    assert [r.rule for r in result.results] == ["many-a", "many-b"]
    assert all("budget exceeded" in (r.error or "") for r in result.results)


def test_a_doubling_chain_of_definitions_is_not_fused_and_still_decided(tmp_path: Path) -> None:
    """Inlined at every use, 40 definitions that each use the previous one twice would make 2**40 characters
    of source: generation stops at the cap, the version runs rule by rule, and loading stays quick."""
    lines = ["definitions:", "  d0: len(messages)"]
    lines += [f"  d{i}: d{i - 1} + d{i - 1} - d{i - 1}" for i in range(1, 41)]
    text = pt.policy("\n".join(lines) + "\n" + pt.rules_text(pt.rule("r", "d40 >= 0")), **pt.CHAT, id="chain")
    rb = pt.load(pt.write(tmp_path / "p" / "chain.yaml", text).parent)
    ev = Evaluator(rb, detail="findings")
    kernel = ev._kernel
    assert kernel is not None
    (version,) = [v for v in rb.versions()]
    assert kernel._fused[id(version)] is None
    assert ev.evaluate(_chat(3)).counts()["complied"] == 1


def test_bundled_fused_frames_stay_small(bundled: Evaluator) -> None:
    """A fused function's frame must fit the interpreter's stack chunk (16 KB in CPython 3.11), or each call
    allocates and frees one: with its temporaries numbered across the whole function, after-sales 2 had
    1,706 locals (a 14 KB frame) and a record cost 20 µs more. Temporaries are shared between rules now."""
    kernel = bundled._kernel
    assert kernel is not None
    for v in _versions(bundled):
        code = kernel._fused[id(v)].__code__
        temporaries = [n for n in code.co_varnames if n.startswith("_t")]
        assert len(temporaries) < 100, (v.id, v.version, len(temporaries))
        assert (code.co_nlocals + code.co_stacksize) * 8 < 4_096, (v.id, v.version, code.co_nlocals)


def test_each_fused_temporary_is_read_only_in_the_expression_that_binds_it(bundled: Evaluator) -> None:
    """What makes sharing the temporaries between rules safe (fusion._FusedGen.top): in the generated source of
    every bundled version, each statement's expressions read only the temporaries they bind themselves."""
    kernel = bundled._kernel
    assert kernel is not None
    checked = 0
    for v in _versions(bundled):
        steps = kernel._steps[id(v)]
        index = {rule.id: i for i, (rule, _, _) in enumerate(steps)}
        source, _ = fusion._source(
            [fusion.Step(r.when.node if r.when is not None else None, r.condition.node, r.mode != "require",
                         tuple((index[d], w) for d, w in depends), selected) for r, depends, selected in steps],
            fusion.Tokens(object(), object(), object(), object(), object()))
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.stmt) or isinstance(node, ast.FunctionDef | ast.Try):
                continue
            exprs = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
            names = [n for e in exprs for n in ast.walk(e) if isinstance(n, ast.Name) and n.id.startswith("_t")]
            bound = {n.id for n in names if isinstance(n.ctx, ast.Store)}
            read = {n.id for n in names if isinstance(n.ctx, ast.Load)}
            assert read <= bound, (v.id, v.version, ast.unparse(node)[:300], read - bound)
            checked += len(names)
    assert checked > 1000


def test_rules_of_a_version_share_the_fused_temporaries(tmp_path: Path) -> None:
    """One rule or thirty of the same shape: the same temporaries (a frame that does not grow with the rules
    beyond each rule's outcome)."""
    def temporaries(count: int) -> list[str]:
        rules = [pt.rule(f"r{i}", f"len(messages) * {i + 2} <= max(len(messages), {i}) + {i}") for i in range(count)]
        text = pt.policy(pt.rules_text(*rules), **pt.CHAT, id=f"many{count}")
        rb = pt.load(pt.write(tmp_path / f"p{count}" / "many.yaml", text).parent)
        kernel = Evaluator(rb, detail="findings")._kernel
        assert kernel is not None
        (version,) = rb.versions()
        return [n for n in kernel._fused[id(version)].__code__.co_varnames if n.startswith("_t")]

    one, thirty = temporaries(1), temporaries(30)
    assert one and thirty == one


def test_fuse_gives_up_past_the_cap(monkeypatch: pytest.MonkeyPatch, bundled: Evaluator) -> None:
    """The cap is what bounds generation: with a tiny cap nothing of the bundled rulebook is fused."""
    monkeypatch.setattr(fusion, "MAX_FUSED_SOURCE", 2_000)
    ev = Evaluator(load_rulebook(), detail="findings")  # (a rulebook of its own: no function made before is kept)
    kernel = ev._kernel
    assert kernel is not None
    assert all(kernel._fused[id(v)] is None for v in _versions(ev) if len(v.rules) > 3)


def test_full_detail_with_fused_outcomes_equals_rule_by_rule() -> None:
    """In full detail the fused function decides the outcomes and the verdicts are built from them: every
    golden case gives the same full record as deciding each rule on its own."""
    rb = load_rulebook()
    fused = Evaluator(rb, detail="full", explain="missing")
    alone = Evaluator(rb, detail="full", explain="missing")
    alone._kernel._fused.clear()
    compared = 0
    for test in TESTS:
        if test.params is not None:
            continue
        as_of = parse_instant(test.as_of) if test.as_of else None
        assert fused.evaluate(test.case, as_of=as_of).to_dict() == alone.evaluate(test.case, as_of=as_of).to_dict(), \
            f"{test.file}:{test.line}"
        compared += 1
    assert compared > 200


@pytest.mark.parametrize("detail", ["findings", "full"])
def test_a_let_computed_before_a_budget_error_is_not_reused_for_free(tmp_path: Path, detail: str) -> None:
    """l0 (21 items on 10 messages) completes in the fused function, l1 (31 more) exceeds a budget of 40 there;
    deciding the rule again on its own must pay for l0 again (52 > 40: undetermined), not find it computed."""
    text = pt.policy("definitions:\n  l0: \"collect m in messages: [1]\"\n  l1: \"collect x in l0: [x, x]\"\n"
                     + pt.rules_text(pt.rule("r", "len(l1) > 0")), **pt.CHAT, id="lets")
    rb = pt.load(pt.write(tmp_path / "p" / "lets.yaml", text).parent, max_cost=None)
    case = _chat(10)
    assert Evaluator(rb, detail=detail, budget=52).evaluate(case).counts()["complied"] == 1
    result = Evaluator(rb, detail=detail, budget=51).evaluate(case)
    assert [r.outcome for r in result.results] == [Outcome.UNDETERMINED]
    assert "budget exceeded" in (result.results[0].error or "")


NULLS = pt.rules_text(
    pt.rule("shipped", 'request.type != "return_refund" or exists(order.shipped_at)'),
    pt.rule("half", "order.paid_amount / 2 >= ¥0"))  # (a division: a closure inside the fused code)


def _order_case(**order: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "O1", "confirmed_at": "2024-02-20T10:00:00+08:00", "paid_amount": "59.90"}
    base.update(order)
    kind = base.pop("type", "refund_only")
    return {"kind": "after_sale", "case_id": "C1", "snapshot_at": "2024-03-20T00:00:00+08:00", "order": base,
            "request": {"id": "R1", "type": kind, "submitted_at": "2024-03-01T10:00:00+08:00"}}


@pytest.mark.parametrize(("case", "decided"), [
    (_order_case(), True),
    (_order_case(shipped_at=None), True),  # a refund-only request: `or` is decided before shipped_at is read
    (_order_case(received_at=None), True),  # no rule reads it
    (_order_case(type="return_refund"), True),  # missing: exists() is false, decided
    (_order_case(type="return_refund", shipped_at=None), False),  # read: exists() of a null is unknown
    (_order_case(paid_amount=None), False),  # read by the closure of the division
])
def test_a_null_read_by_the_fused_function_sends_the_case_the_general_way(
        tmp_path: Path, case: dict[str, Any], decided: bool) -> None:
    """Made with ``exact_nulls`` (the embedding API's, which looks for no null first): a missing key reads as
    unknown; a null on a path the fused code reads (inline or through a closure) makes it give up, since a null
    is judged by three-valued logic on the general path; a null it never reads changes nothing. Whatever it
    does, the verdicts are the rule-by-rule ones. (The batch path's, made without, reads a null as missing:
    it is never given a case with a null on a path its rules read.)"""
    rb = pt.load(pt.write(tmp_path / "p" / "demo.yaml", pt.policy(NULLS)).parent)
    (version,) = rb.versions()
    env = {REF_TIME: parse_instant("2024-03-01T10:00:00+08:00")}
    exact, blind = Evaluator(rb, lazy=True)._kernel, Evaluator(rb, detail="findings")._kernel
    assert exact is not None and blind is not None
    out = exact._fused[id(version)](case, dict(env), None)
    assert (out is not None) is decided
    assert blind._fused[id(version)](case, dict(env), None) is not None
    one_by_one = Evaluator(rb, detail="full", explain="missing")
    one_by_one._kernel._fused = {}  # type: ignore[union-attr]
    expected = {r.rule: r.outcome for r in one_by_one.evaluate(case).results}
    if out is not None:
        assert dict(zip(("shipped", "half"), out[3], strict=True)) == expected
    assert {r.rule: r.outcome for r in Evaluator(rb, detail="full").evaluate(case).results} == expected
    if not decided:
        assert Outcome.UNDETERMINED in expected.values()


def test_a_second_evaluator_of_one_rulebook_compiles_no_fused_function_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A version keeps its fused functions by the steps they were made for (run.fusing): another evaluator of the
    same loaded rulebook gets the same functions without compiling; another selection, or other rules (a rulebook
    loaded again), gets its own."""
    rb = load_rulebook()
    first = Evaluator(rb, detail="findings")
    made: list[str] = []
    fuse = fusing.fuse

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(args[2] if len(args) > 2 else "")
        return fuse(*args, **kwargs)
    monkeypatch.setattr(fusing, "fuse", counted)
    second = Evaluator(rb, detail="findings")
    assert made == []
    assert first._kernel is not None and second._kernel is not None
    versions = _versions(first)
    assert all(second._kernel._fused[id(v)] is first._kernel._fused[id(v)] for v in versions)
    only = Evaluator(rb, detail="findings", only=["after-sales/refund-only-window"])
    assert only._kernel is not None and made  # (its selection: steps of its own, compiled)
    after_sales = [v for v in versions if any(r.id == "refund-only-window" for r in v.rules)]
    assert after_sales and all(only._kernel._fused[id(v)] is not first._kernel._fused[id(v)] for v in after_sales)
    made.clear()
    again = load_rulebook()
    Evaluator(again, detail="findings")
    assert len(made) == len(_versions(Evaluator(again, detail="findings")))  # (its own rules: all compiled)


LATE = pt.policy(pt.rules_text(
    pt.rule("handled-in-time", "request.withdrawn_at <= deadline", let=[("deadline", "request.submitted_at + 2d")],
            message="handle by {deadline}"),
    pt.rule("also-late", "request.withdrawn_at <= deadline + 1d", let=[("deadline", "request.submitted_at + 2d")],
            message="handle by {deadline}")))


@pytest.mark.parametrize("withdrawn, outcomes", [
    (None, [Outcome.UNDETERMINED] * 2),  # (no withdrawal time: the two-valued code gives up, the three-valued decides)
    ("2024-03-09T10:00:00+08:00", [Outcome.VIOLATED] * 2),  # (two-valued throughout)
    ("2024-03-02T10:00:00+08:00", [Outcome.COMPLIED] * 2)])
def test_the_three_valued_lets_are_set_where_three_valued_code_first_runs(tmp_path: Path, withdrawn: str | None,
                                                                          outcomes: list[Outcome]) -> None:
    """A three-valued let's local is set to "not computed yet" only once a step leaves its two-valued code (most
    cases never do); the lets a loud rule's message reads are left in the environment from whichever local holds
    the value, and the function returns on every case (a local read before it was set would make it give up)."""
    rb = pt.load(pt.write(tmp_path / "p" / "late.yaml", LATE).parent)
    ev = Evaluator(rb, detail="findings")
    kernel = ev._kernel
    assert kernel is not None
    (version,) = [v for v in rb.versions()]
    source = kernel._fused[id(version)].inline.body
    assert not any(line.strip().startswith("_l0 = _M") for line in source)  # (not at the top)
    assert sum("if _z:" in line for line in source) == 2  # (one a step, where its three-valued code starts)
    case = pt.after_sale_case(**({"withdrawn_at": withdrawn} if withdrawn else {}))
    ref = parse_instant("2024-03-01T10:00:00+08:00")
    env = {REF_TIME: ref}
    with metered(1_000_000) as meter:
        out = kernel._fused[id(version)](case, env, meter)
    assert out is not None and list(out[3]) == outcomes
    left = [t for t in compiler._KEYS if compiler._KEYS[t] in env]  # (the lets left for the messages)
    if outcomes[0] is Outcome.COMPLIED:
        assert left == []
    else:
        assert len(left) == 2  # (each rule's own ``deadline``)
        for target in left:
            kept = env[compiler._KEYS[target]]
            assert kept[0] is case and kept[2] == let_function(target)(case, {REF_TIME: ref}) == parse_instant(
                "2024-03-03T10:00:00+08:00")
    shown = {Outcome.VIOLATED: ["handle by 2024-03-03T10:00:00+08:00"] * 2, Outcome.UNDETERMINED: [None, None],
             Outcome.COMPLIED: []}
    assert [r.message for r in ev.evaluate(case).results] == shown[outcomes[0]]

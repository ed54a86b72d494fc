"""Issue 13, items 1-3: let-bindings cost their size, deep let chains load, runaway values meet the budget.

Policies are generated in tmp_path. Each test asserts on work done (generated source size, items charged,
calls made) or on a generous CPU bound that the pre-fix code exceeded by orders of magnitude; none is a
timing benchmark (bench/ measures speed).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
from cpulimit import cpu_limit

from policy_eval.cli import run
from policy_eval.expression import default_functions
from policy_eval.lang import ir
from policy_eval.lang.ast import Span
from policy_eval.lang.budget import BudgetExceeded, metered
from policy_eval.lang.codegen import generate
from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.lang.types import BOOL
from policy_eval.lang.values import UNKNOWN
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome

EXAMPLES = Path(__file__).parent.parent / "examples"


def _policy(lets: list[tuple[str, str]], condition: str, extra_rule: bool = True) -> str:
    rules = [pt.rule("r1", condition, let=lets)] + ([pt.rule("plain", "len(messages) >= 1", title="Plain")]
                                                    if extra_rule else [])
    return pt.policy(pt.rules_text(*rules), **pt.CHAT, id="lets", title="Lets", document="tests/test_budget_lets.py")


def _folder(tmp_path: Path, text: str) -> Path:
    return pt.write(tmp_path / "policies" / "p.yaml", text).parent


def _load(folder: Path) -> Any:
    # the static ceiling would refuse the doubling lists below at load (tests/test_budget_static.py):
    # raised here so that the runtime budget is what stops them
    return pt.load(folder, max_cost=10 ** 40)


def _case() -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8")))


def _doubling(n: int) -> list[tuple[str, str]]:
    return [("a0", "len(messages)")] + [(f"a{i}", f"a{i - 1} + a{i - 1}") for i in range(1, n)]


def _results(book: Any, case: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {r.rule: r for r in Evaluator(book, **kw).evaluate(case).results}


# --- item 1: a let is compiled once and referenced ----------------------------------------------------------

def test_sixty_doubling_lets_load_and_evaluate_exactly(tmp_path: Path) -> None:
    # Before: 13 levels took 12.5 s to load, 16 over 60 s; 60 would never finish.
    folder = _folder(tmp_path, _policy(_doubling(60), "a59 == len(messages) * 576460752303423488"))
    with cpu_limit(20):
        book = _load(folder)
        results = _results(book, _case())
    assert results["r1"].outcome is Outcome.COMPLIED, results["r1"].reason
    rule = book.policies["lets"].latest().rules[0]
    # the generated code of the condition refers to a59 as a local; it never inlines the chain
    source, _ = generate(rule.condition.node)
    assert "_l0" in source and len(source) < 2_000, source[:500]
    source, _ = generate(rule.lets["a59"].node)
    assert len(source) < 2_000


def test_a_let_is_evaluated_once_per_case_whatever_its_uses(tmp_path: Path) -> None:
    calls = 0

    def counted(x: Any) -> int:
        nonlocal calls
        calls += 1
        return len(x)
    functions = FunctionRegistry(dataclasses.replace(f, impl=counted) if f.name == "len" else f
                                 for f in default_functions())
    folder = _folder(tmp_path, _policy(_doubling(30), "a29 > 0 and a29 + a28 > a27", extra_rule=False))
    book = load_rulebook(folder, schema_dir=bundled_schemas(), functions=functions)
    case = _case()
    calls = 0
    assert _results(book, case)["r1"].outcome is Outcome.COMPLIED
    assert calls == 1  # len(messages), in a0, once: not 2**29 times
    calls = 0
    # the explanation path (reference interpreter) also evaluates each let once
    assert _results(book, case, explain=True)["r1"].outcome is Outcome.COMPLIED
    assert calls == 2  # once on the fast path, once in the explanation


# --- item 2: no RecursionError from a long chain: bounded at load, every allowed depth evaluates ---------------

def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _after_sale(tmp_path: Path, lets: list[tuple[str, str]], condition: str, definitions: str = "") -> Path:
    """An after_sale policy (the one rule ``r1``) and ``tmp_path/case.json``, a case it reads."""
    (tmp_path / "case.json").write_text(json.dumps(pt.after_sale_case()), encoding="utf-8")
    return _folder(tmp_path, pt.policy(definitions + pt.rules_text(pt.rule("r1", condition, let=lets))))


def _chain(n: int, prefix: str = "b") -> list[tuple[str, str]]:
    return [(f"{prefix}0", "exists(request.id)")] + [(f"{prefix}{i}", f"{prefix}{i - 1} and {prefix}{i - 1}")
                                                     for i in range(1, n)]


@pytest.mark.parametrize("where", ["let", "definitions"])
def test_three_hundred_chained_lets_are_refused_at_the_first_past_the_bound(tmp_path: Path, where: str) -> None:
    # Before: ~200 chained lets crashed explain, ~500 every eval, with "internal error ... RecursionError";
    # 3,000 chained definitions the same. Now the chain is refused where it crosses 64, with its location.
    chain = _chain(300, "b" if where == "let" else "d")
    if where == "let":
        folder = _after_sale(tmp_path, chain, "b299")
    else:
        defs = "definitions:\n" + "".join(f"  {n}: {json.dumps(e)}\n" for n, e in chain)
        folder = _after_sale(tmp_path, [], "d299", defs)
    name = "b65" if where == "let" else "d65"
    with cpu_limit(30):
        code, _, err = _run("check", str(folder))
        eval_code, _, eval_err = _run("eval", "-p", str(folder), str(tmp_path / "case.json"))
    assert code == 2 and eval_code == 2, err
    for text in (err, eval_err):
        assert "RecursionError" not in text and "Traceback" not in text and "internal error" not in text
    first = err.splitlines()[0]
    line = 8 + 7 + 1 + 65 if where == "let" else 8 + 1 + 1 + 65  # header, 'rules:', rule fields, 'let:', b0
    column = 7 if where == "let" else 3
    assert first.startswith(f"{folder / 'p.yaml'}:{line}:{column}: let chain deeper than 64: "
                            f"{name} -> {name[0]}64 -> {name[0]}63 -> {name[0]}62 -> ... -> {name[0]}1 -> {name[0]}0 "
                            "(66 lets and definitions"), first
    # every 65th link starts a new chain on the stand-in: each crossing reported once, nothing else
    assert err.count("let chain deeper than 64") == 4 and "nested too deeply" not in err


_COMMANDS = {
    "check": ("check", "{folder}"),
    "eval": ("eval", "-f", "json", "--detail", "full", "-p", "{folder}", "{case}"),
    "eval --explain": ("eval", "--explain", "-p", "{folder}", "{case}"),
    "explain": ("explain", "-p", "{folder}", "{case}"),
    "explain json": ("explain", "--format", "json", "-p", "{folder}", "{case}"),
    "due": ("due", "--format", "json", "-p", "{folder}", "{case}"),
}


def _every_command(folder: Path, case: Path) -> None:
    for name, argv in _COMMANDS.items():
        code, out, err = _run(*(a.format(folder=folder, case=case) for a in argv))
        assert "RecursionError" not in out + err and "Traceback" not in err and "internal error" not in err, name
        assert code == 0, f"{name}: {err}"
        if name == "eval":
            assert [r["outcome"] for r in json.loads(out)["cases"][0]["results"]] == ["complied"]


def test_a_let_chain_at_the_bound_works_in_every_command(tmp_path: Path) -> None:
    folder = _after_sale(tmp_path, _chain(65), "b64")  # b64 -> ... -> b0: 64 references deep
    with cpu_limit(60):
        _every_command(folder, tmp_path / "case.json")
    code, _, err = _run("check", str(_after_sale(tmp_path, _chain(66), "b65")))
    assert code == 2 and "let chain deeper than 64: b65 -> b64" in err


def _nested(extra: int) -> tuple[list[tuple[str, str]], str]:
    """49 lets of three ``+`` each (the interpreter's costliest level: three frames) and a condition:
    200 levels counted through the lets with ``extra`` = 2, 201 with 3."""
    lets = [("n0", "len(request.id) + 1")] + [(f"n{i}", f"((n{i - 1} + 1) + 1) + 1") for i in range(1, 49)]
    return lets, "(" * extra + "n48" + " + 1)" * extra + " > 0"


def test_a_condition_nested_to_the_bound_through_its_lets_works_in_every_command(tmp_path: Path) -> None:
    lets, condition = _nested(2)
    folder = _after_sale(tmp_path, lets, condition)
    from policy_eval.rulebook.policy.nesting import MAX_NESTING, Nesting
    rule = pt.load(folder).policies["demo"].latest().rules[0]
    assert Nesting().of(rule.condition.node).depth == MAX_NESTING == 200
    with cpu_limit(60):
        _every_command(folder, tmp_path / "case.json")
    lets, condition = _nested(3)
    code, _, err = _run("check", str(_after_sale(tmp_path, lets, condition)))
    assert code == 2
    first = err.splitlines()[0]
    line = 8 + 7 + 49 + 1  # header, 'rules:', rule fields, 'let:', the lets: the require line
    assert first.startswith(f"{folder / 'p.yaml'}:{line}:18: require nested too deeply counting the lets it uses: "
                            "201 levels through n48 -> n47 -> n46 -> n45 -> ... -> n1 -> n0 (at most 200"), first


def test_deep_lets_refused_by_nesting_before_the_chain_bound(tmp_path: Path) -> None:
    # ten lets of sixty `not` each: far below 64 references, but 600 levels deep once used (was a
    # RecursionError in explain and due)
    lets = [("b0", "not " * 60 + "exists(request.id)")] + [(f"b{i}", "not " * 60 + f"b{i - 1}") for i in range(1, 10)]
    code, _, err = _run("check", str(_after_sale(tmp_path, lets, "b9")))
    assert code == 2 and "let 'b3' nested too deeply counting the lets it uses: 24" in err, err


# --- linear loading: what a rule's conditions use is found in one walk -------------------------------------

def _fan_in(n: int) -> list[tuple[str, str]]:
    """n lets, one (t) using them all, and n more each using t: a let reached from n others."""
    lets = [(f"a{i}", f"len(messages) > {i}") for i in range(n)]
    lets.append(("t", "len([" + ", ".join(f"a{i}" for i in range(n)) + "]) > 0"))
    return lets + [(f"u{i}", f"t and a{i}") for i in range(n)]


def test_loading_walks_lets_a_linear_number_of_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: the parameters a rule uses were looked up once per let, each walk going through every let
    # below it: 56,067 node visits for 100 lets of this shape, 824,067 for 400 (x14.7; `check` of 3,000
    # chained lets took 19 s). Counted here: every IR node visit of the whole load.
    visits = 0
    children = ir.children

    def counted(node: ir.IR) -> tuple[ir.IR, ...]:
        nonlocal visits
        visits += 1
        return children(node)

    def load_counted(n: int) -> int:
        nonlocal visits
        folder = _folder(tmp_path / str(n), _policy(_fan_in(n), f"u{n - 1}", extra_rule=False))
        visits = 0
        with monkeypatch.context() as m:
            m.setattr(ir, "children", counted)
            _load(folder)
        return visits

    small, large = load_counted(100), load_counted(400)
    assert large < 6 * small, (small, large)


# --- item 3 and 5 (runtime): exponential values meet the budget --------------------------------------------

def _list_doubling(n: int) -> list[tuple[str, str]]:
    return [("l0", "collect m in messages: [1]")] + [(f"l{i}", f"collect x in l{i - 1}: [x, x]") for i in range(1, n)]


def test_doubling_lists_end_in_a_budget_error_for_that_rule_only(tmp_path: Path) -> None:
    # Before: 26 levels took 22 s and 862 MB, ending as internal error MemoryError.
    folder = _folder(tmp_path, _policy(_list_doubling(26), "len(l25) > 0"))
    book = _load(folder)
    tracemalloc.start()
    try:
        with cpu_limit(30):
            results = _results(book, _case())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    r1 = results["r1"]
    assert r1.outcome is Outcome.UNDETERMINED
    assert r1.error is not None and r1.error.startswith("budget exceeded in rule lets/r1 at ")
    assert "p.yaml:" in r1.error and "collect x in l" in r1.error
    assert results["plain"].outcome is Outcome.COMPLIED  # the rest of the record is evaluated
    assert peak < 100 * 1024 * 1024, peak


def test_budget_is_configurable_and_counts_items(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _policy(_list_doubling(8), "len(l7) > 0"))
    book = _load(folder)
    n = len(_case()["messages"])
    # l0 walks n messages and gathers n items; each l_i walks 2**(i-1)*n and gathers 2**i*n
    needed = (n + 1) + n + sum((2 ** (i - 1) * n + 1) + 2 ** i * n for i in range(1, 8))
    assert _results(book, _case(), budget=needed)["r1"].outcome is Outcome.COMPLIED
    tight = _results(book, _case(), budget=needed - 1)["r1"]
    assert tight.outcome is Outcome.UNDETERMINED and tight.error is not None
    assert f"more than {needed - 1:,} items" in tight.error
    assert _results(book, _case(), budget=None)["r1"].outcome is Outcome.COMPLIED


def test_the_batch_goes_on_after_a_runaway_record(tmp_path: Path) -> None:
    # within the static ceiling (101**3 items, about a million) but past the runtime budget on every record
    items = json.dumps(list(range(101)))
    condition = f"(count a in {items}: (count b in {items}: (count c in {items}: a + b + c == len(messages)) > 0) > 0) >= 0"
    folder = _folder(tmp_path, _policy([], condition))
    cases = tmp_path / "cases.jsonl"
    small = _case()
    small["messages"] = small["messages"][:1]
    cases.write_text("\n".join(json.dumps(c) for c in (_case(), small, _case())) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with cpu_limit(60):
        code = run(["eval", "-p", str(folder), "-f", "jsonl", "--detail", "full", str(cases)], stdout=out,
                   stderr=err)
    assert "Traceback" not in err.getvalue() and "MemoryError" not in err.getvalue()
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) == 3
    for line in lines:
        by_rule = {r["rule"]: r for r in line["results"]}
        assert by_rule["r1"]["outcome"] == "undetermined"
        assert "budget exceeded in rule lets/r1" in by_rule["r1"]["error"]
        assert "more than 1,000,000 items visited, the last by `count c in [0, 1, 2" in by_rule["r1"]["error"]
        assert by_rule["plain"]["outcome"] == "complied"
    assert code == 0  # undetermined verdicts do not fail the run unless --fail-on undetermined


def test_squaring_an_integer_let_is_out_of_range_not_a_hang(tmp_path: Path) -> None:
    lets = [("a0", "len(messages) + 1")] + [(f"a{i}", f"a{i - 1} * a{i - 1}") for i in range(1, 40)]
    folder = _folder(tmp_path, _policy(lets, "a39 > 0"))
    with cpu_limit(20):
        r1 = _results(_load(folder), _case())["r1"]
    assert r1.outcome is Outcome.UNDETERMINED
    assert r1.error is not None and "over 4,300 digits" in r1.error


def test_doubling_a_string_meets_the_budget(tmp_path: Path) -> None:
    lets = [("s0", "messages[0].text")] + [(f"s{i}", f"s{i - 1} + s{i - 1}") for i in range(1, 40)]
    folder = _folder(tmp_path, _policy(lets, "len(s39) > 0"))
    with cpu_limit(20):
        r1 = _results(_load(folder), _case())["r1"]
    assert r1.outcome is Outcome.UNDETERMINED
    assert r1.error is not None and "budget exceeded" in r1.error
    assert re.search(r"`s\d+ \+ s\d+`", r1.error), r1.error


# --- item 3: the generated function does not re-run final failures on the slow path ------------------------

_SPAN = Span(1, 1, 1, 7, 0, 6)


@pytest.mark.parametrize("error", [MemoryError, RecursionError])
def test_generated_code_does_not_retry_memory_or_depth_errors(error: type[BaseException]) -> None:
    def boom() -> bool:
        raise error()

    slow_calls = []
    node = ir.Call(BOOL, _SPAN, "boom()", "boom", boom, ())
    source, namespace = generate(node, lambda c, v: slow_calls.append(1))
    scope: dict[str, Any] = {"__builtins__": {}, **namespace}
    exec(compile(source, "<test>", "exec"), scope)  # noqa: S102 - our own generated source
    with pytest.raises(error):
        scope["_f"]({}, {REF_TIME: UNKNOWN})
    assert slow_calls == []


def test_generated_code_does_not_retry_a_budget_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _policy(_list_doubling(3), "len(l2) > 0"))
    rule = _load(folder).policies["lets"].latest().rules[0]
    slow_calls = []
    source, namespace = generate(rule.condition.node, lambda c, v: slow_calls.append(1))
    scope: dict[str, Any] = {"__builtins__": {}, **namespace}
    exec(compile(source, "<test>", "exec"), scope)  # noqa: S102 - our own generated source
    with metered(5), pytest.raises(BudgetExceeded):
        scope["_f"](_case(), {REF_TIME: UNKNOWN})
    assert slow_calls == []


def test_one_environment_reused_for_many_cases_gets_each_case_its_own_let_value(tmp_path: Path) -> None:
    # run.metrics evaluates a rate on many cases with one environment: a let memoised in the
    # environment must not hand the first case's value to the next
    folder = _folder(tmp_path, _policy([("n", "len(messages)")], "n == 2", extra_rule=False))
    rule = _load(folder).policies["lets"].latest().rules[0]
    env: dict[str, Any] = {REF_TIME: UNKNOWN}
    two, three = _case(), _case()
    two["messages"], three["messages"] = two["messages"][:1] * 2, two["messages"][:1] * 3
    assert [rule.condition.fn(c, env) for c in (two, three, two)] == [True, False, True]


def test_due_walks_a_clock_dependent_let_chain_once_per_let(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``due`` found the candidate instants by walking each let at each use: a chain of n lets used twice each
    cost 2^n walks (20 lets over a minute, 64 never finished). Each let is walked once per case now."""
    from policy_eval.run.due.solve import Solver

    chain = [("b0", "snapshot_at < request.submitted_at + 30d")] + [(f"b{i}", f"b{i - 1} and b{i - 1}")
                                                                   for i in range(1, 65)]
    folder = _after_sale(tmp_path, chain, "b64")
    walks = 0
    walk = Solver._walk

    def counted(self: Any, *args: Any) -> Any:
        nonlocal walks
        walks += 1
        return walk(self, *args)

    monkeypatch.setattr(Solver, "_walk", counted)
    with cpu_limit(60):
        code, out, err = _run("due", "-p", str(folder), "-f", "jsonl", str(tmp_path / "case.json"))
    assert code == 1, err  # a change is due
    # snapshot 2024-03-20 < submitted 2024-03-01T10:00 + 30d: complied until that instant, violated from it
    forecast = [json.loads(line) for line in out.splitlines()]
    assert [(f["id"], f["outcome"], f["becomes"], f["at"]) for f in forecast] == \
        [("demo/r1", "complied", "violated", "2024-03-31T10:00:00+08:00")]
    assert walks < 2_000, walks  # linear in the chain (2^64 before)

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


# --- item 2: no RecursionError from a long chain ----------------------------------------------------------

def test_three_hundred_chained_lets_check_and_eval(tmp_path: Path) -> None:
    lets = [("b0", "len(messages) > 0")] + [(f"b{i}", f"b{i - 1} and b{i - 1}") for i in range(1, 300)]
    folder = _folder(tmp_path, _policy(lets, "b299"))
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(_case()), encoding="utf-8")
    with cpu_limit(30):
        out, err = io.StringIO(), io.StringIO()
        assert run(["check", str(folder)], stdout=out, stderr=err) == 0, err.getvalue()
        out, err = io.StringIO(), io.StringIO()
        code = run(["eval", "-p", str(folder), "-f", "json", "--detail", "full", str(case_file)], stdout=out,
                   stderr=err)
    assert "RecursionError" not in err.getvalue() and "Traceback" not in err.getvalue()
    assert code == 0, err.getvalue()
    report = json.loads(out.getvalue())
    outcomes = {r["rule"]: r["outcome"] for r in report["cases"][0]["results"]}
    assert outcomes == {"r1": "complied", "plain": "complied"}


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

"""Property-based fuzzing (Hypothesis) of the three inputs policy-eval takes from people.

* Condition texts -- random, token soup, and grammar-aware mutations of every
  condition of the bundled policies -- through ``policy_eval.expression.compile_expression``:
  only ``PolicyError`` subclasses may escape, with a sane position. Whatever
  compiles is evaluated on example cases: only ``EvalFailure`` (the per-case
  "could not evaluate" signal) may escape, and the compiled closures agree with the
  reference interpreter.
* Policy documents -- line/character mutations of the bundled policies/ files,
  structural mutations re-dumped as YAML, and random YAML structures -- through
  ``policy_eval.rulebook.load_rulebook`` on a temporary folder: only ``PolicyError``.
* Case records -- structural mutations of examples/ (wrong types at any path, deleted
  keys, huge/NaN/10^400 numbers, odd timestamps) as dicts and as JSON bytes, and
  byte-level mutations of the JSON -- through ``Processor(BatchOptions()).process``:
  always a ``CaseResult`` for record 1 of source "x", never an exception, never an
  "internal error" rejection (the safety net that marks a bug).

Mutators and seeds are shared with the atheris harnesses in fuzz/ (fuzz/fuzz_common.py).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_eval.errors import PolicyError, PolicyTypeError
from policy_eval.expression import compile_expression, default_functions
from policy_eval.lang.ops import EvalFailure
from policy_eval.lang.values import UNKNOWN, render
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_rulebook
from policy_eval.run.batch import BatchOptions, Processor
from policy_eval.run.result import CaseResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
import fuzz_common as fc  # noqa: E402

# POLICY_EVAL_FUZZ_SCALE=10 multiplies every budget below (a longer run); the defaults keep this file fast.
SCALE = float(os.environ.get("POLICY_EVAL_FUZZ_SCALE", "1"))
FUZZ = settings(max_examples=max(1, int(300 * SCALE)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
# Loading a policy takes 20-50 ms (PyYAML in pure Python, Lark, code generation): fewer examples there.
SLOW = settings(FUZZ, max_examples=max(1, int(100 * SCALE)))
FUNCTIONS = default_functions()
SEEDS = fc.policy_conditions()
KINDS = sorted({kind for kind, _, _ in SEEDS})


@lru_cache(maxsize=1)
def processor() -> Processor:
    return Processor(BatchOptions())


@cache
def cases_of(kind: str) -> list[dict[str, Any]]:
    return [c for c in fc.example_cases() if c.get("kind") == kind]


def _compile(text: str, kind: str | None = None, params: dict[str, str] | None = None) -> Any:
    """Compile; return the compiled expression or None on a PolicyError (checked for a sane position)."""
    try:
        return compile_expression(text, case_schema=fc.case_schema(kind) if kind else None, params=params,
                                  functions=FUNCTIONS)
    except PolicyError as exc:
        if exc.line is not None:
            assert isinstance(exc.line, int) and exc.line >= 1, (text, exc.line)
            lines = max(1, len(text.splitlines()))
            assert exc.line <= lines + 1, (text, str(exc))
        if exc.column is not None:
            assert isinstance(exc.column, int) and exc.column >= 1, (text, exc.column)
        assert str(exc)  # renders
        return None


# --- conditions -------------------------------------------------------------------------------------

CONDITION_CHARS = st.sampled_from(list("()[]{},.:'\"\\#+-*/<>=!¥ \t\n\u3000abcdefmnopstxyz0123456789_水微信é"))
TOKEN_SOUP = st.lists(st.sampled_from(fc.condition_tokens("after_sale", SEEDS[0][2])), max_size=30).map(" ".join)


@FUZZ
@given(st.one_of(st.text(max_size=200), st.text(CONDITION_CHARS, max_size=200), TOKEN_SOUP),
       st.sampled_from(KINDS + [None]))
def test_random_condition_text_raises_only_policy_errors(text: str, kind: str | None) -> None:
    _compile(text, kind)


@FUZZ
@given(st.integers(0, len(SEEDS) - 1), st.randoms(use_true_random=False), st.integers(1, 6))
def test_mutated_policy_conditions_raise_only_policy_errors(index: int, rng: random.Random, steps: int) -> None:
    kind, text, params = SEEDS[index]
    mutated = fc.mutate_condition(text, fc.condition_tokens(kind, params), rng, steps)
    _compile(mutated, kind, params)


def _same(a: Any, b: Any) -> bool:
    if a is UNKNOWN or b is UNKNOWN:
        return a is b
    return render(a) == render(b)


@FUZZ
@given(st.integers(0, len(SEEDS) - 1), st.randoms(use_true_random=False), st.integers(0, 4))
def test_compiled_conditions_evaluate_cleanly_and_agree(index: int, rng: random.Random, steps: int) -> None:
    """Whatever compiles evaluates on example cases (also mutated ones, after the schema check) with only
    EvalFailure escaping, and the compiled closures agree with the reference interpreter."""
    kind, text, params = SEEDS[index]
    compiled = _compile(fc.mutate_condition(text, fc.condition_tokens(kind, params), rng, steps) if steps else text,
                        kind, params)
    if compiled is None:
        return
    validator = processor().validator
    assert validator is not None
    cases: list[dict[str, Any]] = [{}]
    for case in cases_of(kind):
        cases.append(case)
        mutated = fc.mutate_case(case, rng, rng.randrange(1, 4))
        if isinstance(mutated, dict) and validator.check(mutated, "x", 1) is None:
            cases.append(mutated)
    ref = fc.TIMESTAMPS[0]
    from policy_eval.lang.values import parse_datetime

    for case in cases:
        outcomes = []
        for run in (compiled.evaluate, compiled.interpret):
            try:
                outcomes.append(("value", run(case, ref_time=parse_datetime(ref))))
            except EvalFailure as exc:
                outcomes.append(("failure", exc))
        (k1, v1), (k2, v2) = outcomes
        if k1 == k2 == "value":
            assert _same(v1, v2), (compiled.text, render(v1), render(v2))


# --- policies ---------------------------------------------------------------------------------------

def _load_policy_text(text: str | bytes) -> None:
    data = text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else text
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "policies"
        folder.mkdir()
        (folder / "p.yaml").write_bytes(data)
        try:
            load_rulebook(folder, schema_dir=bundled_schemas(), functions=FUNCTIONS)
        except PolicyError as exc:
            errors = getattr(exc, "errors", [exc])
            for err in errors:
                assert err.file is not None and err.file.endswith("p.yaml"), str(err)
                assert err.line is None or err.line >= 1, str(err)
                assert str(err)


# Whole files are slow to load (100-200 ms each); mutate them rarely, and mostly one-rule cut-downs.
POLICY_TEXTS = fc.small_policy_texts()
WHOLE_TEXTS = fc.policy_texts()


@SLOW
@given(st.integers(0, len(POLICY_TEXTS) - 1), st.randoms(use_true_random=False), st.integers(1, 5))
def test_mutated_policy_files_raise_only_policy_errors(index: int, rng: random.Random, steps: int) -> None:
    _load_policy_text(fc.mutate_policy_text(POLICY_TEXTS[index], rng, steps))


@settings(FUZZ, max_examples=max(1, int(20 * SCALE)))
@given(st.integers(0, len(WHOLE_TEXTS) - 1), st.randoms(use_true_random=False), st.integers(1, 5))
def test_mutated_whole_policy_files_raise_only_policy_errors(index: int, rng: random.Random, steps: int) -> None:
    _load_policy_text(fc.mutate_policy_text(WHOLE_TEXTS[index], rng, steps))


SMALL_POLICIES = fc.small_policies()


@SLOW
@given(st.integers(0, len(SMALL_POLICIES) - 1), st.randoms(use_true_random=False), st.integers(1, 4))
def test_structurally_mutated_policies_raise_only_policy_errors(index: int, rng: random.Random, steps: int) -> None:
    data = fc.mutate_policy_data(SMALL_POLICIES[index], rng, steps)
    _load_policy_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                         st.sampled_from(fc.LITERALS + fc.KEYWORDS + ["after_sale", "chat", "2020-01-01", "1"]))
YAML_VALUES = st.recursive(YAML_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10) | st.sampled_from(
        ["policy", "rules", "params", "waivers", "id", "title", "version", "when", "require", "forbid", "let",
         "type", "value", "values", "remedies", "source", "document", "effective_from", "applies_to",
         "reference_time", "severity", "message", "clause", "scope", "until"]), inner, max_size=6)), max_leaves=30)


@SLOW
@given(YAML_VALUES, st.booleans())
def test_random_yaml_structures_raise_only_policy_errors(value: Any, wrap: bool) -> None:
    if wrap:  # make it look like a policy so that it reaches the policy loader
        value = {"policy": value, "rules": value}
    _load_policy_text(yaml.safe_dump(value, allow_unicode=True))


# --- case records -----------------------------------------------------------------------------------

def _process(payload: Any) -> CaseResult:
    result = processor().process(("x", 1, payload))
    assert isinstance(result, CaseResult)
    assert result.source == "x" and result.record == 1
    if result.error is not None:
        assert "internal error" not in result.error["message"], result.error["message"]
        assert result.error["json_path"].startswith("$")
    else:
        assert result.results is not None
    return result


CASES = fc.example_cases()


@FUZZ
@given(st.integers(0, len(CASES) - 1), st.randoms(use_true_random=False), st.integers(1, 5))
def test_mutated_case_records_are_evaluated_or_rejected(index: int, rng: random.Random, steps: int) -> None:
    case = fc.mutate_case(CASES[index], rng, steps)
    if isinstance(case, dict):  # Processor.process takes a record's bytes or a decoded object
        _process(case)
    _process(fc.to_json_bytes(case))


@FUZZ
@given(st.integers(0, len(CASES) - 1), st.randoms(use_true_random=False), st.integers(1, 5))
def test_byte_mutated_case_records_are_evaluated_or_rejected(index: int, rng: random.Random, steps: int) -> None:
    _process(fc.mutate_bytes(fc.to_json_bytes(CASES[index]), rng, steps))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.decimals(allow_nan=True, allow_infinity=True),
              st.text(max_size=30), st.sampled_from(fc.TIMESTAMPS + fc.MONEY)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@FUZZ
@given(st.integers(0, len(CASES) - 1), st.data())
def test_any_json_value_at_any_path_is_evaluated_or_rejected(index: int, data: st.DataObject) -> None:
    case = fc.mutate_case(CASES[index], random.Random(0), 0)
    where = data.draw(st.sampled_from(fc.paths(case)[1:]))
    node = case
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = data.draw(JSON_VALUES)
    _process(case)
    _process(fc.to_json_bytes(case))


# --- regressions found while fuzzing ----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "9999-12-31T23:59:59 + 1d",  # OverflowError: date value out of range (ops: datetime + duration)
    "0001-01-01T00:00:00+14:00 - 1d",
    "9999-12-31 + 1d",  # date + duration
    "2024-01-01 + 99999999d",
    "1d * 99999999999999999999999999999999999999",  # OverflowError: Python int too large to convert to C int
    "99999999999999999999999999999999999999 * 1d",
    "-(999999999d) - 999999999d",
])
def test_evaluation_overflow_is_an_eval_failure(text: str) -> None:
    """Arithmetic beyond the datetime/timedelta range must be the per-case EvalFailure ("could not
    evaluate", the rule comes out undetermined), not a raw OverflowError: in a batch that raw error became an
    "internal error" rejection of the whole record (see tests/test_hostile_cases.py, line "year 9999")."""
    compiled = compile_expression(text, functions=FUNCTIONS)
    for run in (compiled.evaluate, compiled.interpret):
        try:
            run({})
        except EvalFailure:
            pass


@pytest.mark.parametrize("text", ["99999999999d", "9" * 40 + "d", "999999999999999999999999999999h"])
def test_duration_literal_out_of_range_is_a_syntax_error(text: str) -> None:
    """Was a lark VisitError wrapping OverflowError (fixed in values.parse_duration)."""
    assert _compile(text) is None


@pytest.mark.parametrize("text", [
    "null < request.refund_amount",  # AttributeError: 'NoneType' object has no attribute 'currency'
    "request.refund_amount > null",
    "null < 1",  # TypeError from the compiled closures (EvalFailure from the interpreter)
    "1 >= null",
    "null < 1d",
    "null < order.received_at",
    "max(null, 1)",
])
def test_ordering_against_null_is_a_load_time_type_error(text: str) -> None:
    """Found by fuzz/fuzz_condition.py: ``null == x`` is refused ("cannot compare with null; use exists(...)")
    but ``null < x`` type-checked, and then failed on every case at run time -- with a raw TypeError or
    AttributeError that a batch turned into an "internal error" rejection of every record."""
    with pytest.raises(PolicyTypeError):
        compile_expression(text, case_schema=fc.case_schema("after_sale"), functions=FUNCTIONS)

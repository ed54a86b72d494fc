"""Generated code never puts a literal before ``is`` / ``is not``.

``exists(1 + 2)`` used to become ``(3 is not U)``: Python warns "SyntaxWarning: "is not" with a literal"
when compiling it, and under ``-W error`` (or a warnings filter that raises) the warning is a SyntaxError
that ``compile_fast`` / ``fuse`` silently answer by falling back to the slower closures. Each condition
here is compiled with warnings turned into errors; the generated function must be made (not the
fallback) and give the reference interpreter's value.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import policytext as pt
import pytest

from policy_eval import expression as lang
from policy_eval.errors import PolicyError
from policy_eval.lang.codegen import generate
from policy_eval.lang.interpreter import interpret
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome

# one constant of each kind the language has
CONSTANTS = ["1", "0", "-1", "-(1)", "1.5", '"a"', '""', "true", "false", "null", "10 USD", "2.50 EUR", "2d",
             "48h", "2024-01-01", "2024-01-01T10:00:00Z", "[1, 2]", "[]", '["a"]']
# constant-only arithmetic that Python would fold to a literal if it were spelled inline
FOLDED = ["1 + 2", "2 * 3 - 1", "-(2 * 3)", "(1 + 2) * (3 + 4)", "1 - 1", "-(1 + 2) + 4", "1.5 + 2.5",
          "10 USD + 5 USD", "2d + 3h", "2024-01-01 + 1d", '"a" + "b"', "1 < 2", "1 + 2 > 2", "not (1 < 2)",
          "max(1, 2)", "min(1 + 1, 3)", "default(1 + 2, 0)", "if true then 1 + 2 else 3",
          "if 1 < 2 then 2 * 3 - 1 else 0", "len([1, 2]) + 1", "exists(1 + 2)"]
# the places a value is tested against unknown
TEMPLATES = ["exists({e})", "not exists({e})", "exists({e}) and exists({e})", "exists({e}) or false",
             "default({e}, {e}) == {e}", "{e} == {e}", "if exists({e}) then 1 else 2"]


def _generated(text: str) -> Any:
    """The expression's compiled function, made with every warning an error; it must be the generated one."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prog = lang.compile_expression(text)
        prog.evaluate({})  # the code is generated on the first call
    assert prog.fn.__code__.co_filename.startswith("<policy-eval: '"), f"{text!r}: fell back to the closures"
    return prog


def _same_as_reference(text: str) -> None:
    prog = _generated(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lang.render(prog.evaluate({})) == lang.render(interpret(prog.node, {})), text


@pytest.mark.parametrize("expr", ["exists(1)", 'exists("a")', "exists(1 + 2)"])
def test_the_reported_conditions_compile_without_a_warning(expr: str) -> None:
    _same_as_reference(expr)
    assert _generated(expr).evaluate({}) is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source, _ = generate(_generated(expr).node)
        compile(source, "<test>", "exec")


@pytest.mark.parametrize("e", CONSTANTS + FOLDED)
def test_exists_of_a_constant_is_generated_and_agrees_with_the_interpreter(e: str) -> None:
    _same_as_reference(f"exists({e})")


def test_every_template_over_every_constant_compiles_cleanly() -> None:
    checked = 0
    for template, e in itertools.product(TEMPLATES, CONSTANTS + FOLDED):
        text = template.format(e=e)
        try:
            lang.compile_expression(text)
        except PolicyError:  # a combination the checker refuses (e.g. a type mismatch): nothing to compile
            continue
        _same_as_reference(text)
        checked += 1
    assert checked > 250


def test_exists_of_a_case_value_still_reads_the_case() -> None:
    """Not decided at compile time when it depends on the case: absent is false, present is true."""
    prog = _generated("exists(order.total + 1)")
    assert prog.evaluate({}) is False and interpret(prog.node, {}) is False
    assert prog.evaluate({"order": {"total": 2}}) is True


RULES = pt.rules_text(
    pt.rule("folded", "exists(2 * 3 - 1)"),
    pt.rule("negated", "not exists(1 + 2)"),
    pt.rule("gated", "exists(len(messages))", when="exists(-(1 + 2))"),
)


def test_a_version_with_constant_exists_rules_is_fused_and_decided(tmp_path: Path) -> None:
    """The fused function of a version (lang.fusion) uses the same templates: made, and deciding as documented."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rb = pt.load(pt.write(tmp_path / "p" / "chat.yaml", pt.policy(RULES, **pt.CHAT, id="chat")).parent)
        ev = Evaluator(rb, detail="findings")
        kernel = ev._kernel
        assert kernel is not None
        (version,) = list(rb.versions())
        assert kernel._fused[id(version)] is not None
        case = {"kind": "chat", "case_id": "C1",
                "messages": [{"sender": "buyer", "sent_at": "2024-03-01T10:00:00+08:00", "text": "hi"}]}
        result = ev.evaluate(case)
    # findings detail lists what is not complied; the two others are counted
    assert {r.rule: r.outcome for r in result.results} == {"negated": Outcome.VIOLATED}
    assert result.counts()["complied"] == 2

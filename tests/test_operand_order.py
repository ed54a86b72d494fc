"""An operator or a call computes every operand before it looks at any, in every evaluator: where an earlier operand
is unknown and a later one raises a data error, the answer is the error, not unknown (docs/language.md: "an operator
takes every operand"). The interpreter (``explain``, ``--explain``) always did; the closures' binary operators and
division, and the generated code's strict operators and calls (lang.threevalued ``strict``: ``or`` between the
unknown-tests), stopped at the unknown operand: such a rule came out undetermined, "missing unknown values", with
no error named, under ``eval`` and ``explain`` alike (they decide by those; the interpreter only traces). Found when
quantifier bodies became generated code (lang.codegen ``quantifier_body``): tests/test_closure_calls.py then met
it inside a body.

Each expression is run by the interpreter, the closures, the generated code (with its closures as fall-back), the
expression's own ``evaluate`` and, as a rule's condition, the fused function of a policy through the API (explain
off) against the interpreter (explain on); the error is a plugin function given a list holding an unknown.
"""

from __future__ import annotations

import itertools
import json
import pathlib

import pytest
from evaluators import SCHEMA, outcome

from policy_eval import expression as lang
from policy_eval.api import Rulebook
from policy_eval.lang.codegen import compile_fast
from policy_eval.lang.compiler import REF_TIME, compile_ir

RAISES = 'len(find_words_unless(order.id, [order.category], ["x"]))'  # (raises where id is there and category is not)
ITEM_RAISES = 'len(find_words_unless(m.text, [m.sender], ["x"]))'
EXPRESSIONS = [
    f"order.promised_days + {RAISES} > 0",  # (binary, an unknown left operand)
    f"{RAISES} + order.promised_days > 0",  # (the error first)
    f"order.promised_days * 2 - {RAISES} >= 0",
    f"order.promised_days / ({RAISES} + 1) > 0",  # (division: its own closure)
    f"contains(order.category, text({RAISES}))",  # (a strict call)
    f"max(order.promised_days, {RAISES}) > 0",
    f"any m in messages: len(m.sender) + {ITEM_RAISES} > 0",  # (inside a quantifier's body)
    f"(count m in messages: starts_with(m.sender, text({ITEM_RAISES}))) > 0",
]
ORDERS = [{}, {"id": "abc"}, {"id": "abc", "category": "c"}, {"promised_days": 3}, {"promised_days": 3, "id": "x y"},
          {"promised_days": 3, "id": "a", "category": "a"}]
ITEMS = [{}, {"text": "ab"}, {"sender": "s"}, {"text": "x", "sender": "x"}]
CASES = [{"order": order, "messages": list(items)} for order in ORDERS
         for items in itertools.chain([()], itertools.product(ITEMS, repeat=1), [(ITEMS[1], ITEMS[3])])]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_every_evaluator_computes_every_operand(text: str) -> None:
    prog = lang.compile_expression(text, case_schema=SCHEMA)
    closures, generated = compile_ir(prog.node), compile_fast(prog.node)
    for case in CASES:
        reference = outcome(prog.interpret, case)
        assert outcome(lambda c: closures(dict(c), {REF_TIME: lang.UNKNOWN}), case) == reference, (text, case)
        assert outcome(lambda c: generated(dict(c), {REF_TIME: lang.UNKNOWN}), case) == reference, (text, case)
        assert outcome(prog.evaluate, case) == reference, (text, case)


def test_the_cases_meet_an_unknown_operand_beside_an_error() -> None:
    prog = lang.compile_expression(EXPRESSIONS[0], case_schema=SCHEMA)
    assert outcome(prog.interpret, {"order": {"id": "abc"}}) == ("raised", "EvalFailure")  # (days unknown)
    assert outcome(prog.interpret, {"order": {}}) == ("value", "unknown")
    assert outcome(prog.interpret, {"order": {"id": "abc", "category": "c", "promised_days": 1}}) == ("value", "true")


_POLICY = """
policy:
  id: operands
  title: operand order
  version: "1"
  source: {document: tests/test_operand_order.py}
  effective_from: 2020-01-01
  applies_to: demo
  reference_time: at
rules:
"""


def test_a_policys_verdicts_carry_the_error(tmp_path: pathlib.Path) -> None:
    """Each expression as a rule's ``forbid``: the verdict the API gives (the fused function, and explained) is what
    the interpreter says of the expression: an error makes the verdict undetermined with the error named (before:
    undetermined, "missing unknown values", with no error), unknown undetermined, true violated, false complied."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "schemas" / "cases").mkdir(parents=True)
    schema = {**SCHEMA, "required": ["kind"], "properties": {**SCHEMA["properties"], "kind": {"const": "demo"},
                                                             "at": {"type": "string", "format": "date-time"}}}
    (tmp_path / "schemas" / "cases" / "demo.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    rules = "".join(f"  - id: r{i}\n    title: r{i}\n    clause: \"1\"\n    severity: low\n"
                    f"    forbid: {json.dumps(text)}\n    message: r{i}\n" for i, text in enumerate(EXPRESSIONS))
    (tmp_path / "policies" / "operands.yaml").write_text(_POLICY + rules, encoding="utf-8")
    book = Rulebook.load(tmp_path / "policies", schemas=tmp_path / "schemas", entry_points=False)
    programs = [lang.compile_expression(text, case_schema=SCHEMA) for text in EXPRESSIONS]
    wanted = {("value", "true"): ("violated", False), ("value", "false"): ("complied", False),
              ("value", "unknown"): ("undetermined", False), ("raised", "EvalFailure"): ("undetermined", True)}
    seen = set()
    for case in CASES:
        expected = [wanted[outcome(prog.interpret, case)] for prog in programs]
        seen.update(expected)
        for explain in (False, True):
            made = book.evaluate({"kind": "demo", "at": "2024-01-01T00:00:00+08:00", **case}, explain=explain)
            assert made.error is None
            assert [(r.outcome.value, r.error is not None) for r in made.results] == expected, (case, explain)
    assert seen == set(wanted.values()), seen

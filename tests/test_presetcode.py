"""Full detail's generated verdict maker (run.presetcode) gives what the loop it replaced gave.

``Evaluator._policy`` made a version's verdicts in a loop: for each rule, an instance of its preset class for the
outcome the fused function decided, with the reference time and inputs set, or the general path's verdict. The
generated function must give the same verdicts, in the same order, from the same calls: every golden case in full
detail (with inputs recorded, and without) is evaluated with the generated function and with that loop.
"""

from __future__ import annotations

from typing import Any

import pytest
from goldencorpus import golden_tests

from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.policy import parse_instant
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.presetcode import maker
from policy_eval.run.result import FIELDS, Outcome, RuleResult

TESTS = golden_tests()


def _loop(ev: Evaluator, version_id: int) -> Any:
    """The loop run.presetcode replaced, as a maker of the same signature."""
    rules = ev._rules[version_id]
    kinds_of = [ev._presets.get(id(r)) for r in rules]

    def make(decided: Any, own: Any, ref_text: str, general: Any, version: Any, case: Any, env: Any,
             nulls: Any) -> list[Any]:
        made: list[Any] = []
        for rule, kinds, outcome, mine in zip(rules, kinds_of, decided, own, strict=True):
            if kinds is not None and (kind := kinds.get(outcome)) is not None:
                result = object.__new__(kind)
                result.reference_time = ref_text
                result.inputs = mine if mine is not None else ev._rule_inputs(rule, case, None)
                made.append(result)
            else:
                made.append(general(version, rule, case, env, ref_text, mine, None, nulls, outcome))
        return made
    return make


def _fields(r: RuleResult) -> dict[str, Any]:
    out = {f: getattr(r, f) for f in FIELDS}
    out["explanation"] = list(out["explanation"])
    return out


@pytest.mark.parametrize("record_inputs", [True, False])
def test_the_generated_maker_gives_the_loops_verdicts(record_inputs: bool) -> None:
    books: dict[str | None, tuple[Evaluator, Evaluator]] = {}
    made = preset = 0
    for test in TESTS:
        if test.params not in books:
            rb = load_rulebook(params=test.params)
            generated, looped = (Evaluator(rb, explain="missing", record_inputs=record_inputs) for _ in range(2))
            looped._makers = {id(v): _loop(looped, id(v)) for v in rb.versions()}
            # (the makers themselves, not run.written, nor the straight path through it: tests/test_written.py)
            generated._runs = looped._runs = generated._straight = looped._straight = None
            books[test.params] = generated, looped
        generated, looped = books[test.params]
        as_of = parse_instant(test.as_of) if test.as_of else None
        a, b = generated.evaluate(test.case, as_of=as_of), looped.evaluate(test.case, as_of=as_of)
        assert [type(r) is RuleResult for r in a.results] == [type(r) is RuleResult for r in b.results]
        assert [_fields(r) for r in a.results] == [_fields(r) for r in b.results], test.file
        assert a.to_json_bytes() == b.to_json_bytes()
        made += len(a.results)
        preset += sum(type(r) is not RuleResult for r in a.results)
        if not record_inputs:
            assert all(r.inputs == {} for r in a.results if type(r) is not RuleResult)
    assert made > 30_000 and preset > made // 2, (made, preset)  # most verdicts came from a preset class


def test_each_verdict_gets_its_own_empty_inputs() -> None:
    """Without recorded inputs each preset verdict holds a dict of its own, as the general path gives."""
    rb = load_rulebook()
    ev = Evaluator(rb, explain="missing", record_inputs=False)
    case = next(t.case for t in TESTS if t.params is None and t.case.get("kind") == "after_sale")
    presets = [r for r in ev.evaluate(case).results if type(r) is not RuleResult]
    assert len(presets) > 2
    assert len({id(r.inputs) for r in presets}) == len(presets)


def test_a_version_without_rules() -> None:
    assert maker([], [], True)((), (), "", None, None, None, None, ()) == []


def test_the_maker_takes_preset_classes_only() -> None:
    """It calls each class bare (object's own ``__init__``, as PresetResult.of gives): another class is refused
    when the maker is made, not met mid-case."""
    rb = load_rulebook()
    version = next(iter(rb.versions()))

    class Other:
        def __init__(self, needed: Any) -> None:
            pass

    with pytest.raises(TypeError, match="not a preset class"):
        maker(version.rules[:1], [{Outcome.COMPLIED: Other}], True)

"""A rule's violated verdict made by one generated function (run.violated) equals ``Judge.violated``'s.

Compared on every rule of every policy version in force on every golden case, whatever its outcome there (a
message of a rule that complied shows unknowns and other values: every placeholder and remedy is reached), with
and without run.nullshown's ``NO_NULL`` in the environment; where the case holds a null on a path that could change
the message, the maker says None (the caller then builds the verdict the general way) and only there. Also: which
evaluators make one (none where a verdict records more than its message and remedies), and the batch output with
makers is the same as without them.
"""

from __future__ import annotations

from typing import Any

import pytest
from goldencorpus import golden_tests
from goldenrules import versions_in_force

from policy_eval.lang.compiler import REF_TIME
from policy_eval.lang.values import render
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.nullpaths import null_paths
from policy_eval.run.nullshown import NO_NULL
from policy_eval.run.result import FIELDS, RuleResult

TESTS = golden_tests()


def test_golden_cases_every_rule() -> None:
    books: dict[str | None, tuple[Any, Evaluator]] = {}
    made = declined = nulls = 0
    for test in TESTS:
        if test.params not in books:
            book = load_rulebook(params=test.params)
            books[test.params] = (book, Evaluator(book, detail="findings"))
        book, ev = books[test.params]
        for version, ref in versions_in_force(book, test.case):
            for rule in version.rules:
                make = ev.violated_maker(version, rule)
                if make is None:
                    declined += 1
                    assert version.waivers or ev._deployed.get(id(rule)), rule.full_id
                    continue
                for env in ({REF_TIME: ref, NO_NULL: True}, {REF_TIME: ref}):
                    ref_text = render(ref)
                    got = make(test.case, dict(env), ref_text)
                    if NO_NULL not in env and null_paths(test.case, ev._nullable[id(rule)]):
                        assert got is None, rule.full_id
                        nulls += 1
                        continue
                    want = ev.violated(version, rule, test.case, dict(env), ref_text)
                    assert type(got) is RuleResult and type(want) is RuleResult
                    assert got == want, rule.full_id
                    assert [getattr(got, f) for f in FIELDS] == [getattr(want, f) for f in FIELDS]
                    made += 1
    # the corpus reaches makers of every rule, declined ones (waivers, deployment parameters) and nulls
    assert made > 4000 and declined > 0 and nulls > 0, (made, declined, nulls)


@pytest.mark.parametrize(("options", "made"), [
    ({"detail": "findings"}, True),
    ({"detail": "full", "record_inputs": False, "explain": "missing"}, True),  # only the message and remedies
    ({"detail": "full", "record_inputs": False}, False),  # a violated verdict traced (explain: decisive)
    ({"detail": "full", "explain": "missing"}, False),  # inputs recorded
    ({"detail": "full", "record_inputs": False, "explain": "missing", "lazy": True}, False),  # the API's lazy verdicts
])
def test_made_only_where_a_verdict_records_nothing_more(options: dict[str, Any], made: bool) -> None:
    book = load_rulebook()
    ev = Evaluator(book, **options)
    version = book.policies["after-sales"].latest()
    assert [ev.violated_maker(version, rule) is not None for rule in version.rules] == [made] * len(version.rules)


def test_batch_results_equal_without_makers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every golden case through a findings evaluator that makes its violated verdicts and one that builds them the
    general way: the same results, and the makers were used."""
    book = load_rulebook()
    used = []
    real = Evaluator.violated_maker

    def counted(self: Evaluator, version: Any, rule: Any) -> Any:
        make = real(self, version, rule)
        if make is None:
            return None

        def spy(case: Any, env: Any, ref_text: str) -> Any:
            used.append(rule.full_id)
            return make(case, env, ref_text)
        return spy
    monkeypatch.setattr(Evaluator, "violated_maker", counted)  # (the makers are made with the evaluator)
    with_makers = Evaluator(book, detail="findings")
    monkeypatch.setattr(Evaluator, "violated_maker", lambda self, version, rule: None)
    without = Evaluator(book, detail="findings")
    cases = [t.case for t in TESTS if t.params is None]
    for case in cases:
        assert with_makers.evaluate(case).to_json_bytes() == without.evaluate(case).to_json_bytes()
    assert len(used) > 50


def test_made_with_the_evaluator_so_that_forked_workers_inherit_them() -> None:
    """A findings evaluator's straight path makes the makers of its versions when it is made (before any case), and
    the kernel's loud verdicts use those very functions."""
    book = load_rulebook()
    ev = Evaluator(book, detail="findings")
    assert ev._kernel is not None
    version = next(h for h in ev._by_kind["after_sale"] if h.id == "after-sales").latest()
    made = ev._kernel.makers.get(id(version))
    assert made is not None and len(made) == len(ev._kernel.rules(version)) and all(m is not None for m in made)
    before = list(made)
    for test in TESTS:
        if test.params is None and test.case.get("kind") == "after_sale":
            ev.evaluate(test.case)
    assert ev._kernel.makers[id(version)] == before and all(a is b for a, b in zip(before, made, strict=True))

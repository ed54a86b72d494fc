"""lang.codecache: generated source compiled once a process, whatever loads it again.

A second load of a rulebook (a test file's own parameters, the language server after an edit) used to compile
every generated function again; it now gets the code objects of the first, and runs them in namespaces of its
own: the verdicts of each load are its own (its parameters), the compiling is not repeated."""

from __future__ import annotations

import builtins
from typing import Any

import policytext as pt
import pytest

from policy_eval.api import Rulebook
from policy_eval.lang import codecache
from policy_eval.lang.codecache import code_for


def test_one_code_object_for_one_text_and_name() -> None:
    first = code_for("x = 1\n", "<test a>")
    assert code_for("x = 1\n", "<test a>") is first
    assert code_for("x = 1\n", "<test b>") is not first  # (the name is what a traceback shows)
    assert code_for("x = 2\n", "<test a>") is not first
    one: dict[str, Any] = {}
    two: dict[str, Any] = {}
    exec(first, one)  # noqa: S102 - a test's own literal
    exec(first, two)  # noqa: S102
    assert one["x"] == two["x"] == 1


def test_a_source_that_does_not_compile_raises_and_is_not_kept() -> None:
    for _ in range(2):
        with pytest.raises(SyntaxError):
            code_for("def (:\n", "<test broken>")
    assert not any(name == "<test broken>" for _, name in codecache._KEPT)


def test_the_memory_is_bounded_by_the_characters_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, "MAX_CHARS", 100)
    monkeypatch.setattr(codecache, "_KEPT", {})
    monkeypatch.setattr(codecache, "_held", [0])
    for i in range(20):
        code_for(f"x = {'1' * 30}{i}\n", "<test bounded>")
        assert codecache._held[0] <= 100
        assert codecache._held[0] == sum(len(source) for source, _ in codecache._KEPT)
    assert 1 <= len(codecache._KEPT) <= 3


CASE = pt.UNSHIPPED


def test_a_second_load_compiles_nothing_again_and_decides_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    first = Rulebook.load(entry_points=False)
    before = first.evaluate(CASE)
    calls: list[str] = []
    real = builtins.compile

    def counting(source: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(name, str) and name.startswith(("<policy-eval", "<compiled")):
            calls.append(name)
        return real(source, name, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counting)
    second = Rulebook.load(entry_points=False)
    after = second.evaluate(CASE)
    assert calls == []
    assert before.error is None and any(r.outcome.value == "violated" for r in before.results)
    assert [(r.rule, r.outcome, r.message) for r in after.results] == \
           [(r.rule, r.outcome, r.message) for r in before.results]

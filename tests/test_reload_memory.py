"""A rulebook dropped leaves nothing behind: a process that loads rulebooks again and again (the language server
and the workbench after each edit, ``test --watch``, an embedder) does not grow with each load.

The let-bindings' compiled functions and cost estimates are kept in dictionaries weakly keyed by the binding's
node; an entry whose value held its own node (the function's first-call compiler, an estimate's costliest
construct) was never freed, and with it the node's tree: every load of the bundled rulebook left ~1.6 MB behind
(bench/README, fifty-sixth session)."""

from __future__ import annotations

import gc
import weakref

import policytext as pt

from policy_eval.api import Rulebook
from policy_eval.lang import compiler, cost
from policy_eval.rulebook.policy import PolicyVersion

CASE = pt.UNSHIPPED


def _loaded_and_dropped() -> list[weakref.ref[object]]:
    book = Rulebook.load(entry_points=False)
    result = book.evaluate(CASE, explain=True)
    assert any(r.outcome.value == "violated" for r in result.results)
    versions = [weakref.ref(v) for h in book.book.policies.values() for v in h.versions]
    assert versions and all(isinstance(v(), PolicyVersion) for v in versions)
    return versions


def test_a_dropped_rulebook_leaves_no_let_binding_behind() -> None:
    _loaded_and_dropped()  # (what a first load warms once: codecache, parse memo)
    gc.collect()
    before = (len(compiler._LETS), len(compiler._KEYS), len(cost._LETS))
    versions = _loaded_and_dropped() + _loaded_and_dropped()
    gc.collect()
    assert all(v() is None for v in versions)
    assert (len(compiler._LETS), len(compiler._KEYS), len(cost._LETS)) == before

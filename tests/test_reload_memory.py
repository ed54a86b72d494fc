"""A rulebook dropped leaves nothing behind: a process that loads rulebooks again and again (the language server
and the workbench after each edit, ``test --watch``, an embedder) does not grow with each load.

The let-bindings' compiled functions and cost estimates are kept in dictionaries weakly keyed by the binding's
node; an entry whose value held its own node (the function's first-call compiler, an estimate's costliest
construct) was never freed, and with it the node's tree: every load of the bundled rulebook left ~1.6 MB behind
(bench/README, fifty-sixth session)."""

from __future__ import annotations

import gc
import weakref

from policy_eval.api import Rulebook
from policy_eval.lang import compiler, cost
from policy_eval.rulebook.policy import PolicyVersion

# an unshipped refund-only request past the promised shipping time (after-sales 2.3: violated)
CASE = {"kind": "after_sale", "case_id": "C-1", "order": {
    "id": "O-1", "store_id": "S-1", "goods_title": "保温杯", "category": "家居日用",
    "group_success_at": "2023-10-19T23:04:56+08:00", "confirmed_at": "2023-10-19T23:04:56+08:00",
    "promised_ship_by": "2023-10-21T23:04:56+08:00", "promised_after_sale_days": 7, "paid_amount": "19.90"},
    "request": {"id": "R-1", "type": "refund_only", "reason": "不想要了", "submitted_at": "2023-10-20T19:32:41+08:00",
                "status": "refunding"}, "snapshot_at": "2023-10-22T08:23:47+08:00"}


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

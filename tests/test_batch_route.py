"""The batch processor's records through Evaluator.evaluate with ``checked`` (run.batch.Processor).

A record that rulebook.msgdecode reads (a dict of a kind with a schema, checked) is evaluated without
Evaluator.evaluate's checks of its type and kind. The straight path is asked once for it; a case it hands back goes
to the general path, which does not ask it again; one a fused function ran out of budget on is decided there rule
by rule (full detail with every verdict explained has no straight path). Each record is
processed by two processors of one rulebook, one with the straight path and one without it, and both must write
the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import policytext as pt
import pytest
from goldencorpus import golden_tests

from policy_eval.resources import bundled_schemas
from policy_eval.run.batch import BatchOptions, Processor
from policy_eval.run.lazy import SPENT

ROOT = Path(__file__).resolve().parent.parent


class Counted:
    """A processor's straight path, counting what it answered, handed back (None) and gave up on (SPENT)."""

    def __init__(self, proc: Processor) -> None:
        straight = proc.evaluator._straight
        assert straight is not None
        self.inner = straight.result
        self.answered = self.handed_back = self.spent = 0
        straight.result = self  # type: ignore[method-assign]

    def __call__(self, *args: Any) -> Any:
        made = self.inner(*args)
        if made is None:
            self.handed_back += 1
        elif made is SPENT:
            self.spent += 1
        else:
            self.answered += 1
        return made


def _pair(policies: Path, **options: Any) -> tuple[Processor, Processor, Counted]:
    opts = BatchOptions(policies=str(policies), schemas=str(bundled_schemas()), entry_points=False, **options)
    straight, general = Processor(opts), Processor(opts)
    general.evaluator._straight = None
    return straight, general, Counted(straight)


def _same(straight: Processor, general: Processor, case: dict[str, Any], number: int = 3) -> Any:
    line = json.dumps(case, ensure_ascii=False).encode() + b"\n"
    assert straight._decode is not None and straight._decode(line) is not None  # (the record takes the route)
    a, b = straight.process(("cases.jsonl", number, line)), general.process(("cases.jsonl", number, line))
    assert a.to_json_bytes() == b.to_json_bytes()
    assert a == b and a.tally() == b.tally()
    return a


@pytest.mark.parametrize("detail, explain", [("findings", "missing"), ("findings", True), ("full", False),
                                             ("full", "missing")])
def test_the_golden_after_sale_cases(detail: str, explain: Any) -> None:
    straight, general, counted = _pair(ROOT / "policies", detail=detail, explain=explain)
    taken = 0
    for n, test in enumerate(golden_tests(), 1):
        line = json.dumps(test.case, ensure_ascii=False, default=float).encode() + b"\n"
        asked = counted.answered + counted.handed_back + counted.spent
        a, b = straight.process(("golden.jsonl", n, line)), general.process(("golden.jsonl", n, line))
        assert a.to_json_bytes() == b.to_json_bytes(), test.name
        read = straight._decode is not None and straight._decode(line) is not None
        taken += read
        # the straight path is asked at most once a record, and once for every record the decoder read
        now = counted.answered + counted.handed_back + counted.spent - asked
        assert (now == 1) if read else (now <= 1), test.name
    assert taken > 1000


CHAIN = pt.policy(pt.rules_text(
    pt.rule("in-window", "request.submitted_at <= order.received_at + 15d"),
    pt.rule("refunded", "exists(request.refund_succeeded_at)", depends_on="{in-window: complied}")))


def _case(**request: Any) -> dict[str, Any]:
    return {"kind": "after_sale", "case_id": "C1", "snapshot_at": "2024-03-20T00:00:00+08:00",
            "order": {"id": "O1", "confirmed_at": "2024-02-20T10:00:00+08:00", "received_at": "2024-02-25T10:00:00+08:00"},
            "request": {"id": "R1", "type": "refund_only", "submitted_at": "2024-03-01T10:00:00+08:00", **request}}


def test_a_case_handed_back_is_not_offered_again(tmp_path: Path) -> None:
    straight, general, counted = _pair(pt.write(tmp_path / "demo.yaml", CHAIN).parent, detail="findings")
    answered = _same(straight, general, _case())
    assert [(r.rule, r.outcome.value) for r in answered.results] == [("refunded", "violated")]
    assert (counted.answered, counted.handed_back) == (1, 0)
    early = _same(straight, general, _case(submitted_at="2001-01-01T00:00:00+08:00"))  # before effective_from
    assert [(r.rule, r.outcome.value) for r in early.results] == [(None, "not_applicable")]  # the policy's verdict
    assert (counted.answered, counted.handed_back) == (1, 1)  # asked once, not again by Evaluator.evaluate


LOOPS = pt.policy(pt.rules_text(
    pt.rule("loops", "all m in messages: all n in messages: m.sent_at <= n.sent_at or m.sender != n.sender"),
    pt.rule("plain", "len(messages) >= 1", title="Plain")), **pt.CHAT)


@pytest.mark.parametrize("detail", ["findings", "full"])
def test_a_rule_over_its_budget(tmp_path: Path, detail: str) -> None:
    """Findings detail decides the rule undetermined on the straight path; full detail's written path gives up on
    the record (SPENT), which the general path then decides rule by rule, without the fused function."""
    straight, general, counted = _pair(pt.write(tmp_path / "loops.yaml", LOOPS).parent, detail=detail,
                                       budget=2_000, max_cost=10 ** 40)
    message = {"id": "m1", "sender": "buyer", "text": "hi", "sent_at": "2024-03-01T10:00:00+08:00", "attachments": []}
    small = _same(straight, general, {"kind": "chat", "case_id": "C1", "store_id": "S1", "messages": [message] * 3})
    assert [r.outcome.value for r in small.results] == ([] if detail == "findings" else ["complied"] * 2)
    big = _same(straight, general, {"kind": "chat", "case_id": "C2", "store_id": "S1", "messages": [message] * 100})
    assert [(r.rule, r.outcome.value) for r in big.results if r.outcome.value != "complied"] == [
        ("loops", "undetermined")]
    assert "budget exceeded" in (big.results[0].error or "")
    assert (counted.answered, counted.spent) == ((2, 0) if detail == "findings" else (1, 1))


def test_only_a_record_the_decoder_read_is_evaluated_as_checked(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """``checked`` is said only of a record rulebook.msgdecode read and checked; a record it leaves to the other
    way (here, with a backslash in a string) is evaluated with the type and kind checks, and both give the same."""
    from policy_eval.run.evaluate import Evaluator

    straight, general, _ = _pair(pt.write(tmp_path / "demo.yaml", CHAIN).parent, detail="findings")
    said: list[bool] = []
    real = Evaluator.evaluate

    def spy(self: Evaluator, case: Any, **kwargs: Any) -> Any:
        said.append(kwargs.get("checked", False))
        return real(self, case, **kwargs)

    monkeypatch.setattr(Evaluator, "evaluate", spy)
    plain, escaped = _case(), _case(id="R\\u0031")
    lines = [json.dumps(c).encode() + b"\n" for c in (plain, escaped)]
    assert straight._decode is not None and straight._decode(lines[0]) is not None and straight._decode(lines[1]) is None
    results = [straight.process(("cases.jsonl", n, line)) for n, line in enumerate(lines, 1)]
    assert said == [True, False]
    assert results[0].to_json_bytes() == results[1].to_json_bytes().replace(b'"record":2', b'"record":1')

"""Property: a forecast agrees with plain evaluation at any later instant (docs/due.md).

On generated open cases (after-sales both versions, appeals over holidays, disputes, chats whose
deadlines sit inside quantifiers; the rulebook with examples/deployment.yaml, so the chat response
limit and the dispute retrieval limit are set and their deadlines forecast), the case is evaluated with its clock field set to random later
instants, including each forecast's boundary and the microseconds around it. Before ``at`` every
verdict must equal the forecast's starting verdict; at ``at`` it must be ``becomes``; a rule
forecast ``stable`` must never change. Nothing here recomputes the forecast's method: the
evaluator is the oracle.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_eval.plugin_manager import get_plugin_manager
from policy_eval.rulebook import Rulebook, load_rulebook
from policy_eval.run.due import Forecaster, Status
from policy_eval.run.due.forecast import with_values
from policy_eval.run.evaluate import Evaluator

US = _dt.timedelta(microseconds=1)
TZ = _dt.timezone(_dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def book() -> Rulebook:
    """With examples/deployment.yaml: without it cs-conduct.response_limit and disputes.retrieval_limit
    are unset, the chat and dispute deadlines are undetermined for every t and nothing is forecast."""
    overlay = Path(__file__).resolve().parent.parent / "examples" / "deployment.yaml"
    return load_rulebook(functions=get_plugin_manager().functions(), params=overlay)


@pytest.fixture(scope="module")
def tools(book: Rulebook) -> tuple[Forecaster, Evaluator]:
    ev = Evaluator(book, explain="missing", record_inputs=False)
    return Forecaster(book, evaluator=ev), ev


# offsets in whole hours, sometimes with seconds and microseconds, so instants collide and straddle
_offset = st.one_of(
    st.integers(-48, 24 * 20).map(lambda h: _dt.timedelta(hours=h)),
    st.tuples(st.integers(-48, 24 * 20), st.integers(0, 3599), st.integers(0, 999_999))
      .map(lambda x: _dt.timedelta(hours=x[0], seconds=x[1], microseconds=x[2])),
)


def _iso(base: _dt.datetime, off: _dt.timedelta) -> str:
    return (base + off).isoformat()


@st.composite
def after_sale(draw: st.DrawFn) -> dict[str, Any]:
    year = draw(st.sampled_from([2020, 2024]))  # version 1 and version 2
    base = _dt.datetime(year, 6, 3, 20, 10, tzinfo=TZ)

    def maybe(s: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(st.none(), s))

    def at() -> str:
        return _iso(base, draw(_offset))

    order: dict[str, Any] = {"id": "O", "category": draw(st.sampled_from(["服饰", "水果", "汽车"])),
                             "confirmed_at": _iso(base, _dt.timedelta(days=-3)), "paid_amount": "89.00"}
    for key in ("promised_ship_by", "shipped_at", "received_at"):
        v = maybe(st.just(None).map(lambda _: at()))
        if v is not None:
            order[key] = v
    if draw(st.booleans()):
        order["promised_after_sale_days"] = draw(st.integers(0, 30))
    req: dict[str, Any] = {"id": "R", "type": draw(st.sampled_from(["refund_only", "return_refund"])),
                           "submitted_at": base.isoformat(), "status": "pending_merchant"}

    def sometimes() -> bool:  # events are rare enough that most cases are still open
        return draw(st.integers(0, 2)) == 0

    if sometimes():
        req["merchant_response"] = {"action": draw(st.sampled_from(["agree", "reject"])), "at": at()}
    if sometimes():
        req["buyer_followup"] = {"action": draw(st.sampled_from(["resubmit", "intervention"])), "at": at()}
    if sometimes():
        req["return"] = {"shipped_at": at(), "tracking_number": "T"}
    if sometimes():
        req["merchant_after_return"] = {"action": draw(st.sampled_from(["refund", "reject"])), "at": at()}
    for key in ("withdrawn_at", "refund_succeeded_at", "platform_shortened_deadline"):
        if draw(st.integers(0, 4)) == 0:
            req[key] = at()
    snapshot = _iso(base, draw(st.integers(0, 3 * 24 * 3600 * 10**6).map(lambda u: _dt.timedelta(microseconds=u))))
    return {"kind": "after_sale", "case_id": "P", "snapshot_at": snapshot, "order": order, "request": req}


@st.composite
def appeal(draw: st.DrawFn) -> dict[str, Any]:
    base = _dt.datetime(2024, draw(st.sampled_from([1, 2, 4, 9, 10])), draw(st.integers(1, 28)), 9, tzinfo=TZ)
    case: dict[str, Any] = {"kind": "appeal", "case_id": "A", "order": {"id": "O", "is_free_shipping": draw(st.booleans())},
                            "appeal": {"id": "AP", "submitted_at": base.isoformat(),
                                       "type": draw(st.sampled_from(["payment", "freight"]))},
                            "assessed_at": _iso(base, draw(_offset))}
    if draw(st.booleans()):
        case["refund_succeeded_at"] = _iso(base, -draw(_offset))
    if draw(st.booleans()):
        case["result_at"] = _iso(base, draw(_offset))
    return case


@st.composite
def shipment(draw: st.DrawFn) -> dict[str, Any]:
    base = _dt.datetime(2024, 6, 3, 12, tzinfo=TZ)
    delivery: dict[str, Any] = {"refused_by_buyer": draw(st.booleans()), "refused_at": _iso(base, draw(_offset))}
    if draw(st.booleans()):
        delivery["retrieval_started_at"] = _iso(base, draw(_offset))
    case = {"kind": "shipment", "case_id": "S", "order": {"id": "O", "address": "A", "placed_at": base.isoformat(),
                                                          "promised_ship_by": _iso(base, draw(_offset))},
            "shipment": {"shipped_at": _iso(base, draw(_offset)), "to_address": "A", "self_pickup": False},
            "delivery": delivery, "assessed_at": _iso(base, draw(_offset))}
    if draw(st.booleans()):  # 争议处理规则 1.2: its rules are judged where a dispute was raised
        case["dispute"] = {"raised_at": _iso(base, draw(_offset))}
    return case


@st.composite
def chat(draw: st.DrawFn) -> dict[str, Any]:
    base = _dt.datetime(2024, 6, 3, 12, tzinfo=TZ)
    n = draw(st.integers(1, 5))
    times = sorted(draw(st.lists(st.integers(0, 600), min_size=n, max_size=n)))
    messages = [{"sender": draw(st.sampled_from(["buyer", "merchant", "platform"])),
                 "sent_at": _iso(base, _dt.timedelta(minutes=m)), "text": "你好"} for m in times]
    return {"kind": "chat", "case_id": "CH", "store_id": "S", "messages": messages,
            "captured_at": _iso(base, _dt.timedelta(minutes=draw(st.integers(0, 900))))}


def _outcomes(ev: Evaluator, case: dict[str, Any], clock: tuple[str, ...], t: _dt.datetime) -> dict[str, Any]:
    res = ev.evaluate(with_values(case, {f: t.isoformat() for f in clock}))
    return {r.full_id: (r.outcome, r.version) for r in res.results}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.one_of(after_sale(), appeal(), shipment(), chat()),
       probes=st.lists(st.integers(0, 24 * 3600 * 20 * 10**6), min_size=4, max_size=10))
def test_forecasts_agree_with_evaluation(tools: tuple[Forecaster, Evaluator], case: dict[str, Any],
                                         probes: list[int]) -> None:
    forecaster, ev = tools
    result = forecaster.forecast(case)
    assert result.error is None and result.start is not None
    start = result.start
    instants = {start + _dt.timedelta(microseconds=p) for p in probes}
    for f in result.forecasts:
        if f.at is not None:
            instants |= {f.at - US, f.at, f.at + US, f.at + _dt.timedelta(hours=1)}
    seen = {t: _outcomes(ev, case, result.clock, t) for t in sorted(instants) if t >= start}
    for f in result.forecasts:
        assert f.status is not Status.UNSOLVABLE, f.note  # the bundled rules are all solved exactly
        for t, outcomes in seen.items():
            now = outcomes.get(f.full_id)
            if f.at is None or t < f.at:
                assert now == (f.outcome, f.version), (f.describe(start), t)
            elif t == f.at:
                expected = (f.becomes, f.becomes_version or f.version) if f.becomes is not None else None
                assert now == expected, (f.describe(start), t)


def test_chat_and_dispute_deadlines_are_forecast(tools: tuple[Forecaster, Evaluator]) -> None:
    """The rulebook the property runs on does forecast the deadlines its chat and shipment cases carry."""
    forecaster, _ = tools
    base = _dt.datetime(2024, 6, 3, 12, tzinfo=TZ)
    chat_case = {"kind": "chat", "case_id": "CH", "store_id": "S", "captured_at": _iso(base, _dt.timedelta(minutes=1)),
                 "messages": [{"sender": "buyer", "sent_at": base.isoformat(), "text": "你好"}]}
    f = next(f for f in forecaster.forecast(chat_case).forecasts if f.full_id == "cs-conduct/timely-response")
    assert f.status is Status.CHANGES and f.boundary == base + _dt.timedelta(minutes=3), f.describe()
    ship = {"kind": "shipment", "case_id": "S", "assessed_at": _iso(base, _dt.timedelta(hours=1)),
            "order": {"id": "O", "address": "A", "placed_at": base.isoformat(), "promised_ship_by": base.isoformat()},
            "shipment": {"shipped_at": base.isoformat(), "to_address": "A", "self_pickup": False},
            "delivery": {"refused_by_buyer": True, "refused_at": base.isoformat()},
            "dispute": {"raised_at": base.isoformat()}}  # 争议处理规则 1.2: judged where a dispute was raised
    g = next(f for f in forecaster.forecast(ship).forecasts if f.full_id == "disputes/retrieve-refused-goods-promptly")
    assert g.status is Status.CHANGES and g.boundary == base + _dt.timedelta(hours=48), g.describe()

"""Store metrics from order records: the definitions in policies/metrics/order_metrics.yaml, run by
policy_eval.run.metrics, against hand computations from the text (服务指标 190701; seed 000)."""

from __future__ import annotations

import datetime as _dt
import random
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy_eval.errors import CaseError, ErrorList
from policy_eval.plugins.store_metrics import store_metrics_from_orders
from policy_eval.resources import bundled_policies, bundled_schemas
from policy_eval.rulebook.loader import load_case_schemas
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.run.batch import BatchOptions, run_batch
from policy_eval.run.metrics import metrics_from_records

CST = _dt.timezone(_dt.timedelta(hours=8))
END = _dt.datetime(2024, 7, 1, tzinfo=CST)
START = END - _dt.timedelta(days=30)
IN = "2024-06-20T10:00:00+08:00"
BEFORE = "2024-05-31T23:59:59+08:00"  # one second before the window


def _t(when: _dt.datetime) -> str:
    return when.isoformat()


def order(oid: str, store: str = "A", category: str = "服饰", **fields: Any) -> dict[str, Any]:
    return {"order_id": oid, "store": {"id": store, "category": category}, **fields}


def _refund(at: str = IN, quality: bool = False) -> dict[str, Any]:
    return {"succeeded_at": at, "quality_reason": quality}


def _intervention(at: str = IN, *, requested: bool = False, responsible: bool = False,
                  upheld: bool = False) -> dict[str, Any]:
    return {"at": at, "merchant_requested": requested, "merchant_held_responsible": responsible,
            "upheld_for_merchant": upheld}


def _store(cases: list[dict[str, Any]], store: str) -> dict[str, Any]:
    (case,) = [c for c in cases if c["store"]["id"] == store and "product" not in c]
    return case


def test_upheld_order_is_not_counted_nor_subtracted() -> None:
    """Issue 19 item 4: one merchant-responsible refund + one upheld order → 1 of 2, not (1 - 1) of 2."""
    cases = metrics_from_records([
        order("A1", grouped_at=IN, refund=_refund(), intervention=_intervention(responsible=True)),
        order("A2", grouped_at=IN, intervention=_intervention(requested=True, upheld=True)),
    ], END)
    a = _store(cases, "A")
    assert a["counts"]["grouped_orders"] == 2
    assert a["counts"]["dispute_refund_orders"] == 1
    assert a["counts"]["upheld_malicious_intervention_orders"] == 1
    assert a["counts"]["intervention_orders"] == 2  # seed 000: the upheld order still counts as an intervention
    assert a["category_mean"]["dispute_refund_rate"] == Decimal("0.5")


def test_numerators_are_windowed_by_their_own_event() -> None:
    """Issue 19 item 4: a refund that succeeded in the window counts even if the order grouped before it."""
    cases = metrics_from_records([
        order("A1", grouped_at=BEFORE, refund=_refund(quality=True), intervention=_intervention(responsible=True)),
        order("A2", grouped_at=IN, refund=_refund(BEFORE, quality=True),
              intervention=_intervention(BEFORE, responsible=True)),
        order("A3", grouped_at=IN),
        order("A4", grouped_at=IN, logistics_exceptions=[{"type": "late_delivery", "at": BEFORE}]),
    ], END)
    counts = _store(cases, "A")["counts"]
    assert counts["grouped_orders"] == 3  # A2, A3, A4 grouped in the window
    assert counts["dispute_refund_orders"] == 1  # A1: refund succeeded in the window; A2's before it
    assert counts["quality_refund_orders"] == 1
    assert counts["intervention_orders"] == 1
    assert counts["logistics_exception_orders"] == 0  # A4's exception is before the window


def test_xinjiang_exclusion_and_repeated_records() -> None:
    fake = {"type": "fake_shipping", "at": IN}
    late = {"type": "late_delivery", "at": IN}
    cases = metrics_from_records([
        order("A1", grouped_at=IN, ship_to_xinjiang=True, logistics_exceptions=[late]),        # not counted
        order("A2", grouped_at=IN, ship_to_xinjiang=True, logistics_exceptions=[late, fake]),  # fake: counts
        order("A3", grouped_at=IN, ship_to_xinjiang=False, logistics_exceptions=[late]),
        order("A3", grouped_at=IN, ship_to_xinjiang=False, logistics_exceptions=[late]),       # same order again
        order("A4", grouped_at=IN, ship_to_xinjiang=True,
              logistics_exceptions=[late, {"type": "fake_shipping", "at": BEFORE}]),         # fake outside window
    ], END)
    a = _store(cases, "A")
    assert a["counts"]["grouped_orders"] == 4
    assert a["counts"]["logistics_exception_orders"] == 4
    assert a["counts"]["logistics_exception_breakdown"] == {"fake_shipping": 1, "xinjiang_non_fake": 2}
    # abnormal = 4 - 2 = 2; rate = 2 / (2 * 100 + 4), the weight being the policy's logistics_abnormal_weight
    assert a["category_mean"]["logistics_exception_rate"] == (Decimal(2) / Decimal(204)).normalize()
    assert a["category_mean"]["logistics_exception_orders"] == Decimal(2)


def test_unknown_flag_makes_the_count_unknown_not_zero() -> None:
    cases = metrics_from_records([
        order("A1", grouped_at=IN, refund={"succeeded_at": IN}),  # quality reason not given
        order("A2", grouped_at=IN, refund=_refund(quality=True)),
    ], END)
    a = _store(cases, "A")
    assert "quality_refund_orders" not in a["counts"]
    assert "quality_refund_rate" not in a["category_mean"]
    assert a["counts"]["grouped_orders"] == 2
    # and the rules that need it say so
    results = [r.to_dict() for r in run_batch([("m", 1, {**a, "product": {"id": "P"}})], BatchOptions())]
    outcomes = {x["id"]: x for x in results[0]["results"]}
    assert outcomes["service-metrics/quality-refund-above-3x"]["outcome"] == "undetermined"


def test_unknown_count_of_a_store_without_rates_leaves_other_means_known() -> None:
    """Outside audit: a store with no grouped orders in the window (no rate of its own, left out of the means)
    whose only unknown is a flag no rate reads (merchant_requested, for the informational upheld count) took
    every rate mean of its category away, leaving its neighbours' rules undetermined."""
    responsible = {"at": IN, "merchant_held_responsible": True}
    cases = metrics_from_records([
        order("K1", "K1", "K", grouped_at=BEFORE, intervention=responsible, refund=_refund()),
        order("K2-0", "K2", "K", grouped_at=IN, intervention=_intervention(responsible=True), refund=_refund()),
        *(order(f"K2-{i}", "K2", "K", grouped_at=IN) for i in range(1, 10)),
    ], END)
    k1, k2 = _store(cases, "K1"), _store(cases, "K2")
    assert "upheld_malicious_intervention_orders" not in k1["counts"]  # the unknown flag
    assert "grouped_orders" not in k1["counts"] or k1["counts"]["grouped_orders"] == 0
    assert k2["category_mean"]["dispute_refund_rate"] == Decimal("0.1")  # K2's 1 of 10, K1 has no rate
    assert k2["category_mean"]["intervention_rate"] == Decimal("0.1")
    assert "dispute_refund_rate" in k1["category_mean"]


def test_unknown_count_read_by_a_rate_leaves_its_mean_unknown() -> None:
    """The other side: a store whose own count is unknown, in a count the rate reads, leaves the mean unknown."""
    cases = metrics_from_records([
        order("A1", grouped_at=BEFORE, refund={"succeeded_at": IN}),  # quality reason unknown, no grouped order
        order("B1", "B", grouped_at=IN, refund=_refund(quality=True)),
    ], END)
    b = _store(cases, "B")
    assert "quality_refund_orders" not in b["category_mean"]  # A's count unknown: its mean is unknown
    assert b["category_mean"]["dispute_refund_rate"] == Decimal(0)  # A has no rate; B's 0 of 1


def test_product_level_cases_and_means() -> None:
    p1 = {"id": "P1", "category": "榨汁杯"}
    p2 = {"id": "P2", "category": "榨汁杯"}
    cases = metrics_from_records([
        order("A1", grouped_at=IN, product=p1, refund=_refund(quality=True)),
        order("A2", grouped_at=IN, product=p1),
        order("B1", "B", grouped_at=IN, product=p2),
        order("B2", "B", grouped_at=IN),  # no product figures
    ], END)
    products = {c["product"]["id"]: c for c in cases if "product" in c}
    assert set(products) == {"P1", "P2"}
    assert products["P1"]["store"] == {"id": "A", "category": "服饰"}
    assert products["P1"]["counts"]["quality_refund_orders"] == 1 and products["P1"]["counts"]["grouped_orders"] == 2
    assert products["P2"]["counts"]["grouped_orders"] == 1
    # mean over the category's products: (1/2 + 0/1) / 2
    assert products["P1"]["category_mean"]["quality_refund_rate"] == Decimal("0.25")
    assert _store(cases, "B")["counts"]["grouped_orders"] == 2


def test_bad_record_is_located() -> None:
    with pytest.raises(CaseError) as info:
        metrics_from_records([order("A1", grouped_at=IN), order("A2", grouped_at="yesterday")], END)
    assert info.value.record == 2 and info.value.json_path == "$.grouped_at"


def test_weight_comes_from_the_policy(tmp_path: Path) -> None:
    """No `* 100` in Python: change the policy's logistics_abnormal_weight and the rate follows."""
    root = tmp_path / "policies"
    shutil.copytree(bundled_policies() / "metrics", root / "metrics")
    v2 = root / "metrics" / "v2.yaml"
    text = v2.read_text(encoding="utf-8")
    v2.write_text(text.replace("    value: 100\n", "    value: 10\n", 1), encoding="utf-8")
    assert v2.read_text(encoding="utf-8") != text
    records = [order("A1", grouped_at=IN, ship_to_xinjiang=False, logistics_exceptions=[{"type": "dsr_1", "at": IN}])]
    case = _store(metrics_from_records(records, END, policies=root), "A")
    assert case["category_mean"]["logistics_exception_rate"] == (Decimal(1) / Decimal(11)).normalize()


def test_definition_errors_are_located(tmp_path: Path) -> None:
    defs = tmp_path / "order_metrics.yaml"
    text = (bundled_policies() / "metrics" / "order_metrics.yaml").read_text(encoding="utf-8")
    defs.write_text(text.replace("where: refund.quality_reason", "where: refund.quality_reasn"), encoding="utf-8")
    with pytest.raises(ErrorList) as info:
        metrics_from_records([], END, definitions=defs)
    (err,) = info.value.errors
    line = next(i for i, x in enumerate(defs.read_text(encoding="utf-8").splitlines(), 1) if "quality_reasn" in x)
    assert (err.file, err.line) == (str(defs), line)
    assert "quality_reasn" in str(err) and err.column is not None and err.column > 1


# --- generated orders against a computation by hand from the text ------------------------------------

def generate_orders(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)

    def when() -> str:  # 45 days around the window, so some events fall outside it on either side
        return _t(START - _dt.timedelta(days=10) + _dt.timedelta(minutes=rng.randrange(45 * 24 * 60)))

    out = []
    for i in range(n):
        store = rng.choice(["S1", "S2", "S3", "S4", "S5"])
        category = "服饰" if store in ("S1", "S2", "S3") else "家居"
        rec: dict[str, Any] = order(f"O{i}", store, category, grouped_at=when(),
                                    ship_to_xinjiang=rng.random() < 0.2)
        if rng.random() < 0.5:
            rec["product"] = {"id": f"{store}-P{rng.randrange(3)}", "category": category + "-goods"}
        if rng.random() < 0.3:
            rec["refund"] = _refund(when(), quality=rng.random() < 0.5)
        if rng.random() < 0.3:
            upheld = rng.random() < 0.3
            rec["intervention"] = _intervention(when(), requested=upheld or rng.random() < 0.2,
                                                responsible=not upheld and rng.random() < 0.6, upheld=upheld)
        if rng.random() < 0.3:
            rec["logistics_exceptions"] = [
                {"type": rng.choice(["fake_shipping", "late_delivery", "valid_complaint", "logistics_refund_reason",
                                     "dsr_1"]), "at": when()} for _ in range(rng.randrange(1, 3))]
        out.append(rec)
        if rng.random() < 0.05:
            out.append(dict(rec))  # the same order exported twice
    return out


def _in(text: str | None) -> bool:
    return text is not None and START <= _dt.datetime.fromisoformat(text) < END


def by_hand(orders: list[dict[str, Any]], level: str) -> dict[str, dict[str, Any]]:
    """服务指标 190701 and seed 000, read directly; one entry per store (or product)."""
    seen: dict[str, dict[str, Any]] = {}
    for o in orders:
        seen[o["order_id"]] = o  # a repeated record is the same order
    out: dict[str, dict[str, Any]] = {}
    for o in seen.values():
        if level == "product" and "product" not in o:
            continue
        key = o[level]["id"]
        e = out.setdefault(key, {"category": o[level]["category"], "grouped": 0, "dispute": 0, "upheld": 0,
                                 "quality": 0, "intervened": 0, "exc": 0, "fake": 0, "xj": 0})
        refund, iv = o.get("refund"), o.get("intervention")
        e["grouped"] += _in(o["grouped_at"])
        refunded = refund is not None and _in(refund["succeeded_at"])
        e["dispute"] += refunded and iv is not None and iv["merchant_held_responsible"] \
            and not iv["upheld_for_merchant"]
        e["quality"] += refunded and refund["quality_reason"]
        e["intervened"] += iv is not None and _in(iv["at"])
        e["upheld"] += iv is not None and _in(iv["at"]) and iv["merchant_requested"] and iv["upheld_for_merchant"]
        exc = [x for x in o.get("logistics_exceptions", []) if _in(x["at"])]
        fake = any(x["type"] == "fake_shipping" for x in exc)
        e["exc"] += bool(exc)
        e["fake"] += fake
        e["xj"] += bool(exc) and o["ship_to_xinjiang"] and not fake
    return out


def _means(entries: dict[str, dict[str, Any]], category: str) -> dict[str, Decimal]:
    # summed in the order of the ids, as the executor does (28-digit sums depend on the order)
    members = [e for _, e in sorted(entries.items()) if e["category"] == category]
    rated = [e for e in members if e["grouped"]]

    def mean(values: list[Decimal]) -> Decimal:
        return (sum(values, Decimal(0)) / len(values)).normalize()

    def abnormal(e: dict[str, Any]) -> int:
        return int(e["exc"] - e["xj"])

    return {
        "dispute_refund_rate": mean([Decimal(e["dispute"]) / e["grouped"] for e in rated]),
        "quality_refund_rate": mean([Decimal(e["quality"]) / e["grouped"] for e in rated]),
        "quality_refund_orders": mean([Decimal(e["quality"]) for e in members]),
        "intervention_rate": mean([Decimal(e["intervened"]) / e["grouped"] for e in rated]),
        "intervention_orders": mean([Decimal(e["intervened"]) for e in members]),
        # 物流服务异常率 = 异常订单 / (异常订单 * 100 + 成团订单量)
        "logistics_exception_rate": mean([Decimal(abnormal(e)) / (abnormal(e) * 100 + e["grouped"])
                                          for e in members if abnormal(e) * 100 + e["grouped"]]),
        "logistics_exception_orders": mean([Decimal(abnormal(e)) for e in members]),
    }


def check_against_hand(cases: list[dict[str, Any]], orders: list[dict[str, Any]]) -> None:
    for level in ("store", "product"):
        hand = by_hand(orders, level)
        mine = {c[level]["id"]: c for c in cases if ("product" in c) == (level == "product")}
        assert set(mine) == set(hand)
        for key, e in hand.items():
            case = mine[key]
            assert case["counts"] == {
                "grouped_orders": e["grouped"], "dispute_refund_orders": e["dispute"],
                "upheld_malicious_intervention_orders": e["upheld"], "quality_refund_orders": e["quality"],
                "intervention_orders": e["intervened"], "logistics_exception_orders": e["exc"],
                "logistics_exception_breakdown": {"fake_shipping": e["fake"], "xinjiang_non_fake": e["xj"]},
            }, key
            assert case["category_mean"] == _means(hand, e["category"]), key


def test_generated_orders_match_the_hand_computation() -> None:
    orders = generate_orders(3000)
    cases = store_metrics_from_orders(orders, END)
    check_against_hand(cases, orders)
    assert len(cases) == 5 + 15
    validator = CaseValidator(load_case_schemas(bundled_schemas()))
    assert [validator.check(c, "gen", i) for i, c in enumerate(cases)] == [None] * len(cases)
    results = [r.to_dict() for r in run_batch((("gen", i, c) for i, c in enumerate(cases, 1)), BatchOptions())]
    assert all(r["status"] == "evaluated" for r in results)


def test_definition_structure_errors_are_located(tmp_path: Path) -> None:
    """A count without its clause is refused by schemas/metrics.schema.json, at its place in the file."""
    defs = tmp_path / "order_metrics.yaml"
    text = (bundled_policies() / "metrics" / "order_metrics.yaml").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    (i,) = [n for n, x in enumerate(lines) if x.strip().startswith("clause: 服务指标 1(2) 因为商品品质")]
    defs.write_text("".join(lines[:i] + lines[i + 1:]), encoding="utf-8")
    with pytest.raises(ErrorList) as info:
        metrics_from_records([], END, definitions=defs)
    (err,) = info.value.errors
    assert err.file == str(defs) and err.line == i  # the count's key, one line above the removed clause
    assert "quality_refund_orders" in err.message and "clause" in err.message

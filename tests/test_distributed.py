"""Dask: results identical to the single-process run; store metrics from orders match a hand computation."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask extra is installed by .ci/run; see pyproject [dask]")
pd = pytest.importorskip("pandas")

from policy_eval.plugins.store_metrics import store_metrics_from_orders  # noqa: E402
from policy_eval.run.batch import BatchOptions, run_batch  # noqa: E402
from policy_eval.run.distributed import connect, evaluate_bag, evaluate_dataframe, run_on_dask  # noqa: E402
from policy_eval.run.testing import load_tests  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    c = connect("local", jobs=2)
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


def _golden_records() -> list[tuple[str, int, dict]]:
    tests = [t for f in sorted((ROOT / "tests" / "golden").glob("*.yaml")) for t in load_tests(f)]
    # through JSON so numbers are what a JSONL input would give
    return [(t.file, t.line, json.loads(json.dumps(t.case, default=str), parse_float=Decimal)) for t in tests]


def test_dask_equals_single_process_on_golden_cases(client) -> None:  # type: ignore[no-untyped-def]
    records = _golden_records()
    options = BatchOptions()
    local = [r.to_dict() for r in run_batch(records, options, jobs=1)]
    remote = [r.to_dict() for r in run_on_dask(records, options, client=client)]
    assert len(local) == len(records) >= 150
    assert remote == local


def test_dask_equals_single_process_on_10k_generated_cases(client) -> None:  # type: ignore[no-untyped-def]
    records = [("gen", i, json.loads(json.dumps(c), parse_float=Decimal)) for i, c in enumerate(generate(10_000), 1)]
    options = BatchOptions()
    local = [r.to_dict() for r in run_batch(records, options, jobs=1)]
    remote = [r.to_dict() for r in run_on_dask(records, options, client=client)]
    assert remote == local
    assert {d["kind"] for d in local} >= {"after_sale", "chat", "warranty_claim", "store_metrics"}


def test_bag_api_matches(client) -> None:  # type: ignore[no-untyped-def]
    import dask.bag as db

    cases = [json.loads(json.dumps(c), parse_float=Decimal) for c in generate(300, seed=5)]
    bag_results = evaluate_bag(db.from_sequence(cases, npartitions=3)).compute()
    local = [r.to_dict() for r in run_batch((("<dask>", i, c) for i, c in enumerate(cases, 1)), BatchOptions())]
    def strip(d: dict) -> dict:  # record numbers are per partition in a bag
        out = {**d, "source": None, "record": None}
        if "error" in out:
            out["error"] = {**out["error"], "source": None, "record": None}
        return out

    assert [strip(d) for d in bag_results] == [strip(d) for d in local]


def _orders() -> pd.DataFrame:
    end = "2024-07-01T00:00:00+08:00"
    rows = []

    def add(order, store, grouped="2024-06-20T10:00:00+08:00", **flags):  # type: ignore[no-untyped-def]
        base = {f: False for f in ("dispute_refund", "upheld_malicious", "quality_refund", "intervened",
                                   "logistics_exception", "fake_shipping", "ship_to_xinjiang")}
        base.update(flags)
        rows.append({"order_id": order, "store_id": store, "store_category": "服饰", "grouped_at": grouped, **base})

    add("A1", "A", dispute_refund=True, intervened=True)
    add("A2", "A", dispute_refund=True, upheld_malicious=True, intervened=True)
    add("A3", "A", quality_refund=True)
    add("A4", "A", quality_refund=True)
    add("A5", "A", logistics_exception=True, ship_to_xinjiang=True)       # Xinjiang, not fake: excluded
    add("A6", "A", fake_shipping=True, ship_to_xinjiang=True)             # fake shipping counts even for Xinjiang
    add("A7", "A", intervened=True)
    add("A7", "A", intervened=True)                                       # repeated intervention: counted once
    for i in (8, 9, 10):
        add(f"A{i}", "A")
    add("A0", "A", grouped="2024-05-31T23:59:59+08:00", dispute_refund=True)  # before the 30-day window
    add("B1", "B", quality_refund=True)
    for i in (2, 3, 4):
        add(f"B{i}", "B")
    assert end
    return pd.DataFrame(rows)


def test_store_metrics_from_orders_match_a_hand_computation() -> None:
    cases = store_metrics_from_orders(_orders(), "2024-07-01T00:00:00+08:00")
    a, b = cases
    # Store A: 10 orders in the window (A0 is 1 second before it); by hand:
    assert a["counts"] == {
        "grouped_orders": 10, "dispute_refund_orders": 1, "upheld_malicious_intervention_orders": 1,
        "quality_refund_orders": 2, "intervention_orders": 3, "logistics_exception_orders": 2,
        "logistics_exception_breakdown": {"fake_shipping": 1, "xinjiang_non_fake": 1},
    }
    assert b["counts"]["grouped_orders"] == 4 and b["counts"]["quality_refund_orders"] == 1
    mean = a["category_mean"]
    # A: dispute 1/10 = 0.1 (A2 is upheld: never counted), B: 0 → 0.05; quality 0.2 and 0.25 → 0.225; orders 2 and 1 → 1.5
    assert mean["dispute_refund_rate"] == Decimal("0.05")
    assert mean["quality_refund_rate"] == Decimal("0.225")
    assert mean["quality_refund_orders"] == Decimal("1.5")
    assert mean["intervention_rate"] == Decimal("0.15")            # 3/10 and 0
    # logistics: A abnormal = 2 - 1 = 1 → 1 / (1*100 + 10) = 1/110; B 0 → mean 1/220
    assert mean["logistics_exception_rate"] == (Decimal(1) / Decimal(110) / 2).normalize()
    assert mean["logistics_exception_orders"] == Decimal("0.5")
    assert a["window"] == {"start": "2024-06-01T00:00:00+08:00", "end": "2024-07-01T00:00:00+08:00"}


def test_store_metrics_on_dask_equal_pandas(client) -> None:  # type: ignore[no-untyped-def]
    import dask.dataframe as dd

    frame = _orders()
    assert store_metrics_from_orders(dd.from_pandas(frame, npartitions=3), "2024-07-01T00:00:00+08:00") \
        == store_metrics_from_orders(frame, "2024-07-01T00:00:00+08:00")


def test_store_metrics_cases_are_evaluated_by_the_service_metrics_rules() -> None:
    cases = store_metrics_from_orders(_orders(), "2024-07-01T00:00:00+08:00")
    results = [r.to_dict() for r in run_batch((("orders", i, c) for i, c in enumerate(cases, 1)), BatchOptions())]
    assert all(r["status"] == "evaluated" for r in results), results
    by_rule = {x["id"]: x["outcome"] for x in results[0]["results"]}
    # A's dispute rate 0.1 is not above 3 x the category mean 0.05 = 0.15 (metrics policy, 纠纷退款率)
    assert by_rule["service-metrics/dispute-refund-rate-too-high"] == "complied"


def test_dataframe_api_unflattens_dotted_columns(client) -> None:  # type: ignore[no-untyped-def]
    import dask.dataframe as dd

    frame = pd.DataFrame([{"kind": "warranty_claim", "case_id": "W1", "order.id": "O1"}])
    out = evaluate_dataframe(dd.from_pandas(frame, npartitions=1)).compute()
    assert out[0]["case_id"] == "W1"

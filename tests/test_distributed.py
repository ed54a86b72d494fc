"""Dask: results identical to the single-process run; store metrics from orders match a hand computation."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask extra is installed by .ci/run; see pyproject [dask]")
pd = pytest.importorskip("pandas")

from goldencorpus import golden_tests  # noqa: E402

from policy_eval.plugins.store_metrics import store_metrics_from_orders  # noqa: E402
from policy_eval.run.batch import BatchOptions, run_batch  # noqa: E402
from policy_eval.run.distributed import connect, evaluate_bag, evaluate_dataframe, run_on_dask  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402
from test_metrics_executor import END, check_against_hand, generate_orders  # noqa: E402


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    c = connect("local", jobs=2)
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


def test_two_local_clusters_at_once_print_no_port_warning() -> None:
    """Two local runs at the same time (two operators, two xdist workers): the second scheduler's HTTP server
    took the default port 8787 too and warned that it was in use."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clients = [connect("local", jobs=1), connect("local", jobs=1)]
        try:
            assert [c.submit(len, "ab").result() for c in clients] == [2, 2]
        finally:
            for c in clients:
                cluster = c.cluster
                c.close()
                cluster.close()
    assert not [str(w.message) for w in caught if "in use" in str(w.message)]


def _golden_records() -> list[tuple[str, int, dict]]:
    tests = golden_tests()
    # through JSON so numbers are what a JSONL input would give
    return [(t.file, t.line, json.loads(json.dumps(t.case, default=str), parse_float=Decimal)) for t in tests]


def test_dask_equals_single_process_on_golden_cases(client) -> None:  # type: ignore[no-untyped-def]
    records = _golden_records()
    options = BatchOptions()
    local = [r.to_dict() for r in run_batch(records, options, jobs=1)]
    remote = [r.to_dict() for r in run_on_dask(records, options, client=client)]
    assert len(local) == len(records) >= 150
    assert remote == local


def test_dask_equals_single_process_on_3k_generated_cases(client) -> None:  # type: ignore[no-untyped-def]
    records = [("gen", i, json.loads(json.dumps(c), parse_float=Decimal)) for i, c in enumerate(generate(3_000), 1)]
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


def test_store_metrics_on_dask_equal_in_process_and_the_hand_computation(client) -> None:  # type: ignore[no-untyped-def]
    """The metric definitions run on the cluster give exactly the in-process cases (issue 19 item 9)."""
    import dask.bag as db

    orders = generate_orders(2000, seed=11)
    local = store_metrics_from_orders(orders, END)
    remote = store_metrics_from_orders(db.from_sequence(orders, npartitions=4), END)
    assert remote == local
    check_against_hand(remote, orders)


def test_store_metrics_cases_are_evaluated_by_the_service_metrics_rules() -> None:
    cases = store_metrics_from_orders(generate_orders(500, seed=3), END)
    results = [r.to_dict() for r in run_batch((("orders", i, c) for i, c in enumerate(cases, 1)), BatchOptions())]
    assert all(r["status"] == "evaluated" for r in results), results
    for case, result in zip(cases, results, strict=True):
        by_rule = {x["id"]: x["outcome"] for x in result["results"]}
        # 服务指标 1(2): the quality tiers are stated for products only; the dispute rate for stores only
        if "product" in case:
            assert by_rule["service-metrics/dispute-refund-rate-too-high"] == "not_applicable"
        else:
            assert by_rule["service-metrics/quality-refund-above-3x"] == "not_applicable"


def test_dataframe_api_unflattens_dotted_columns(client) -> None:  # type: ignore[no-untyped-def]
    import dask.dataframe as dd

    frame = pd.DataFrame([{"kind": "warranty_claim", "case_id": "W1", "order.id": "O1"}])
    out = evaluate_dataframe(dd.from_pandas(frame, npartitions=1)).compute()
    assert out[0]["case_id"] == "W1"


def test_dask_workers_read_their_own_ranges_and_equal_the_single_process_run(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: tasks carry a file's byte range; each worker reads, parses and evaluates its own."""
    from test_shards import _tricky

    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.shards import Shard

    path = _tricky(tmp_path)
    options = BatchOptions(detail="findings", explain="missing")
    local = [r.to_dict() for r in run_batch(read_cases([str(path)], raw=True), options, jobs=1)]
    ranged = list(read_cases([str(path)], raw=True, shards=16384))
    assert all(isinstance(item, Shard) for item in ranged) and len(ranged) > 30
    remote = [r.to_dict() for r in run_on_dask(iter(ranged), options, client=client)]
    assert remote == local
    assert len(local) == 1502 and sum(r["status"] == "rejected" for r in local) == 3


def test_a_dask_worker_that_cannot_open_a_case_file_ends_the_run_naming_it(tmp_path: Path) -> None:
    from policy_eval.cli import UsageError
    from policy_eval.cli.commands.eval import _same_rulebook
    from policy_eval.rulebook.shards import Shard
    from policy_eval.run.distributed import CasesUnreadable, _process_chunk

    shard = Shard("cases.jsonl", str(tmp_path / "elsewhere" / "cases.jsonl"), 0, 10, 1, 1)
    with pytest.raises(CasesUnreadable) as caught:
        _process_chunk(shard, BatchOptions(detail="findings"))
    assert "cases.jsonl at " + shard.path in str(caught.value) and "readable at that path" in str(caught.value)

    def failing():  # type: ignore[no-untyped-def]
        raise caught.value
        yield

    with pytest.raises(UsageError) as usage:
        list(_same_rulebook(failing(), "sha256:x", None))
    assert str(caught.value) in str(usage.value)

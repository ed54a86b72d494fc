"""The embedding API (engine/api.py): load once, evaluate cases, typed results, plugins in Python."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policy_eval.api import CaseError, CaseResult, Outcome, PolicyError, Rulebook, RuleResult, register_plugin
from policy_eval.lang.functions import Function
from policy_eval.lang.types import INT, STRING
from policy_eval.plugin_manager import get_plugin_manager
from policy_eval.plugins.hookspecs import hookimpl

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
EXAMPLES = REPO / "examples"
PLUGIN_POLICIES = TESTS / "data" / "plugin_policies"


def _examples() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(EXAMPLES.glob("*.json")):
        cases.append(json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal))
    for line in (EXAMPLES / "after_sales.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            cases.append(json.loads(line, parse_float=Decimal))
    return cases


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return Rulebook.load()


@pytest.fixture(scope="module")
def examples() -> list[dict[str, Any]]:
    cases = _examples()
    assert len(cases) >= 20
    return cases


def test_evaluate_one_case_gives_typed_results(book: Rulebook) -> None:
    case = json.loads((EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8"))
    result = book.evaluate(case)
    assert isinstance(result, CaseResult) and result.error is None
    assert result.case_id == "PDD-AS-2023-000187" and result.kind == "after_sale"
    assert result.rulebook == book.digest and book.digest.startswith("sha256:")
    assert result.results and all(isinstance(r, RuleResult) and isinstance(r.outcome, Outcome)
                                  for r in result.results)
    counts = result.counts()
    assert sum(counts.values()) == len(result.results)
    for r in result.violated:
        assert r.outcome is Outcome.VIOLATED and r.message and r.full_id.startswith(r.policy + "/")
    json.dumps(result.to_dict(), ensure_ascii=False, default=str)  # the documented JSON shape


def test_evaluate_many_equals_one_by_one(book: Rulebook, examples: list[dict[str, Any]]) -> None:
    many = list(book.evaluate_many(examples))
    assert [r.record for r in many] == list(range(1, len(examples) + 1))
    one_by_one = [book.evaluate(c, record=i) for i, c in enumerate(examples, 1)]
    assert [r.to_dict() for r in many] == [r.to_dict() for r in one_by_one]


def test_evaluate_many_is_lazy(book: Rulebook, examples: list[dict[str, Any]]) -> None:
    pulled = 0

    def cases() -> Any:
        nonlocal pulled
        for c in examples:
            pulled += 1
            yield c

    results = book.evaluate_many(cases())
    next(results)
    assert pulled == 1


def test_one_rulebook_from_eight_threads_matches_sequential(book: Rulebook, examples: list[dict[str, Any]]) -> None:
    work = examples * 6
    sequential = [json.dumps(book.evaluate(c).to_dict(), sort_keys=True, default=str) for c in work]
    start = threading.Barrier(8)

    def evaluate(chunk: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str]]:
        start.wait()  # all eight threads evaluate at the same time
        return [(i, json.dumps(book.evaluate(c).to_dict(), sort_keys=True, default=str)) for i, c in chunk]

    chunks = [list(enumerate(work))[k::8] for k in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        done = [item for part in pool.map(evaluate, chunks) for item in part]
    concurrent = [text for _, text in sorted(done)]
    assert len(concurrent) == len(sequential) and concurrent == sequential
    assert any('"violated"' in text for text in sequential)  # the comparison is not vacuous


def test_invalid_case_is_rejected_not_raised(book: Rulebook) -> None:
    result = book.evaluate({"kind": "after_sale", "case_id": "X-1", "order": {"id": "1"}})
    assert result.error is not None and result.results == ()
    assert result.case_id == "X-1" and result.error["json_path"] == "$"
    assert "request" in result.error["message"]
    unknown = book.evaluate({"kind": "nonsense"})
    assert unknown.error is not None and unknown.error["message"].startswith('unknown case kind "nonsense" (known: ')
    # a missing kind is called missing (it read "unknown or missing case kind None"), a close one is named
    assert book.evaluate({"case_id": "X"}).error["message"].startswith("a case record needs its 'kind'")  # type: ignore[index]
    assert book.evaluate({"kind": "after_sales"}).error["message"].endswith("did you mean 'after_sale'?")  # type: ignore[index]
    assert "the case kind is text, not 3" in book.evaluate({"kind": 3}).error["message"]  # type: ignore[index]
    assert book.validate({"kind": "after_sale"}) is not None


def test_as_of_forces_the_version(book: Rulebook) -> None:
    case = json.loads((EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8"))
    for as_of in ("2019-06-01", dt.date(2019, 6, 1), dt.datetime(2019, 6, 1)):
        result = book.evaluate(case, as_of=as_of)
        assert result.as_of == "2019-06-01T00:00:00+08:00"
    versions = {r.version for r in book.evaluate(case, as_of="2019-06-01").results if r.policy == "after-sales"}
    assert versions and versions != {r.version for r in book.evaluate(case).results if r.policy == "after-sales"}


def test_introspection(book: Rulebook) -> None:
    assert "after_sale" in book.kinds and "chat" in book.kinds
    rule = book.rules()[0]
    latest = [r for r in book.rules() if r.full_id == rule.full_id][-1]  # versions are listed oldest first
    assert book.inputs(rule.full_id) == list(latest.inputs)  # default: the version in force now, the latest here
    with pytest.raises(KeyError):
        book.inputs("no/such-rule")


def test_invalid_policies_raise_located_errors() -> None:
    with pytest.raises(PolicyError) as err:
        Rulebook.load(PLUGIN_POLICIES / "wrong_types", plugins=[SamplePlugin()], entry_points=False)
    text = str(err.value)
    assert "wrong_types/shipping.yaml:18:" in text and "category_class() must be string, got decimal" in text


# --- plugins registered programmatically ---------------------------------------------------------------------

class SamplePlugin:
    """The sample plugin's function and enricher, as an in-process object (no installation needed)."""

    def __init__(self, *, enrich: bool = True) -> None:
        self.enrich = enrich

    @hookimpl
    def policy_eval_functions(self) -> list[Function]:
        classes = {"水果": "fresh", "生鲜": "fresh", "手机": "electronics"}
        return [Function("category_class", (STRING,), STRING, lambda c: classes.get(c, "general"))]

    @hookimpl
    def policy_eval_enrichers(self) -> list[Any]:
        def remote(case: dict[str, Any]) -> dict[str, Any]:
            order = case.get("order") or {}
            if case.get("kind") != "parcel" or "province" not in order:
                return case
            return {**case, "order": {**order, "remote_area": order["province"].startswith(("新疆", "西藏"))}}
        return [remote] if self.enrich else []


def _parcels() -> list[dict[str, Any]]:
    text = (PLUGIN_POLICIES / "cases" / "parcels.jsonl").read_text(encoding="utf-8")
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines()]


def _outcomes(results: list[CaseResult]) -> dict[tuple[str | None, str], str]:
    return {(c.case_id, r.full_id): r.outcome.value for c in results for r in c.results}


def test_plugins_for_one_rulebook_only() -> None:
    book = Rulebook.load(PLUGIN_POLICIES / "policies", plugins=[SamplePlugin()], entry_points=False)
    outcomes = _outcomes(list(book.evaluate_many(_parcels())))
    assert outcomes[("P-001", "sample-shipping/fresh-ships-within-24h")] == "violated"
    assert outcomes[("P-003", "sample-shipping/free-shipping-honoured")] == "complied"  # remote area (enricher)
    assert outcomes[("P-004", "sample-shipping/free-shipping-honoured")] == "violated"
    assert book.plugins is not get_plugin_manager()
    # the enriched case, as it is evaluated
    prepared = book.prepare(_parcels()[2])
    assert isinstance(prepared, dict) and prepared["order"]["remote_area"] is True
    assert "remote_area" not in _parcels()[2]["order"]  # the caller's case is not modified


def test_enrichers_supply_facts_the_policy_needs() -> None:
    book = Rulebook.load(PLUGIN_POLICIES / "policies", plugins=[SamplePlugin(enrich=False)], entry_points=False)
    result = book.evaluate(_parcels()[2])
    [free] = [r for r in result.results if r.rule == "free-shipping-honoured"]
    assert free.outcome is Outcome.UNDETERMINED and free.missing == ("order.remote_area",)


def test_failing_enricher_rejects_the_case() -> None:
    class Broken:
        @hookimpl
        def policy_eval_enrichers(self) -> list[Any]:
            def explode(case: dict[str, Any]) -> dict[str, Any]:
                raise KeyError("province")
            return [explode]

    book = Rulebook.load(PLUGIN_POLICIES / "policies", plugins=[SamplePlugin(), Broken()], entry_points=False)
    result = book.evaluate(_parcels()[0])
    assert result.error is not None and "enricher" in result.error["message"]
    assert "explode" in result.error["message"] and "KeyError" in result.error["message"]


def test_register_plugin_for_the_process(tmp_path: Path) -> None:
    class Shout:
        @hookimpl
        def policy_eval_functions(self) -> list[Function]:
            return [Function("api_test_shout_len", (STRING,), INT, lambda s: len(s.upper()))]

    policies = tmp_path / "policies"
    policies.mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "cases").mkdir()
    (tmp_path / "schemas" / "cases" / "parcel.schema.json").write_text(
        (PLUGIN_POLICIES / "schemas" / "cases" / "parcel.schema.json").read_text(encoding="utf-8"), encoding="utf-8")
    (policies / "p.yaml").write_text(
        "policy: {id: shout, title: t, version: '1', source: {document: d}, effective_from: 2024-01-01,\n"
        "         applies_to: parcel, reference_time: order.paid_at}\n"
        "rules:\n"
        "  - {id: short-id, title: t, clause: c, severity: low, message: m, require: 'api_test_shout_len(order.id) < 30'}\n",
        encoding="utf-8")
    with pytest.raises(PolicyError, match="unknown function 'api_test_shout_len'"):
        Rulebook.load(policies)
    register_plugin(Shout(), name="api-test-shout")
    book = Rulebook.load(policies)
    assert book.evaluate(_parcels()[0]).results[0].outcome is Outcome.COMPLIED
    assert any(row["name"] == "api-test-shout" for row in get_plugin_manager().describe())


# --- reading cases with loaders -----------------------------------------------------------------------------

def test_read_and_evaluate_a_marketplace_export(book: Rulebook) -> None:
    export = TESTS / "data" / "loaders" / "pdd_after_sale_export.csv"
    records = list(book.read(export, format="pdd-after-sale"))
    assert [n for n, _ in records] == [2, 3, 4, 5, 6]
    assert [type(c) for _, c in records].count(CaseError) == 3
    results = list(book.evaluate_file(export, format="pdd-after-sale"))
    assert [(r.record, r.error is None) for r in results] == [(2, True), (3, True), (4, False), (5, False),
                                                                (6, False)]
    assert results[0].source == str(export) and results[0].case_id == "PDD-AS2409300001"


def test_read_csv_by_suffix_and_json_streams(book: Rulebook, tmp_path: Path) -> None:
    csv_file = tmp_path / "cases.csv"
    csv_file.write_text("kind,case_id,order.id,request.id,request.type,request.submitted_at\n"
                        "after_sale,C-1,O-1,R-1,refund_only,2024-10-02 12:00\n", encoding="utf-8")
    [(line, case)] = list(book.read(csv_file))
    assert line == 2 and case["request"]["submitted_at"] == "2024-10-02T12:00:00+08:00"
    stream = io.BytesIO(b'{"kind": "after_sale", "case_id": "J-1"}\n\n{"kind": "chat"}\n')
    assert [n for n, _ in book.read(stream, format="jsonl")] == [1, 3]
    with pytest.raises(ValueError, match="unknown case format 'xlsx'"):
        list(book.read(csv_file, format="xlsx"))


def test_evaluate_many_in_worker_processes(book: Rulebook, examples: list[dict[str, Any]]) -> None:
    parallel = list(book.evaluate_many(examples, jobs=2))
    sequential = list(book.evaluate_many(examples))
    assert [r.to_dict() for r in parallel] == [r.to_dict() for r in sequential]


def test_worker_processes_need_plugins_by_module_path() -> None:
    book = Rulebook.load(PLUGIN_POLICIES / "policies", plugins=[SamplePlugin()], entry_points=False)
    with pytest.raises(ValueError, match="module paths"):
        list(book.evaluate_many(_parcels(), jobs=2))

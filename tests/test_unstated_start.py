"""``effective_from: unstated``: a version whose source text gives no effective date is in force for every
instant before its ``effective_until`` (an invented start would leave earlier cases unjudged, reported clean).

Fixture: tests/data/policies/good/refunds copied, version 1's start replaced by ``unstated``; its dated
parameter refund_window has values from 2019-01-01 and 2020-06-01 only.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from policy_eval.cli import run
from policy_eval.errors import PolicyError
from policy_eval.lang.values import SHANGHAI
from policy_eval.rulebook import Rulebook, load_rulebook
from policy_eval.run.evaluate import Evaluator
from policy_eval.run.result import Outcome

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "policies"
SCHEMAS = DATA / "schemas"
START = "  effective_from: 2020-01-01\n"


def _folder(tmp: Path, v1_start: str = "unstated", v2_start: str | None = None) -> Path:
    folder = tmp / "policies"
    shutil.copytree(DATA / "good", folder)
    v1 = folder / "refunds" / "v1.yaml"
    text = v1.read_text(encoding="utf-8")
    assert START in text
    v1.write_text(text.replace(START, f"  effective_from: {v1_start}\n"), encoding="utf-8")
    if v2_start is not None:
        v2 = folder / "refunds" / "v2.yaml"
        text = v2.read_text(encoding="utf-8")
        assert "  effective_from: 2021-01-01" in text
        v2.write_text(text.replace("  effective_from: 2021-01-01", f"  effective_from: {v2_start}"), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Rulebook:
    return load_rulebook(_folder(tmp_path_factory.mktemp("unstated")), schema_dir=SCHEMAS)


def _case(submitted: str, **request: Any) -> dict[str, Any]:
    return {"kind": "refund", "case_id": "c", "request": {"type": "question", "submitted_at": submitted, **request}}


def test_the_policy_schema_takes_unstated_and_nothing_else_for_a_word() -> None:
    schema = json.loads((ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))
    v1 = yaml.safe_load((DATA / "good" / "refunds" / "v1.yaml").read_text(encoding="utf-8").replace(
        START, "  effective_from: unstated\n"))
    v1["policy"]["effective_until"] = "2021-01-01"
    jsonschema.validate(v1, schema)
    v1["policy"]["effective_from"] = "unknown"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(v1, schema)


def test_a_version_with_an_unstated_start_judges_any_earlier_case(book: Rulebook) -> None:
    v1 = book.policies["refunds"].versions[0]
    assert not v1.start_stated and v1.start_text() == "unstated"
    assert v1.period() == "[unstated .. 2021-01-01)"
    assert book.policies["refunds"].versions[1].start_stated
    history = book.policies["refunds"]
    assert history.at(_dt.datetime(1990, 5, 1, tzinfo=SHANGHAI)) is v1
    assert history.at(_dt.datetime(2021, 1, 1, tzinfo=SHANGHAI)).version == "2"
    result = Evaluator(book).evaluate(_case("2015-03-01T10:00:00+08:00"))
    verdicts = {r.rule: r for r in result.results}
    # judged, not "no version in force": no reply recorded, so the reply rule is violated
    assert verdicts["reply-in-time"].version == "1"
    assert verdicts["reply-in-time"].outcome is Outcome.VIOLATED


def test_a_dated_parameter_may_start_later_than_an_unstated_start(book: Rulebook) -> None:
    """Before the parameter's first date it has no value: a rule reading it is undetermined, naming it."""
    case = _case("2018-03-01T10:00:00+08:00", type="refund")
    case["order"] = {"received_at": "2018-02-25T10:00:00+08:00"}
    verdict = next(r for r in Evaluator(book).evaluate(case).results if r.rule == "refund-window")
    assert verdict.outcome is Outcome.UNDETERMINED
    assert "parameter 'refund_window' has no value before 2019-01-01" in (verdict.error or "")
    case["request"]["submitted_at"] = "2019-03-01T10:00:00+08:00"
    case["order"]["received_at"] = "2019-02-25T10:00:00+08:00"
    verdict = next(r for r in Evaluator(book).evaluate(case).results if r.rule == "refund-window")
    assert verdict.outcome is Outcome.COMPLIED


def test_a_stated_start_still_needs_a_parameter_value_from_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path, v1_start="2018-06-01")
    with pytest.raises(PolicyError) as info:
        load_rulebook(folder, schema_dir=SCHEMAS)
    assert "parameter 'refund_window' has no value from 2018-06-01" in str(info.value)


def test_two_unstated_starts_overlap_and_the_error_says_so(tmp_path: Path) -> None:
    folder = _folder(tmp_path, v2_start="unstated")
    with pytest.raises(PolicyError) as info:
        load_rulebook(folder, schema_dir=SCHEMAS)
    text = str(info.value)
    assert "(from an unstated date: every earlier instant) overlaps version" in text
    assert "0001" not in text


def test_rules_and_explain_show_unstated(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    out = io.StringIO()
    code = run(["rules", "--policies", str(folder), "--schemas", str(SCHEMAS), "--format", "json"], stdout=out)
    assert code == 0
    rows = json.loads(out.getvalue())
    starts = {r["version"]: r["effective_from"] for r in rows}
    assert starts["1"] is None and starts["2"].startswith("2021-01-01")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(_case("2015-03-01T10:00:00+08:00")), encoding="utf-8")
    out = io.StringIO()
    run(["explain", "--policies", str(folder), "--schemas", str(SCHEMAS), str(case)], stdout=out)
    assert "[unstated .. 2021-01-01)" in out.getvalue() and "0001" not in out.getvalue()


def test_the_bundled_policies_with_no_date_in_their_texts_are_unstated() -> None:
    """The texts of these policies give no effective date (their notes say so): no invented start."""
    book = load_rulebook(ROOT / "policies", schema_dir=ROOT / "schemas")
    unstated = {h.id for h in book.policies.values() if not h.versions[0].start_stated}
    assert {"after-sales", "appeals", "disputes", "intervene", "national-warranty"} <= unstated

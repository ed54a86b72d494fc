"""Remedy durations as data (issue 19 item 6): a restriction's length is an exact duration in the remedy
(`duration: 7d`), recorded in the result and shown by the text report, not prose in its description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import policytext as pt
import pytest

from policy_eval.errors import ErrorList
from policy_eval.plugins.reporters import remedy_text
from policy_eval.resources import bundled_schemas, load_json
from policy_eval.rulebook import load_rulebook
from policy_eval.run.evaluate import Evaluator

POLICY = pt.header() + """\
params:
  ban_days:
    type: int
    value: 7
rules:
  - id: no-late-handling
    title: demo
    clause: "1"
    severity: high
    require: exists(request.merchant_response)
    message: no response
    remedies:
      - kind: ban_new_listings
        to: merchant
        duration: 7d
      - kind: ban_relisting
        duration: days(ban_days) + 12h
      - kind: warn
        duration: days(order.promised_after_sale_days)
      - kind: notice
"""


def _book(tmp_path: Path, text: str = POLICY) -> Any:
    return load_rulebook(pt.write(tmp_path / "p" / "demo.yaml", text).parent, schema_dir=bundled_schemas())


_case = pt.after_sale_case


def test_the_duration_is_an_exact_duration_in_the_result(tmp_path: Path) -> None:
    result = Evaluator(_book(tmp_path)).evaluate(_case())
    (rule,) = result.results
    assert rule.outcome.value == "violated"
    by_kind = {r["kind"]: r for r in rule.remedies}
    assert by_kind["ban_new_listings"]["duration"] == "7d"
    assert by_kind["ban_relisting"]["duration"] == "7d12h"  # 7 days + 12 hours, exact
    assert by_kind["warn"]["duration"] == "unknown"  # the case has no promised period: never guessed
    assert "duration" not in by_kind["notice"]
    assert remedy_text(by_kind["ban_new_listings"]) == "ban_new_listings for 7d to merchant"
    document = json.loads(json.dumps(result.to_dict(), default=str))
    jsonschema.validate(document, load_json(str(bundled_schemas() / "result.schema.json")))


def test_a_duration_that_is_not_a_duration_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(ErrorList) as info:
        _book(tmp_path, POLICY.replace("duration: 7d", "duration: ban_days"))
    (error,) = info.value.errors
    assert error.file.endswith("demo.yaml") and error.line == 23
    assert "duration" in str(error)


def test_the_bundled_seven_day_restrictions_are_data() -> None:
    """seed 000 第六: 店铺全部商品移除资源位、禁止上资源位、移除广告、禁止上新、禁止上架为七天 (one list closed by
    为七天: seven days each); 全店商品降权 has no duration (service-metrics v2, intervention-rate-high)."""
    rule = load_rulebook().rule("service-metrics/intervention-rate-high")
    durations = {r.kind: r.duration.text if r.duration is not None else None for r in rule.remedies}
    assert {durations[k] for k in ("remove_from_promotions", "ban_promotions", "remove_ads",
                                   "ban_new_listings", "ban_relisting")} == {"7d"}
    assert durations["demote_all_listings"] is None

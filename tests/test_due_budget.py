"""due() within the evaluation budget (an embedding developer's audit): evaluate() stops a rule past the budget of
items it may visit (undetermined, docs/language.md Cost), but the forecaster's quick probe of a rule ran its
conditions unmetered, so a forecast grew with the square of a list (75 s of CPU for 12,000 messages). The probe
now runs within the same budget: the forecast of such a case costs what its evaluation costs."""

from __future__ import annotations

import copy
import decimal
import json
from pathlib import Path

import policytext as pt
from cpulimit import cpu_limit

from policy_eval.api import Rulebook

ROOT = Path(__file__).resolve().parent.parent


def test_a_forecast_is_bounded_by_the_rule_budget(tmp_path: Path) -> None:
    pt.write(tmp_path / "pairs.yaml", pt.policy("""\
        rules:
          - id: pairs
            title: t
            clause: c
            severity: low
            forbid: 'any a in messages: any b in messages: a.id == b.id and a.sent_at != b.sent_at'
            message: m
        """, **pt.CHAT))
    book = Rulebook.load(tmp_path, max_cost=None, entry_points=False)
    base = json.loads((ROOT / "examples" / "chat_offplatform_diversion.json").read_text(encoding="utf-8"),
                      parse_float=decimal.Decimal)
    case = copy.deepcopy(base)
    case["messages"] = [dict(base["messages"][0], id=f"m{i}") for i in range(8000)]  # 64 million pairs
    with cpu_limit(20):  # (a few seconds now; the unmetered probe took over a minute at this size)
        forecast = book.due(case)
    assert forecast.error is None
    verdict = next(v for v in book.evaluate(case).results if v.rule == "pairs")
    assert verdict.outcome.value == "undetermined" and "budget exceeded" in (verdict.error or "")

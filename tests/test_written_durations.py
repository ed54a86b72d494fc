"""Durations are shown in the unit the policy wrote them in (issue 18 item 10): 48h, not 2d.

A computed duration (a sum, a difference, a case's ISO 8601 value) has no written form and is shown
largest unit first, as docs/language.md says.
"""

from __future__ import annotations

import datetime as dt
import io
import pickle
from pathlib import Path

from policy_eval.cli import run
from policy_eval.lang.values import parse_duration, parse_iso_duration, render

ROOT = Path(__file__).resolve().parent.parent


def test_a_written_duration_keeps_its_unit_and_its_value() -> None:
    d = parse_duration("48h")
    assert render(d) == "48h"
    assert d == dt.timedelta(days=2) and hash(d) == hash(dt.timedelta(days=2))
    assert render(pickle.loads(pickle.dumps(d))) == "48h"  # --jobs and Dask workers receive it pickled


def test_a_computed_duration_is_shown_largest_unit_first() -> None:
    assert render(parse_duration("48h") + parse_duration("1d")) == "3d"
    assert render(parse_iso_duration("PT36H")) == "1d12h"
    assert render(-parse_duration("72h")) == "-3d"


def test_explain_shows_the_parameter_as_the_policy_wrote_it() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["explain", str(ROOT / "examples" / "after_sale_fruit_refund_no_reply.json"),
                "--rule", "refund-only-handling-limit"], out, err)
    assert code in (0, 1), err.getvalue()
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert "handling_limit  =  48h" in lines  # policies/after_sales/v2.yaml: value: 48h

"""Case timestamps (issue 13 item 16): RFC 3339, leap second included, one grammar for the schema check
and for the value a rule reads, so that a form is accepted by both or refused by both."""

from __future__ import annotations

import copy
import datetime as _dt
import json
from pathlib import Path

import pytest

from policy_eval.lang.readers import ReadError
from policy_eval.lang.timestamps import parse_timestamp
from policy_eval.lang.values import SHANGHAI, ValueParseError
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_case_schemas
from policy_eval.rulebook.validation import CaseValidator

ROOT = Path(__file__).resolve().parent.parent
AFTER_SALE = json.loads((ROOT / "examples" / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()[0])
UTC = _dt.UTC

ACCEPTED = [
    ("2023-06-02T16:00:00+08:00", _dt.datetime(2023, 6, 2, 8, 0, tzinfo=UTC)),
    ("2023-06-02t08:00:00z", _dt.datetime(2023, 6, 2, 8, 0, tzinfo=UTC)),
    ("2023-06-02T16:00:00.5+08:00", _dt.datetime(2023, 6, 2, 8, 0, 0, 500_000, tzinfo=UTC)),
    ("2023-06-02T16:00:00.000000000+08:00", _dt.datetime(2023, 6, 2, 8, 0, tzinfo=UTC)),
    ("2023-06-02T16:00:00", _dt.datetime(2023, 6, 2, 16, 0, tzinfo=SHANGHAI)),  # the project's extension
    # leap seconds: 23:59:60 UTC, in any offset; the last instant before the next second
    ("2016-12-31T23:59:60Z", _dt.datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ("2017-01-01T07:59:60+08:00", _dt.datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    ("2016-12-31T18:59:60-05:00", _dt.datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
]

REFUSED = [
    "2023-06-02 16:00:00+08:00",  # space for T
    "2023-06-02T16:00+08:00",  # no seconds
    "2023-06-02",  # a bare date
    "2023-W22-5T16:00:00+08:00",  # ISO week date
    "2023-153T16:00:00+08:00",  # ordinal date
    "20230602T160000+0800",  # basic format
    "2023-06-02T16:00:00+0800",  # offset without colon
    "2023-06-02T23:59:60+08:00",  # second 60, but not 23:59 UTC
    "2023-06-02T16:00:60+08:00",
    "2023-06-02T16:00:00.0000001+08:00",  # finer than a microsecond
    "2023-06-02T16:00:00+25:00",
    "2023-13-02T16:00:00+08:00",
    "2023-02-30T16:00:00+08:00",
    "２０２３-06-02T16:00:00+08:00",  # full-width digits
    "",
]


@pytest.mark.parametrize("text, instant", ACCEPTED)
def test_rfc3339_forms_are_read(text: str, instant: _dt.datetime) -> None:
    value = parse_timestamp(text)
    assert value.tzinfo is not None and value == instant


def test_a_leap_second_sorts_between_its_neighbours() -> None:
    leap = parse_timestamp("2016-12-31T23:59:60Z")
    assert parse_timestamp("2016-12-31T23:59:59Z") < leap < parse_timestamp("2017-01-01T00:00:00Z")


@pytest.mark.parametrize("text", REFUSED)
def test_other_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueParseError):
        parse_timestamp(text)


@pytest.fixture(scope="module")
def validator() -> CaseValidator:
    return CaseValidator(load_case_schemas(bundled_schemas()))


def _with_received(text: str) -> dict[str, object]:
    case = copy.deepcopy(AFTER_SALE)
    case["order"]["received_at"] = text
    return case


@pytest.mark.parametrize("text", [t for t, _ in ACCEPTED])
def test_schema_validation_accepts_what_the_rules_read(validator: CaseValidator, text: str) -> None:
    from policy_eval.lang.readers import _datetime

    assert validator.check(_with_received(text), "f", 1) is None
    assert _datetime(text) == parse_timestamp(text)


@pytest.mark.parametrize("text", REFUSED)
def test_schema_validation_refuses_what_the_rules_refuse(validator: CaseValidator, text: str) -> None:
    from policy_eval.lang.readers import _datetime

    err = validator.check(_with_received(text), "f", 1)
    assert err is not None and err.json_path == "$.order.received_at" and "date-time" in err.message
    with pytest.raises(ReadError):
        _datetime(text)

"""The timestamp fast path (issue 14): the common RFC 3339 shapes go straight to the C parser after a
check of their separators and length, everything else to the full grammar. The fast path must answer
exactly as the full grammar does, for every string: the tests below mutate each position of each fast
shape with characters the C parser might take for a digit or a separator, and compare."""

from __future__ import annotations

import datetime as _dt
import json
import random
import re
import string
from pathlib import Path
from typing import Any

import pytest

from policy_eval.lang import timestamps
from policy_eval.lang.timestamps import _RFC3339, _parse_rfc3339, parse_timestamp
from policy_eval.lang.values import ValueParseError
from policy_eval.resources import bundled_schemas
from policy_eval.rulebook import load_case_schemas, load_rulebook
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.run.evaluate import Evaluator

ROOT = Path(__file__).resolve().parent.parent

FAST = [
    "2023-06-02T16:00:00+08:00",
    "2023-06-02T16:00:00-05:30",
    "2023-06-02T16:00:00Z",
    "2023-06-02T16:00:00",
    "2023-06-02T16:00:00.5+08:00",
    "2023-06-02T16:00:00.123-05:30",
    "2023-06-02T16:00:00.123456Z",
    "2023-06-02T16:00:00.12345",
]
# ASCII, the digits of other scripts (which str.isdigit and int() accept), look-alikes, a lone surrogate
CHARS = (string.printable + "٠١٢٣۳߃०০০๓໓༣၃᠓０１２３９ｔＴｚＺ：－＋\u2010\u2212\u00a0\u3000\ud800é中")


def _outcome(parse: Any, text: Any) -> tuple[Any, ...]:
    try:
        value = parse(text)
    except ValueParseError as exc:
        return ("refused", str(exc))
    return ("read", repr(value), value.isoformat(), value.utcoffset())


def _mutations(base: str) -> list[str]:
    out = [base[:i] + c + base[i + 1:] for i in range(len(base)) for c in CHARS]
    out += [base[:i] + base[i + 1:] for i in range(len(base))]  # one character fewer
    out += [base[:i] + c + base[i:] for i in range(len(base) + 1) for c in "0:-T.Z+"]  # one more
    return out


@pytest.mark.parametrize("base", FAST)
def test_every_single_mutation_answers_as_the_full_grammar(base: str) -> None:
    texts = _mutations(base)
    assert len(texts) > 1000
    for text in texts:
        fast, full = _outcome(parse_timestamp, text), _outcome(_parse_rfc3339, text)
        assert fast == full, text
        if fast[0] == "read":  # and nothing the grammar refuses is read
            assert _RFC3339.fullmatch(text) is not None, text


def test_random_double_mutations_answer_as_the_full_grammar() -> None:
    rng = random.Random(14)
    for _ in range(20_000):
        text = list(rng.choice(FAST))
        for _ in range(2):
            text[rng.randrange(len(text))] = rng.choice(CHARS)
        joined = "".join(text)
        assert _outcome(parse_timestamp, joined) == _outcome(_parse_rfc3339, joined), joined


@pytest.mark.parametrize("text, reason", [
    ("2016-12-31T23:59:60Z", None),  # the leap second: read by the full grammar, 23:59:59.999999 UTC
    ("2017-01-01T07:59:60+08:00", None),
    ("2023-06-02T23:59:60+08:00", "a leap second (:60) is only 23:59:60 UTC"),
    ("2023-06-02T16:00:00.1234567+08:00", "finer than a microsecond"),
    ("2023-06-02T16:00:00.1234560+08:00", None),  # extra digits that are zeros: read
    ("2023-06-02T16:00:00.+08:00", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00.Z", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00.", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00.123+08:0", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00.12+0800", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00.1²+08:00", "not an RFC 3339 date-time"),  # str.isdigit says yes; ASCII only
    ("2023-06-02T16:00:00.١+08:00", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00.5-08:00Z", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:60.5Z", "a leap second (:60) is only 23:59:60 UTC"),
    ("2016-12-31T23:59:60.5Z", None),  # a leap second with a fraction: the full grammar reads it
    ("2023-06-02t16:00:00+08:00", None),  # lower-case t and z: RFC 3339, off the fast path
    ("2023-06-02T16:00:00z", None),
    ("2023-06-02T16:00:00+0800", "not an RFC 3339 date-time"),  # the C parser would read these
    ("2023-06-02T16:00:00+08", "not an RFC 3339 date-time"),
    ("2023-06-02 16:00:00+08:00", "not an RFC 3339 date-time"),
    ("2023-06-02X16:00:00+08:00", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00,5+08:00", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00+08:00:00", "not an RFC 3339 date-time"),
    ("+023-06-02T16:00:00+08:00", "not an RFC 3339 date-time"),
    ("2023-06-02T16:00:00+24:00", "not a valid date-time"),
    ("2023-02-29T16:00:00+08:00", "not a valid date-time"),
    ("0000-06-02T16:00:00Z", "not a valid date-time"),
    ("2023-06-02T24:00:00", "not a valid date-time"),
])
def test_fast_path_edges(text: str, reason: str | None) -> None:
    assert _outcome(parse_timestamp, text) == _outcome(_parse_rfc3339, text)
    if reason is None:
        assert parse_timestamp(text).tzinfo is not None
    else:
        with pytest.raises(ValueParseError, match=re.escape(reason)):
            parse_timestamp(text)


@pytest.mark.parametrize("value", [None, 20230602, b"2023-06-02T16:00:00+08:00", ["2023-06-02T16:00:00+08:00"] * 25])
def test_values_that_are_not_text_are_refused(value: Any) -> None:
    with pytest.raises(ValueParseError, match="not an RFC 3339 date-time"):
        parse_timestamp(value)


def test_the_common_shapes_do_not_reach_the_full_grammar(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(text: str) -> Any:
        raise AssertionError(f"full grammar for {text}")

    monkeypatch.setattr(timestamps, "_parse_rfc3339", full)
    for text in FAST:
        assert parse_timestamp(text).tzinfo is not None
    with pytest.raises(AssertionError):
        parse_timestamp("2016-12-31T23:59:60Z")


def test_the_rules_find_the_timestamps_the_schema_check_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """One parse per distinct timestamp per case: the schema check parses a case's timestamps into
    read_timestamp's memo and the rules evaluated next read them from there (no second parse), through the
    generated code's inline look-up or the reader's."""
    cases = [json.loads(line) for line in (ROOT / "examples" / "after_sales.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    validator = CaseValidator(load_case_schemas(bundled_schemas()))
    evaluator = Evaluator(load_rulebook(None))
    parsed: list[str] = []  # every text the parser reads (its common branches or its full grammar)
    fast, full, common = timestamps._FROMISOFORMAT, timestamps._parse_rfc3339, timestamps._DECODE_DATETIME

    def fast_counted(text: str) -> Any:
        parsed.append(text)
        return fast(text)

    def common_counted(quoted: str) -> Any:  # (the commonest form's parser: the text as a JSON string)
        parsed.append(quoted[1:-1])
        return common(quoted)

    def full_counted(text: str) -> Any:
        parsed.append(text)
        return full(text)
    monkeypatch.setattr(timestamps, "_FROMISOFORMAT", fast_counted)
    monkeypatch.setattr(timestamps, "_DECODE_DATETIME", common_counted)
    monkeypatch.setattr(timestamps, "_parse_rfc3339", full_counted)
    looked_up = 0
    for case in cases:
        timestamps.clear_read_timestamps()
        del parsed[:]
        assert validator.check(case, "f", 1) is None
        checked = list(parsed)
        assert len(checked) == len(set(checked)) and set(checked) <= set(timestamps.MEMO), case["case_id"]
        evaluator.evaluate(case)
        assert parsed == checked, case["case_id"]  # nothing parsed again
        looked_up += len(checked)
    assert looked_up > len(cases)  # the check did parse timestamps, into the memo


def test_the_memo_is_bounded_and_keeps_only_text() -> None:
    """read_timestamp's memo is emptied when full (a batch of a million cases holds at most MEMO_MAX), and a
    value that is not text is parsed (and refused) without being kept."""
    timestamps.clear_read_timestamps()
    base = _dt.datetime(2023, 6, 2, 16, tzinfo=_dt.timezone(_dt.timedelta(hours=8)))
    for i in range(timestamps.MEMO_MAX * 2 + 5):
        text = (base + _dt.timedelta(seconds=i)).isoformat()
        assert timestamps.read_timestamp(text) == base + _dt.timedelta(seconds=i)
        assert len(timestamps.MEMO) <= timestamps.MEMO_MAX
    assert 0 < len(timestamps.MEMO) <= timestamps.MEMO_MAX
    with pytest.raises(ValueParseError):
        timestamps.read_timestamp(20230602)  # type: ignore[arg-type]
    with pytest.raises(ValueParseError):
        timestamps.read_timestamp("2023-06-02 16:00:00+08:00")
    assert "2023-06-02 16:00:00+08:00" not in timestamps.MEMO


@pytest.mark.parametrize("text", [
    "2023-06-02T16:00:00+08:00" + "0" * 1_000_000,
    "2023-06-02T16:00:00." + "1" * 1_000_000 + "Z",
    "2023-06-02T16:00:00." + "0" * 1_000_000 + "+08:00",  # zeros past the microsecond: the grammar reads it
    "--T::+:" * 150_000,
])
def test_long_texts_answer_as_the_full_grammar(text: str) -> None:
    """The shape tests look at bounded slices only; a long text is the full grammar's to decide."""
    assert _outcome(parse_timestamp, text) == _outcome(_parse_rfc3339, text)


def test_a_parsed_timestamp_shows_what_formatting_gives() -> None:
    """A timestamp parsed from text shows ``isoformat()``'s text, for every text the parser reads, the mutated and the
    random ones (a zero offset, written ``-00:00`` or ``+00:00``, shows ``+00:00``). The parser does not remember the
    text as the value's display text (lang.isotext._DATETIME_TEXT): remembering ten texts a case cost the API more
    than formatting the few it shows (bench/README, thirty-ninth session)."""
    from policy_eval.lang import isotext

    rng = random.Random(14)
    texts = [t for base in FAST for t in _mutations(base)]
    texts += [f"{rng.randrange(1, 10000):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
              f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(61):02d}{rng.choice('+-')}"
              f"{rng.randrange(24):02d}:{rng.choice(['00', '30', '45', '59'])}" for _ in range(20_000)]
    texts += ["2023-06-02T16:00:00-00:00", "2023-06-02T16:00:00+00:00"]
    for text in texts:
        isotext._DATETIME_TEXT.clear()
        try:
            value = parse_timestamp(text)
        except ValueParseError:
            continue
        assert not isotext._DATETIME_TEXT, text
        assert isotext.render_datetime(value) == value.isoformat(), text


@pytest.mark.parametrize("text", ["2023-06-02T16:00:00+08:60", "2023-06-02T16:00:00-05:99", "2023-06-02T16:00:00.5+08:75",
                                  "2023-06-02T16:00:00.123456-00:60"])
def test_an_offset_minute_past_59_is_refused(text: str) -> None:
    """RFC 3339's time-minute is 00-59 in an offset too. Python's C parser reads ``+08:60`` as +09:00; it was
    accepted by both paths (the full grammar hands its common form to that parser)."""
    for parse in (parse_timestamp, _parse_rfc3339):
        with pytest.raises(ValueParseError, match="offset out of range"):
            parse(text)


@pytest.mark.parametrize("value", [["2023-06-02T16:00:00+08:00"], {"at": 1}, 20230602, True,
                                   "2023-06-02 16:00:00+08:00"])
def test_a_value_that_is_no_timestamp_text_is_the_readers_error(value: Any) -> None:
    """Generated code looks a timestamp's text up in read_timestamp's memo inline, for a ``str`` only: a list
    or an object (which a dict cannot look up) or a number is the reader's error as before, and so is text
    that is not RFC 3339, whether or not the memo holds another text."""
    from policy_eval import expression as lang
    from policy_eval.lang.ops import EvalFailure

    schema = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"},
                                               "due": {"type": "string", "format": "date-time"}}}
    fn = lang.compile_expression("at < due", case_schema=schema).fn
    assert fn({"at": "2023-06-02T16:00:00+08:00", "due": "2023-06-02T17:00:00+08:00"}, {}) is True
    with pytest.raises(EvalFailure, match="expected datetime"):
        fn({"at": value, "due": "2023-06-02T17:00:00+08:00"}, {})


def test_the_commonest_form_holds_one_offset_object_per_offset() -> None:
    """Two aware datetimes compare by identity of their offset objects first: the same object, 28 ns; two equal
    ones, each asked for its offset, 330. The fast path's timestamps share one object per offset, the one the
    batch reader's (msgspec) and ``start_of_day``'s hold, so an API call's timestamps compare the quick way."""
    import msgspec

    from policy_eval.lang.functions import _CST, _start_of_day

    rng = random.Random(7)
    read: dict[str, list[_dt.datetime]] = {}
    for _ in range(200):
        offset = rng.choice(["+08:00", "-05:30", "+00:00", "+14:00"])
        text = (f"{rng.randrange(1, 10000):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}{offset}")
        value = parse_timestamp(text)
        assert value == _dt.datetime.fromisoformat(text) and value.isoformat() == text, text
        read.setdefault(offset, []).append(value)
    for offset, values in read.items():
        assert len({id(v.tzinfo) for v in values}) == 1, offset
        decoded = msgspec.json.decode(f'"2000-01-01T00:00:00{offset}"'.encode(), type=_dt.datetime)
        assert values[0].tzinfo is decoded.tzinfo, offset
    # (start_of_day answers at the +08:00 object msgspec gave when lang.functions was loaded; msgspec keeps one object
    # a slot of a small cache, and an offset read later in +08:00's slot, -17:36 say, replaces it: the timestamps
    # read after that hold a new object, equal, no longer the same, so that test order decides identity here)
    day = _start_of_day(parse_timestamp("2024-03-05T10:00:00+08:00"))
    assert day.tzinfo is _CST and read["+08:00"][0].tzinfo == _CST


@pytest.mark.parametrize("base", FAST)
def test_every_pair_of_separators_and_nuls_answers_as_the_full_grammar(base: str) -> None:
    """Python 3.11's fromisoformat reads ``2023-10-22T08:23:Z\\x00+08:00`` as 08:23 UTC (a NUL ends its reading of
    an offset): the fast path read that text so, where the grammar refuses it. Every pair of positions set to
    a separator, a zone letter or a NUL must answer as the full grammar does."""
    marks = "Zz\x00T+-:."
    for i in range(len(base)):
        for j in range(i + 1, len(base)):
            for a in marks:
                for b in marks:
                    text = base[:i] + a + base[i + 1:j] + b + base[j + 1:]
                    assert _outcome(parse_timestamp, text) == _outcome(_parse_rfc3339, text), repr(text)

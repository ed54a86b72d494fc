"""Records read by msgspec (rulebook.msgdecode) are read as the other way reads them, or left to it.

``decode(text)`` may answer only where ``jsonrecord.read_checked`` (orjson, the compiled check, the timestamp
parser) takes the record too, with the same value (equal, keys in the same order), and it must leave to that way
every record it refuses. The records: generated ones of every kind; every golden case; records with one
timestamp replaced by each form of a few thousand (every one-character edit of five RFC 3339 timestamps), keys
written twice or unknown, escapes, and values of the wrong type, enum, length or pattern. The timestamps it
remembers are the parser's. A batch writes the same bytes either way (the last tests).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from goldencorpus import golden_tests

from policy_eval.lang.isotext import _DATETIME_TEXT, _DATETIME_TEXT_MAX
from policy_eval.lang.timestamps import MEMO, MEMO_MAX, OFFSET_SHAPES, parse_timestamp
from policy_eval.rulebook.cases import parse_record
from policy_eval.rulebook.jsonrecord import read_checked
from policy_eval.rulebook.msgdecode import _kind, compile_decoder
from policy_eval.rulebook.validation import CaseValidator
from policy_eval.run.batch import BatchOptions, Processor
from policy_eval.run.nullpaths import has_null

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402


@pytest.fixture(scope="module")
def proc() -> Processor:
    return Processor(BatchOptions(detail="findings"))


def _agrees(proc: Processor, line: bytes) -> bool:
    """Whether msgspec took the record; read_checked takes it too, with the same value, and msgspec takes no
    record read_checked refuses."""
    assert proc._decode is not None and proc._exact is not None
    MEMO.clear()
    got = proc._decode(line)
    decoded = None if got is None else got[0]
    remembered = dict(MEMO)
    MEMO.clear()
    read = read_checked(line, proc._exact)
    if decoded is None:
        return False
    assert decoded == read and list(decoded) == list(read), line
    for text, value in remembered.items():  # (the instant and the offset the parser reads)
        MEMO.clear()
        parsed = parse_timestamp(text)
        assert (value, value.utcoffset()) == (parsed, parsed.utcoffset()), text
    return True


def test_generated_records_of_every_kind(proc: Processor) -> None:
    taken: dict[str, int] = {}
    for case in generate(1200, seed=23):
        line = json.dumps(case, ensure_ascii=False).encode()
        if _agrees(proc, line):
            taken[case["kind"]] = taken.get(case["kind"], 0) + 1
    # every kind but store_metrics (numbers must be read exactly, as Decimal: left to the other way)
    assert set(taken) == set(proc.rulebook.case_schemas) - {"store_metrics"}, taken
    assert sum(taken.values()) > 900


def test_every_golden_case(proc: Processor) -> None:
    taken = 0
    for test in golden_tests():
        line = orjson.dumps(test.case, default=str)
        taken += _agrees(proc, line)
    assert taken > 1000


_BASES = ["2023-06-02T16:00:00+08:00", "2023-06-02T16:00:00Z", "2023-06-02T16:00:00.123456-05:30",
          "2023-12-31T23:59:59.5z", "2023-06-02t16:00:00-00:00"]
_ALPHABET = "0123456789-:+.TtZz ,_/W\t\x00e\u0663"


def _forms() -> list[str]:
    """Every one-character insertion, replacement and deletion of the base timestamps."""
    out = set()
    for base in _BASES:
        for i in range(len(base) + 1):
            for c in _ALPHABET:
                out.add(base[:i] + c + base[i:])
                if i < len(base):
                    out.add(base[:i] + c + base[i + 1:])
            if i < len(base):
                out.add(base[:i] + base[i + 1:])
    return sorted(out)


def test_timestamp_forms(proc: Processor) -> None:
    """Each form in place of a required and an optional timestamp: msgspec takes the record where RFC 3339
    (lang.timestamps) takes the form, with the same instant and offset, and leaves it where it does not."""
    case = next(c for c in generate(50, seed=3) if c["kind"] == "after_sale" and "confirmed_at" in c["order"])
    taken = refused = 0
    for form in _forms():
        for where in ("request", "order"):
            changed = json.loads(json.dumps(case))
            changed[where]["submitted_at" if where == "request" else "confirmed_at"] = form
            if _agrees(proc, orjson.dumps(changed)):
                taken += 1
            else:
                refused += 1
    assert taken > 1000 and refused > 1000, (taken, refused)


def test_the_walkers_two_places_are_the_shape_on_every_timestamp_msgspec_reads() -> None:
    """The walker tests a 25-character timestamp's shape at two places (a colon at 22, ``T`` at 10), not all seven
    of lang.timestamps.OFFSET_SHAPES: of the texts msgspec reads as a timestamp, the two tests agree on every form
    here (each one-character edit of the bases, and of those, two edits deep for the 25-character ones)."""
    aware = msgspec.json.Decoder(msgspec.defstruct("One", [("t", _dt.datetime)]))
    forms = set(_forms())
    forms |= {f[:i] + c + f[i + 1:] for f in list(forms) if len(f) == 25 for i in range(25) for c in _ALPHABET}
    taken = offsets = 0
    for form in forms:
        if len(form) != 25:
            continue
        try:
            aware.decode(orjson.dumps({"t": form}))
        except msgspec.ValidationError:
            continue
        taken += 1
        shaped = form[4:23:3] in OFFSET_SHAPES
        offsets += shaped
        assert (form[22] == ":" and form[10] == "T") is shaped, form
    assert taken > 1000 and 100 < offsets < taken, (taken, offsets)


@pytest.mark.parametrize("form", ["2023-06-02 16:00:00+08:00", "2023-06-02T16:00:00.1234567+08:00",
                                  "2023-06-02T16:00:00.123456789Z", "2023-06-02T16:00:00+0800",
                                  "2023-06-02T16:00:00-0530"])
def test_forms_msgspec_would_take_and_rfc_3339_refuses(proc: Processor, form: str) -> None:
    """msgspec's own grammar takes these (checked here, so that a release that stops is noticed); the record's
    timestamps are parsed by lang.timestamps' grammar all the same, which refuses them."""
    aware = msgspec.json.Decoder(msgspec.defstruct("One", [("t", _dt.datetime)]))
    assert aware.decode(orjson.dumps({"t": form})).t.tzinfo is not None
    with pytest.raises(ValueError):
        parse_timestamp(form)
    case = next(c for c in generate(20, seed=3) if c["kind"] == "after_sale")
    case["request"]["submitted_at"] = form
    assert proc._decode is not None and proc._decode(orjson.dumps(case)) is None


def _after_sale() -> dict[str, Any]:
    return next(c for c in generate(20, seed=5) if c["kind"] == "after_sale" and "paid_amount" in c["order"])


@pytest.mark.parametrize("text", [
    lambda s: s.replace(b'"case_id":', b'"case_id":"X","case_id":', 1),  # a key twice, top level
    lambda s: s.replace(b'"id":', b'"id":"X","id":', 1),  # a key twice, in an object
    lambda s: s.replace(b'"kind":"after_sale"', b'"kind":"after_sale","kind":"after_sale"', 1),
    lambda s: s.replace(b'"case_id":"', b'"case_id":"\\u0041', 1),  # an escape (valid: left to the other way)
    lambda s: s.replace(b"{", b'{"extra":1,', 1),  # a key the schema does not name
    lambda s: s.replace(b'"case_id":', b'"case_i":', 1),  # a required key missing
    lambda s: s.replace(b'"promised_after_sale_days":7', b'"promised_after_sale_days":7.0', 1),
    lambda s: s.replace(b'"promised_after_sale_days":7', b'"promised_after_sale_days":-1', 1),
    lambda s: s.replace(b'"promised_after_sale_days":7', b'"promised_after_sale_days":true', 1),
    lambda s: s.replace(b'"type":"', b'"type":"x', 1),  # not in the enum
    lambda s: re.sub(rb'"case_id":"[^"]*"', b'"case_id":""', s, count=1),  # shorter than minLength
    lambda s: s + b" x",  # text after the record
])
def test_records_msgspec_leaves(proc: Processor, text: Any) -> None:
    line = text(orjson.dumps(_after_sale()))
    assert proc._decode is not None and proc._decode(line) is None


@pytest.mark.parametrize("reason", ["退款: 已协商", "09:30", "x:", "a:b:c:d", "2023-10-20T19:32:41+08:00"])
def test_a_colon_in_a_string_leaves_the_keys_to_their_own_count(proc: Processor, reason: str) -> None:
    """A colon in a string other than a timestamp the walker took makes the colons more than the keys and
    timestamps account for (see the module): the record is still taken, by the keys' own count, which still refuses
    it with a key written twice."""
    case = _after_sale()
    case["request"]["reason"] = reason
    line = orjson.dumps(case)
    assert _agrees(proc, line)
    assert proc._decode is not None and proc._decode(line.replace(b'"case_id":', b'"case_id":"X","case_id":', 1)) is None


def test_the_walker_counts_the_timestamps_whose_colons_it_vouches_for(proc: Processor) -> None:
    """The cheap count's terms: the keys decoded, and the timestamps of the commonest form, each with three colons.
    On an after-sale record with no other colon they add up to the text's colons, so the cheap count settles it;
    a timestamp in another form is not counted (its colons then leave the record to the keys' own count)."""
    schema = proc.rulebook.case_schemas["after_sale"]
    made = _kind("after_sale", schema)
    assert made is not None
    typed, stamps, walk, _ = made
    case = _after_sale()
    line = orjson.dumps(case)
    assert stamps is not None
    keys, taken = walk(typed(line), stamps(line))
    timestamps = re.findall(rb'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"', line)
    assert taken == len(timestamps) > 0
    assert keys == line.count(b'":')  # (orjson writes no blank)
    assert line.count(b":") == keys + 3 * taken
    case["request"]["submitted_at"] = "2023-10-20T19:32:41.5+08:00"  # (a fraction: the parser's, not counted)
    line = orjson.dumps(case)
    assert walk(typed(line), stamps(line)) == (keys, taken - 1)
    assert _agrees(proc, line)


def test_a_pattern_is_checked_with_re2(proc: Processor) -> None:
    """Each value twice: the second time the walker finds the answer remembered (a refusal is searched again)."""
    case = _after_sale()
    for amount, valid in [("19.90", True), ("19.9x", False), ("19.90\n", False), ("١٩.90", False)] * 2:
        case["order"]["paid_amount"] = amount
        line = orjson.dumps(case)
        assert proc._exact is not None and (read_checked(line, proc._exact) is not None) is valid, amount
        assert _agrees(proc, line) is valid, amount


def test_the_kind_is_the_first_kind_key(proc: Processor) -> None:
    """The kind is read from the text's first ``"kind":``. A record whose first is another object's goes the other
    way, as does one whose kind is a value of another key; read_checked takes both."""
    chat = next(c for c in generate(200, seed=3) if c["kind"] == "chat"
                and any(m["attachments"] for m in c["messages"]))
    later = {k: v for k, v in chat.items() if k != "kind"} | {"kind": "chat"}  # (an attachment's kind first)
    assert list(later)[-1] == "kind"
    case = _after_sale()
    case["order"]["goods_title"] = "kind"
    valued = {"x": 0} | case  # (not valid: only to place a "kind" value first)
    for line, taken in ((orjson.dumps(chat), True), (orjson.dumps(later), False),
                        (orjson.dumps(case).replace(b'{"kind"', b'{"order_note":"kind","kind"'), False)):
        assert proc._decode is not None and (proc._decode(line) is not None) is taken, line[:80]
    assert proc._exact is not None and read_checked(orjson.dumps(later), proc._exact) is not None
    assert valued


def test_schemas_outside_the_subset() -> None:
    obj = {"type": "object", "additionalProperties": False, "required": ["kind"],
           "properties": {"kind": {"const": "k"}, "x": {"type": "string"}}}
    assert compile_decoder({"k": obj}) is not None
    for bad in ({"type": "number"}, {"type": "string", "format": "date"}, {"type": "string", "unknown": 1},
                {"type": "object", "properties": {}}, {"anyOf": [{"type": "string"}]}):
        schema = json.loads(json.dumps(obj))
        schema["properties"]["x"] = bad
        assert compile_decoder({"k": schema}) is None, bad
    schema = json.loads(json.dumps(obj))
    schema["properties"]["kind"] = {"enum": ["k", "j"]}
    assert compile_decoder({"k": schema}) is None
    del obj["additionalProperties"]
    assert compile_decoder({"k": obj}) is None


def _lines() -> list[bytes]:
    lines = [json.dumps(c, ensure_ascii=False).encode() for c in generate(600, seed=31)]
    lines += [orjson.dumps(t.case, default=str) for t in golden_tests()[::3]]
    # timestamps in other forms and offsets, shown in full detail's inputs: -00:00 is shown as +00:00
    for form in ("2024-05-02T10:00:00-00:00", "2024-05-02T10:00:00+00:00", "2024-05-02T10:00:00Z",
                 "2024-05-02T10:00:00.5+08:00", "2024-05-02t10:00:00+08:00", "2024-05-02T10:00:00",
                 "2024-05-02T10:00:00-05:30"):
        for case in generate(40, seed=7):
            if case["kind"] == "after_sale":
                case["request"]["submitted_at"] = form
                lines.append(orjson.dumps(case))
    # integers beyond 64 bits, which orjson does not read (msgspec does, up to Python's own limit)
    case = next(c for c in generate(50, seed=5) if c["kind"] == "after_sale" and "promised_after_sale_days" in c["order"])
    for digits in (19, 31, 401, 5001):
        text = orjson.dumps(case)
        lines.append(text.replace(b'"promised_after_sale_days":7', b'"promised_after_sale_days":1' + b"0" * (digits - 1)))
        assert lines[-1] != text
    return lines


def forget() -> None:
    MEMO.clear()
    _DATETIME_TEXT.clear()


def test_it_says_whether_the_record_holds_a_null(proc: Processor) -> None:
    """A record the types with no null take holds none (the evaluator then searches it for none); one that only the
    types with nulls take holds one; a record whose only ``null`` is inside a text holds none, and is said to.
    Taken or not, every record gives the bytes it gives when the caller searches its text (test below)."""
    assert proc._decode is not None
    case = _after_sale()
    plain = proc._decode(orjson.dumps(case))
    assert plain is not None and plain[1] is True
    nulled = copy.deepcopy(case)
    nulled["order"]["shipped_at"] = None
    held = proc._decode(orjson.dumps(nulled))
    assert held is not None and held[1] is False and held[0]["order"]["shipped_at"] is None
    worded = copy.deepcopy(case)
    worded["order"]["goods_title"] = "null and void"
    text = orjson.dumps(worded)
    assert b"null" in text
    said = proc._decode(text)
    assert said is not None and said[1] is True and said[0] == orjson.loads(text)


def test_the_timestamps_are_remembered_as_the_parser_remembers_them(proc: Processor) -> None:
    """What the walker is for: each timestamp of a record taken is in lang.timestamps' memo, as the parser
    would have left it, so that the rules' readers find it there."""
    assert proc._decode is not None
    for case in generate(100, seed=13):
        MEMO.clear()
        line = orjson.dumps(case)
        if proc._decode(line) is None:
            continue
        stamps = _STAMP.findall(line.decode())
        assert stamps and all(v in MEMO for v in stamps), case["case_id"]


_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}")


@pytest.mark.parametrize("detail", ["findings", "full"])
def test_a_batch_writes_the_same_bytes_either_way(detail: str) -> None:
    """Each record through a Processor that reads it with msgspec and one that does not: the same JSON text."""
    with_decoder = Processor(BatchOptions(detail=detail))
    without = Processor(BatchOptions(detail=detail), rulebook=with_decoder.rulebook)
    without._decode = None
    assert with_decoder._decode is not None
    lines = _lines()
    for number, line in enumerate(lines, 1):
        forget()  # (each way with its own memory of timestamps: shared, one would show what the other kept)
        a = with_decoder.process(("cases.jsonl", number, line)).to_json_bytes()
        forget()
        b = without.process(("cases.jsonl", number, line)).to_json_bytes()
        assert a == b, (number, line[:200])
    assert sum(with_decoder._decode(x) is not None for x in lines) > len(lines) // 2



def test_a_record_in_utf_16_with_a_null_is_judged_as_in_utf_8(proc: Processor) -> None:
    """A record's bytes with a NUL (UTF-16, which msgspec and orjson refuse and the json module reads): its
    ``null``, written ``n\\0u\\0l\\0l\\0``, is still looked for. The NUL is looked for only once both readers
    refused the record: a mutation that never looks gives the null's rules another verdict."""
    case = next(c for c in map(json.loads, _lines()) if c["kind"] == "after_sale"
                and c["request"]["type"] == "refund_only" and "received_at" in c["order"])
    case["order"]["confirmed_at"] = None  # (read by the refund-only window rule)
    text = json.dumps(case, ensure_ascii=False)
    utf8 = proc.process(("cases.jsonl", 1, text.encode())).to_json_bytes()
    assert b"unknown in the case (null): order.confirmed_at" in utf8
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        assert proc.process(("cases.jsonl", 1, text.encode(encoding))).to_json_bytes() == utf8, encoding


def test_the_text_a_full_detail_decoder_remembers_is_what_formatting_gives() -> None:
    """What the walker remembers as a timestamp's display text (full detail) is ``isoformat()``'s text, whatever the
    offset: a zero offset, written ``-00:00`` or ``+00:00``, shows ``+00:00`` and so is not remembered. (The parser
    remembers none since the thirty-ninth session: this walker is the one reader left that does.)"""
    decode = Processor(BatchOptions(detail="full"))._decode
    assert decode is not None
    rng = random.Random(23)
    offsets = ["+08:00", "+00:00", "-00:00", "+05:45", "-03:30", "+14:00", "-12:00", "+23:59"]
    remembered = zeros = 0
    for case in generate(400, seed=29):
        line = _STAMP.sub(lambda m: m.group(0)[:19] + rng.choice(offsets), orjson.dumps(case).decode()).encode()
        _DATETIME_TEXT.clear()
        if decode(line) is None:
            continue
        for value, text in _DATETIME_TEXT.values():
            assert value.isoformat() == text, text
            remembered += 1
        zeros += len(re.findall(r"[+-]00:00\"", line.decode()))
    assert remembered > 1000 and zeros > 100  # (texts were remembered, and zero offsets met)
    _DATETIME_TEXT.clear()


@pytest.mark.parametrize("detail", ["full", "findings"])
def test_what_the_walker_remembers_stays_bounded(detail: str) -> None:
    """The walker empties what it remembers before a record once it holds its bound, so it never holds more than
    that and one record's timestamps, however many records a batch reads: in full detail each timestamp's display
    text (lang.values' texts, as the parser does; _DATETIME_TEXT_MAX); in both, lang.timestamps' memo (MEMO_MAX),
    with each record's timestamps there while its rules read them."""
    decode = Processor(BatchOptions(detail=detail))._decode
    assert decode is not None
    held, bound = (_DATETIME_TEXT, _DATETIME_TEXT_MAX) if detail == "full" else (MEMO, MEMO_MAX)
    held.clear()
    peak = taken = 0
    for case in generate(1500, seed=17):
        line = orjson.dumps(case)
        if decode(line) is None:
            continue
        taken += 1
        stamps = _STAMP.findall(line.decode())
        assert all(s in MEMO for s in stamps)
        assert len(held) <= bound + len(stamps) and len(MEMO) <= MEMO_MAX + len(stamps)
        peak = max(peak, len(held))
    assert taken > 1000 and peak >= bound  # (the bound was reached: the memory was emptied)


# A schema of one's own, with every keyword of the subset: what an author's rulebook may hold.
_OWN = {
    "type": "object", "additionalProperties": False, "required": ["kind", "id", "items"],
    "properties": {
        "kind": {"const": "own"},
        "id": {"type": "string", "minLength": 2, "maxLength": 8, "pattern": "^[A-Z][0-9]+$"},
        "n": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
        "flag": {"type": "boolean"},
        "level": {"enum": [1, 2, "three", None]},
        "at": {"type": ["string", "null"], "format": "date-time"},
        # (two kinds: the walker tests the type before the pattern or the timestamp; an integer has neither. An
        # integer where a timestamp may be is left to the other way: the timestamps' Struct refuses it)
        "ref": {"type": ["string", "integer"], "pattern": "^R[0-9]+$"},
        "due": {"type": ["integer", "string", "null"], "format": "date-time"},
        "stamps": {"type": "array", "maxItems": 3, "items": {"type": "string", "format": "date-time"}},
        "items": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["t"],
            "properties": {
                "t": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "inner": {"type": ["object", "null"], "additionalProperties": False,
                          "properties": {"when": {"type": "string", "format": "date-time"}}}}}},
    },
}

_ODD = [None, True, 0, -1, 11, 2.5, "", "x", "A1", "A123456789", "a1", "A1\n", "2024-05-01T10:00:00+08:00",
        "2024-05-01 10:00:00+08:00", "2024-05-01T10:00:00", "2024-05-01T23:59:60Z", [], {}, ["a"], {"t": 1}]


def _own_record(rng: random.Random) -> dict[str, Any]:
    """A record of the schema above, each value right or (one time in twenty) taken from _ODD."""
    def pick(good: Any) -> Any:
        return rng.choice(_ODD) if rng.random() < 0.05 else good

    def stamp() -> Any:
        return pick(rng.choice(["2024-05-01T10:00:00+08:00", "2024-05-01T02:00:00Z", "2024-05-01T10:00:00.25-05:30",
                                "2024-05-01T10:00:00"]))

    record: dict[str, Any] = {"kind": pick("own"), "id": pick(f"A{rng.randrange(1000)}")}
    for key, make in (("n", lambda: rng.choice([None, 0, 10])), ("flag", lambda: rng.random() < 0.5),
                      ("level", lambda: rng.choice([1, 2, "three", None])), ("at", stamp),
                      ("ref", lambda: rng.choice(["R1", 7, "R20"])),
                      ("stamps", lambda: [stamp() for _ in range(rng.randrange(4))])):
        if rng.random() < 0.7:
            record[key] = pick(make())
    if rng.random() < 0.5:  # (never an integer: see the schema)
        record["due"] = rng.choice([None, "2024-05-01T10:00:00+08:00", "2024-05-01T10:00:00", "2024-05-01 10:00"])
    items = []
    for _ in range(rng.randrange(3)):
        item: dict[str, Any] = {"t": stamp()}
        if rng.random() < 0.5:
            item["tags"] = [pick(rng.choice("ab")) for _ in range(rng.randrange(3))]
        if rng.random() < 0.5:
            item["inner"] = pick({"when": stamp()} if rng.random() < 0.7 else {})
        if rng.random() < 0.05:
            item["extra"] = 1
        items.append(item)
    record["items"] = pick(items)
    if rng.random() < 0.05:
        del record["id"]
    return record


def test_a_schema_with_every_keyword_of_the_subset() -> None:
    """Random records of an author's schema: where msgspec takes one, the general way (an exact read, then the
    reference validator) takes it with the same value; where that way refuses one, msgspec does too."""
    decode = compile_decoder({"own": _OWN})
    assert decode is not None
    validator = CaseValidator({"own": _OWN})
    rng = random.Random(5)
    taken = refused = missed = 0
    for number in range(4000):
        line = orjson.dumps(_own_record(rng))
        MEMO.clear()
        decoded = decode(line)
        case = parse_record(line, "own.jsonl", number)
        valid = isinstance(case, dict) and validator.check(case, "own.jsonl", number) is None
        if decoded is None:
            refused += 1
            missed += valid and b"60Z" not in line  # (valid, but left to the other way: no leap second in it)
            continue
        taken += 1
        read, null_free = decoded
        assert valid and read == case and list(read) == list(case), line
        # said to hold no null only when it holds none; said to hold one only where its text has a null
        assert null_free is not has_null(case) or (not null_free and b"null" in line), line
    assert taken > 1000 and refused > 1000 and missed == 0, (taken, refused, missed)

"""parse_record's fast path (issue 14): orjson reads the record, one recursive walk counts its strings (keys
and string values) and looks for a binary float, and the text's quotes are counted (or, in a text with a
backslash, its key marks after deleting whitespace) to see that no key was written twice. A record
is returned from there only if the slow path (json with exact Decimals, duplicate keys flagged) would
return the same: these tests compare the two on records shaped to fool each shortcut."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from policy_eval.errors import CaseError
from policy_eval.rulebook import jsonrecord
from policy_eval.rulebook.jsonrecord import parse_record

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _slow(text: str | bytes) -> Any:
    """What parse_record answers when orjson cannot read the record: the reference."""
    def refuse(_: Any) -> Any:
        raise orjson.JSONDecodeError("forced", "", 0)

    saved = jsonrecord._ORJSON_LOADS
    jsonrecord._ORJSON_LOADS = refuse
    try:
        return _answer(parse_record(text, "f", 1))
    finally:
        jsonrecord._ORJSON_LOADS = saved


def _answer(value: Any) -> Any:
    if isinstance(value, CaseError):
        return ("error", value.message, value.json_path)
    return ("value", _flat(value))


def _flat(value: Any) -> list[tuple[str, str]]:
    """Every node as (JSON path, type and repr of a leaf), without recursion (records 999 levels deep):
    Decimal('1.50') is not 1.5, nor is int 1 Decimal('1')."""
    out, stack = [], [("$", value)]
    while stack:
        where, node = stack.pop()
        if type(node) is dict:
            out.append((where, f"dict {len(node)}"))
            stack.extend((f"{where}.{k}", v) for k, v in node.items())
        elif type(node) is list:
            out.append((where, f"list {len(node)}"))
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))
        else:
            out.append((where, f"{type(node).__name__} {node!r}"))
    return out


@pytest.mark.parametrize("text", [
    b'{"a": 1, "a" : 2}',  # a duplicate behind each whitespace byte the marks must see
    b'{"a": 1, "a"\t: 2}',
    b'{"a": 1, "a"\r:2}',
    b'{"a": 1, "a"\n:2}',
    b'{"a": 1, "a" \t\r\n :2}',
    b'{\n  "a": {"b": 1,\n  "b"\n  : 2}\n}\n',
    b'{"a": [1, {"b": 1, "b" : {"c": 1}}]}',
    b'{"a": "\\" :", "b": "\\"\\t\\t:", "c": "x \\" \\n :"}',  # marks inside strings: no false duplicate
    b'{"a" :"\\" :", "b":  1}',
    b'{"a": 1.5, "b": [0.1, 1e3, -2E-2, 1.50]}',  # floats: read again exactly
    b'{"a": {"b": [[{"c": 0.5}]]}}',
    b'{"a": [], "b": {}, "c": [[]], "d": [{}], "e": null, "f": true, "g": -0, "h": 12345678901234567890}',
    b'{"a": ["x", {"b": "y", "b": "y"}], "c": "z"}',  # a duplicate string value: two strings fewer, not one
    b'{"a": {"b": 1}, "a": {"b": 1}}',  # a duplicate object: its key and the strings inside it
    b'{"a": "\\\\", "b": 1, "b": 2}',  # a backslash anywhere: the key marks decide
    b'{"a": "\\u0022", "b": "\\""}',  # quotes written as escapes: no duplicate
])
def test_fast_and_slow_paths_answer_the_same(text: bytes) -> None:
    for payload in (text, text.decode()):
        assert _answer(parse_record(payload, "f", 1)) == _slow(payload), payload


def test_without_a_backslash_quotes_are_counted_not_key_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every quote of a text without a backslash delimits a string: the count of quotes decides, and a key
    written twice, whatever its value, is still found."""
    def no_marks(_: Any) -> int:
        raise AssertionError("key marks counted")

    monkeypatch.setattr(jsonrecord, "_key_marks", no_marks)
    assert parse_record(b'{"a": ["x", {"b": "1"}], "c": "z"}', "f", 1) == {"a": ["x", {"b": "1"}], "c": "z"}
    for text in (b'{"a": 1, "a": 1}', b'{"a": "x", "b": ["y", {"c": "1", "c": "1"}]}', b'{"a" : {"b": "c"}, "a": {}}'):
        found = parse_record(text, "f", 1)
        assert isinstance(found, CaseError) and found.message.startswith("duplicate key"), text


def test_floats_come_back_as_exact_decimals() -> None:
    value = parse_record(b'{"a": {"b": [[{"c": 0.10}]]}, "d": 1e-7}', "f", 1)
    assert value == {"a": {"b": [[{"c": Decimal("0.10")}]]}, "d": Decimal("1e-7")}
    assert repr(value["a"]["b"][0][0]["c"]) == "Decimal('0.10')"


@pytest.mark.parametrize("depth", [47, 48, 49, 50, 200, 999])
@pytest.mark.parametrize("open_, close", [(b"[", b"]"), (b'{"k": ', b"}")])
def test_deep_records_beyond_the_recursive_walk(depth: int, open_: bytes, close: bytes) -> None:
    """Past _RECURSE levels the walk goes on with a stack: a float or a duplicate at the bottom is still
    found, and a deep record of integers is still read (orjson reads 1024 levels; json fewer)."""
    for leaf in (b"1", b"1.5", b'{"a": 1, "a": 2}', b'{"a": 1, "b": 2}'):
        text = b'{"k": ' + open_ * depth + leaf + close * depth + b"}"
        fast = _answer(parse_record(text, "f", 1))
        if depth <= 200:  # within what json reads
            assert fast == _slow(text), (depth, leaf)
        if leaf == b"1.5" and depth <= 200:
            assert ("value" in fast and any(v == "Decimal Decimal('1.5')" for _, v in fast[1])), depth
        elif leaf.count(b'"a"') == 2 and depth <= 200:
            assert fast[0] == "error" and fast[1].startswith('duplicate key "a"'), depth
        elif leaf in (b"1.5", b'{"a": 1, "a": 2}'):  # the slow path decides; whether json nests this deep
            # depends on the Python: 3.11's stops at its recursion limit ("nested too deeply"), 3.12's C code
            # is bounded by the stack instead and reads it (the float exactly, the duplicate key found)
            slow = _slow(text)
            assert fast == slow, depth
            if slow != ("error", "JSON nested too deeply", "$"):
                if leaf == b"1.5":
                    assert slow[0] == "value" and any(v == "Decimal Decimal('1.5')" for _, v in slow[1]), depth
                else:
                    assert slow[0] == "error" and slow[1].startswith('duplicate key "a"'), depth
        else:
            assert fast[0] == "value" and len(fast[1]) > depth, (depth, leaf)


def test_random_records_answer_as_the_slow_path() -> None:
    rng = random.Random(14)
    spaces = ["", " ", "\t", "\n", "\r\n", "  "]

    def ws() -> str:
        return rng.choice(spaces)

    def value(depth: int) -> str:
        roll = rng.random()
        if depth > 4 or roll < 0.4:
            return rng.choice(['1', '-2', '0.5', '1e2', '"x"', '"a\\" :b"', '"\\":"', 'null', 'true', '"19.90"'])
        if roll < 0.7:
            keys = [rng.choice("abcd") for _ in range(rng.randrange(4))]
            inner = ",".join(f'{ws()}"{k}"{ws()}:{ws()}{value(depth + 1)}{ws()}' for k in keys)
            return "{" + inner + "}"
        return "[" + ",".join(ws() + value(depth + 1) + ws() for _ in range(rng.randrange(4))) + "]"

    kinds = {"value": 0, "error": 0}
    for _ in range(3000):
        keys = rng.sample("abcdef", rng.randrange(1, 5))
        text = "{" + ",".join(f'{ws()}"{k}"{ws()}:{ws()}{value(0)}' for k in keys) + "}" + ws()
        fast = _answer(parse_record(text.encode(), "f", 1))
        assert fast == _slow(text.encode()), text
        kinds[fast[0]] += 1
    assert min(kinds.values()) > 100  # both outcomes were exercised


def test_a_bundled_case_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    line = (EXAMPLES / "after_sales.jsonl").read_bytes().splitlines(keepends=True)[0]

    def no_slow_path(_: Any) -> Any:
        raise AssertionError("read again with json")

    monkeypatch.setattr(jsonrecord, "loads", no_slow_path)
    assert parse_record(line, "f", 1) == orjson.loads(line)

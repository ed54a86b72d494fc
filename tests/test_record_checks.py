"""parse_record's two checks of what json read, a key written twice and a lone surrogate, made only where the reading
could have produced one, and their paths made only for the error: the answers are those of the walks before, which
made a path for every node and ran on every record (a fifth of a store_metrics record's time: bench/README,
thirty-ninth session).

The reference below is those walks as they were. Records: generated ones of every kind (their fractional numbers send
them to json's exact reading), each with a key written twice or a lone surrogate escape (in a value, in a key) put
at one place after another, as UTF-8 bytes, as text, and as UTF-16 and UTF-32 bytes (which json reads too, and in
which an escape is not the bytes searched for).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from policy_eval.errors import CaseError
from policy_eval.rulebook.jsonrecord import member, parse_record
from policy_eval.rulebook.jsonwalks import _Duplicated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import generate  # noqa: E402


def _reference_duplicate(value: Any, path: str = "$") -> tuple[str, str] | None:
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _Duplicated):
            return where, node.key
        if isinstance(node, dict):
            stack.extend((v, f"{where}{member(k)}") for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(node))))
    return None


def _reference_surrogate(value: Any, path: str = "$") -> tuple[str, str] | None:
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in node):
                return where, "string"
        elif isinstance(node, dict):
            for k, v in reversed(list(node.items())):
                if any(0xD800 <= ord(ch) <= 0xDFFF for ch in k):
                    return where, "key"
                stack.append((v, f"{where}{member(k)}"))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(node))))
    return None


def _answer(found: dict[str, Any] | CaseError) -> Any:
    return ("error", found.message, found.json_path) if isinstance(found, CaseError) else ("case", found)


def _places(value: Any, path: str = "$") -> list[tuple[Any, str]]:
    """Every object of ``value`` (where a key can be added) with its path."""
    out = []
    if isinstance(value, dict):
        out.append((value, path))
        for k, v in value.items():
            out += _places(v, f"{path}{member(k)}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _places(v, f"{path}[{i}]")
    return out


def _records() -> list[str]:
    """JSON texts holding a key written twice or a lone surrogate escape somewhere, and clean ones."""
    rng = random.Random(41)
    texts = []
    for case in generate(120, seed=43):
        clean = json.dumps(case, ensure_ascii=False, default=str)
        texts.append(clean)
        places = _places(case)
        for obj, _ in rng.sample(places, min(3, len(places))):
            key = next(iter(obj), None)
            if key is None:
                continue
            marker = "__MARK__"
            obj[marker] = 1
            text = json.dumps(case, ensure_ascii=False, default=str)
            del obj[marker]
            texts.append(text.replace(f'"{marker}": 1', f'"{key}": "again"'))  # a key written twice
            texts.append(text.replace(f'"{marker}": 1', '"x\\ud83d": 1'))  # a key with a lone high surrogate
            texts.append(text.replace(f'"{marker}": 1', '"note": "a\\uDC00b"'))  # a value with a lone low one
            texts.append(text.replace(f'"{marker}": 1', '"note": "\\ud83d\\ude00 and \\\\ud800"'))  # a pair; an
            # escaped backslash before "ud800": no surrogate at all
    return texts


RECORDS = _records()


def test_the_records_hold_what_the_checks_look_for() -> None:
    found = {"duplicate": 0, "surrogate": 0, "clean": 0}
    for text in RECORDS:
        answer = parse_record(text.encode(), "f", 1)
        if isinstance(answer, CaseError):
            found["duplicate" if "duplicate key" in answer.message else "surrogate"] += 1
        else:
            found["clean"] += 1
    assert min(found.values()) > 100, found


@pytest.mark.parametrize("form", ["utf-8", "str", "utf-16", "utf-32"])
def test_the_checks_answer_as_the_walks_before(form: str) -> None:
    from policy_eval.rulebook.jsonrecord import loads

    for text in RECORDS:
        payload: str | bytes = text if form == "str" else text.encode(form)
        got = _answer(parse_record(payload, "f", 1))
        value = loads(text)
        duplicate, surrogate = _reference_duplicate(value), _reference_surrogate(value)
        if duplicate is not None:
            assert got[0] == "error" and got[2] == duplicate[0] and "duplicate key" in got[1], (form, text)
        elif surrogate is not None:
            assert got[0] == "error" and got[2] == surrogate[0] and "surrogate" in got[1], (form, text)
        else:
            assert got == ("case", value), (form, text)

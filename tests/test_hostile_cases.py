"""Hostile case records, through the CLI on one JSON Lines file: no record is ever lost.

One JSONL file holds, line by line, NaN/Infinity, 10^400 and 10^5000 integers,
numbers with absurd exponents, timestamps without offsets or in other formats,
wrong types at every path of two example cases, deleted keys, 1 MB chat
messages, 100,000 levels of nesting, invalid UTF-8, lone surrogates, empty and
blank lines, a JSON array line, scalars, truncated JSON, ...

``policy-eval eval --format jsonl`` must complete with ``read = evaluated +
rejected``; every non-blank line must come out exactly once, in order, as a
result carrying its line number; a rejected line names its JSON path and says
what is wrong; an evaluated line gets the verdicts a well-formed equivalent gets;
and no line may be an "internal error" (the safety net in batch.py that marks a bug).
Blank lines are not records (JSON Lines readers skip them) and are not reported.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casefiles import without

from policy_eval.cli import run

EXAMPLES = Path(__file__).parent.parent / "examples"
AFTER_SALE = json.loads((EXAMPLES / "after_sales.jsonl").read_text(encoding="utf-8").splitlines()[0])
CHAT = json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8"))
METRICS = json.loads((EXAMPLES / "store_metrics_healthy_store.json").read_text(encoding="utf-8"))
RECEIVED = AFTER_SALE["order"]["received_at"]  # "2023-06-02T16:00:00+08:00"


@dataclass
class Line:
    label: str
    data: bytes
    expect: str  # "evaluated" | "rejected" | "either" | "blank"
    path: str | None = None  # JSON path of the rejection ("rejected"; "either" when rejected)
    fragment: str = ""  # part of the rejection message
    same_as: bytes | None = None  # an evaluated line must get the verdicts of this well-formed record


def dumps(case: Any) -> bytes:
    return json.dumps(case, ensure_ascii=False).encode()


def with_value(case: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(case)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def json_path(path: tuple[Any, ...]) -> str:
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if path:
        yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, path + (i,))


def wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, str):
        return 12345
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return {"0": value[0] if value else None}
    if isinstance(value, dict):
        return [value]
    return None


def raw_number(case: dict[str, Any], path: tuple[Any, ...], literal: str) -> bytes:
    """The case with the value at ``path`` replaced by a raw JSON number literal (which json.dumps cannot write)."""
    marker = "@@NUMBER@@"
    return dumps(with_value(case, path, marker)).replace(f'"{marker}"'.encode(), literal.encode())


def timestamp(text: str) -> bytes:
    return dumps(with_value(AFTER_SALE, ("order", "received_at"), text))


def hostile_lines() -> list[Line]:
    days = ("order", "promised_after_sale_days")
    rate = ("category_mean", "quality_refund_rate")
    canonical = dumps(AFTER_SALE)
    lines = [
        Line("well-formed after_sale", canonical, "evaluated", same_as=canonical),
        Line("empty line", b"", "blank"),
        Line("blank line", b"   \t ", "blank"),
        Line("NaN", raw_number(AFTER_SALE, days, "NaN"), "rejected", "$", "NaN"),
        Line("Infinity", raw_number(AFTER_SALE, days, "Infinity"), "rejected", "$", "Infinity"),
        Line("-Infinity", raw_number(AFTER_SALE, days, "-Infinity"), "rejected", "$", "Infinity"),
        Line("10^400 integer", raw_number(AFTER_SALE, days, "1" + "0" * 400), "either", json_path(days)),
        Line("10^5000 integer", raw_number(AFTER_SALE, days, "1" + "0" * 5000), "rejected", "$", "digits"),
        Line("1e400 where an integer is due", raw_number(AFTER_SALE, days, "1e400"), "rejected", json_path(days),
             "integer"),
        Line("1e400 rate", raw_number(METRICS, rate, "1e400"), "either", json_path(rate)),
        Line("1e+999999999 rate", raw_number(METRICS, rate, "1e+999999999"), "either", json_path(rate)),
        Line("1e-999999999 rate", raw_number(METRICS, rate, "1e-999999999"), "either", json_path(rate)),
        Line("exponent beyond Decimal's range", raw_number(METRICS, rate, "1e1000000000000000000"), "either",
             json_path(rate)),
        Line("money with 60 digits", dumps(with_value(AFTER_SALE, ("request", "refund_amount"), "9" * 60)),
             "either", "$.request.refund_amount"),
        Line("money as a JSON number", raw_number(AFTER_SALE, ("order", "paid_amount"), "1e400"), "either",
             "$.order.paid_amount"),
        Line("no UTC offset", timestamp(RECEIVED[:-6]), "either", "$.order.received_at", same_as=canonical),
        Line("space instead of T", timestamp(RECEIVED.replace("T", " ")), "either", "$.order.received_at",
             same_as=canonical),
        Line("Z offset", timestamp("2023-06-02T08:00:00Z"), "evaluated", same_as=canonical),
        Line("other offset", timestamp("2023-06-02T03:00:00-05:00"), "evaluated", same_as=canonical),
        Line("fractional seconds", timestamp(RECEIVED[:-6] + ".000000+08:00"), "either", "$.order.received_at",
             same_as=canonical),
        Line("nanoseconds", timestamp(RECEIVED[:-6] + ".000000000+08:00"), "either", "$.order.received_at"),
        Line("date only", timestamp(RECEIVED[:10]), "either", "$.order.received_at"),
        Line("slashes", timestamp("2023/06/02 16:00"), "rejected", "$.order.received_at", "date-time"),
        Line("US format", timestamp("06/02/2023 4:00 PM"), "rejected", "$.order.received_at", "date-time"),
        Line("leap second", timestamp("2023-06-02T23:59:60+08:00"), "rejected", "$.order.received_at",
             "date-time"),
        Line("month 13", timestamp("2023-13-02T16:00:00+08:00"), "rejected", "$.order.received_at", "date-time"),
        Line("offset +25:00", timestamp("2023-06-02T16:00:00+25:00"), "rejected", "$.order.received_at",
             "date-time"),
        Line("ISO week date", timestamp("2023-W22-5T16:00:00+08:00"), "either", "$.order.received_at",
             same_as=canonical),
        Line("basic format", timestamp("20230602T160000+0800"), "either", "$.order.received_at",
             same_as=canonical),
        Line("epoch seconds", dumps(with_value(AFTER_SALE, ("order", "received_at"), 1685692800)), "rejected",
             "$.order.received_at", "string"),
        Line("empty timestamp", timestamp(""), "rejected", "$.order.received_at", "date-time"),
        Line("year 9999", timestamp("9999-12-31T23:59:59+08:00"), "either", "$.order.received_at"),
        Line("year 1", timestamp("0001-01-01T00:00:00+14:00"), "either", "$.order.received_at"),
        Line("1 MB chat message", dumps(with_value(CHAT, ("messages", 1, "text"), "亲" * 350_000)), "evaluated"),
        Line("1 MB chat message of digits", dumps(with_value(CHAT, ("messages", 1, "text"), "1" * 1_000_000)),
             "evaluated"),
        Line("100,000 nested arrays", canonical[:-1] + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
             "rejected", "$", "nested"),
        Line("100,000 nested objects", b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "rejected", "$", "nested"),
        Line("invalid UTF-8", canonical.replace("纯棉".encode(), b"\xff\xfe"), "rejected", "$", "UTF-8"),
        Line("Latin-1", json.dumps(with_value(AFTER_SALE, ("order", "goods_title"), "café")).encode()
             .replace(b"caf\\u00e9", b"caf\xe9"), "rejected", "$", "UTF-8"),
        Line("NUL character", canonical.replace(b'"JL-001"', b'"JL\\u0000001"'), "evaluated"),
        Line("BOM inside the file", b"\xef\xbb\xbf" + canonical, "either", "$"),
        Line("CRLF ending", canonical + b"\r", "evaluated", same_as=canonical),
        Line("JSON array line", b"[" + canonical + b"]", "rejected", "$", "got an array"),
        Line("null", b"null", "rejected", "$", "got null"),
        Line("string", b'"after_sale"', "rejected", "$", "got a string"),
        Line("number", b"42", "rejected", "$", "got a number"),
        Line("truncated", canonical[: len(canonical) // 2], "rejected", "$", "invalid JSON"),
        Line("two objects on a line", canonical + b" " + canonical, "rejected", "$", "invalid JSON"),
        Line("trailing comma", canonical[:-1] + b",}", "rejected", "$", "invalid JSON"),
        Line("single quotes", b"{'kind': 'after_sale'}", "rejected", "$", "invalid JSON"),
        Line("unknown kind", dumps({**AFTER_SALE, "kind": "refund"}), "rejected", "$.kind", "kind"),
        Line("kind is an object", dumps({**AFTER_SALE, "kind": {"$ne": None}}), "rejected", "$.kind", "kind"),
        Line("no kind", dumps({k: v for k, v in AFTER_SALE.items() if k != "kind"}), "rejected", "$.kind", "kind"),
        Line("empty object", b"{}", "rejected", "$.kind", "kind"),
        Line("unknown top-level field", dumps({**AFTER_SALE, "__proto__": {"x": 1}}), "rejected", "$",
             "__proto__"),
    ]
    for case, name in ((AFTER_SALE, "after_sale"), (CHAT, "chat")):
        for path, value in leaves(case):
            if path[0] == "kind":
                continue
            lines.append(Line(f"{name}: wrong type at {json_path(path)}", dumps(with_value(case, path, wrong_type(value))),
                              "rejected", json_path(path)))
            lines.append(Line(f"{name}: null at {json_path(path)}", dumps(with_value(case, path, None)), "either",
                              json_path(path)))
            lines.append(Line(f"{name}: {json_path(path)} deleted", dumps(without(case, path)), "either",
                              json_path(path[:-1])))
    return lines


@pytest.fixture(scope="module")
def lines() -> list[Line]:
    return hostile_lines()


@pytest.fixture(scope="module")
def run_result(lines: list[Line], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("hostile-cases")
    path = folder / "hostile.jsonl"
    path.write_bytes(b"\n".join(line.data for line in lines) + b"\n")
    reference = folder / "reference.jsonl"
    references = sorted({line.same_as for line in lines if line.same_as is not None})
    reference.write_bytes(b"\n".join(references) + b"\n")
    out, err = io.StringIO(), io.StringIO()
    output = folder / "out.jsonl"
    code = run(["eval", "--format", "jsonl", "--detail", "full", "-o", str(output), str(path)], stdout=out,
               stderr=err)
    ref_out = folder / "ref.jsonl"
    assert run(["eval", "--format", "jsonl", "--detail", "full", "-o", str(ref_out), str(reference)], stdout=io.StringIO(),
               stderr=io.StringIO()) in (0, 1)
    by_data = {}
    for data, text in zip(references, ref_out.read_text(encoding="utf-8").splitlines(), strict=True):
        by_data[data] = json.loads(text)
    return {"code": code, "stderr": err.getvalue(), "output": output, "input": path, "references": by_data}


def _results(output: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in output.read_text(encoding="utf-8").splitlines()]


def test_batch_completes_and_accounts_for_every_line(lines: list[Line], run_result: dict[str, Any]) -> None:
    assert run_result["code"] == 1, run_result["stderr"]  # records were rejected
    results = _results(run_result["output"])
    expected_numbers = [i for i, line in enumerate(lines, 1) if line.expect != "blank"]
    assert [r["record"] for r in results] == expected_numbers
    evaluated = sum(1 for r in results if r["status"] == "evaluated")
    rejected = sum(1 for r in results if r["status"] == "rejected")
    assert evaluated + rejected == len(results) == len(expected_numbers)
    totals = re.search(r"(\d+) records? read: (\d+) evaluated, (\d+) rejected", run_result["stderr"])
    assert totals is not None, run_result["stderr"]
    assert tuple(map(int, totals.groups())) == (len(expected_numbers), evaluated, rejected)


def test_no_line_is_an_internal_error(lines: list[Line], run_result: dict[str, Any]) -> None:
    bugs = [(r["record"], lines[r["record"] - 1].label, r["error"]["message"][:200])
            for r in _results(run_result["output"]) if r.get("error") and "internal error" in r["error"]["message"]]
    assert not bugs, "\n".join(map(str, bugs))


def test_each_line_gets_a_clear_error_or_a_correct_verdict(lines: list[Line], run_result: dict[str, Any]) -> None:
    results = {r["record"]: r for r in _results(run_result["output"])}
    problems = []
    for number, line in enumerate(lines, 1):
        if line.expect == "blank":
            continue
        result = results[number]
        error = result.get("error")
        if error is not None:
            assert error["record"] == number and error["source"] == str(run_result["input"])
            if line.expect == "evaluated":
                problems.append(f"{number} {line.label}: rejected: {error['json_path']}: {error['message'][:120]}")
            elif line.path is not None and not (error["json_path"] == line.path
                                                 or line.path.startswith(error["json_path"] + ".")
                                                 or line.path.startswith(error["json_path"] + "[")
                                                 or (line.path == "$" and error["json_path"] == "$")):
                problems.append(f"{number} {line.label}: rejected at {error['json_path']}, expected {line.path}: "
                                f"{error['message'][:120]}")
            elif line.fragment and line.fragment.lower() not in error["message"].lower():
                problems.append(f"{number} {line.label}: message {error['message'][:160]!r} does not say "
                                f"{line.fragment!r}")
        else:
            if line.expect == "rejected":
                problems.append(f"{number} {line.label}: evaluated, expected a rejection at {line.path}")
            elif line.same_as is not None:
                want = _verdicts(run_result["references"][line.same_as])
                if _verdicts(result) != want:
                    problems.append(f"{number} {line.label}: verdicts differ from the well-formed record")
    assert not problems, "\n".join(problems)


def _verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The verdicts of a result; ``inputs`` echoes the raw case values, which differ by construction."""
    return [{k: v for k, v in r.items() if k != "inputs"} for r in result["results"]]


def test_rejections_speak_json_not_python(lines: list[Line], run_result: dict[str, Any]) -> None:
    """A rejection message is read by whoever produced the record: it should show the JSON value
    (``1E+400``), not Python internals (``Decimal('1E+400')``, ``sys.set_int_max_str_digits()``)."""
    python = ("Decimal(", "set_int_max_str_digits", "Traceback", "<class ")
    problems = [f"{r['record']} {lines[r['record'] - 1].label}: {r['error']['message'][:160]!r}"
                for r in _results(run_result["output"])
                if r.get("error") and any(p in r["error"]["message"] for p in python)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_an_exponent_beyond_decimal_range_does_not_end_the_run(suffix: str, tmp_path: Path) -> None:
    """Found by fuzz/fuzz_cases.py: ``1e1000000000000000000`` (25 bytes) makes ``Decimal()`` raise
    decimal.InvalidOperation inside json.loads (parse_float=Decimal) -- an ArithmeticError, not the ValueError
    cases.py catches. In JSON Lines the record becomes an "internal error"; in a JSON document (a .json file,
    or stdin sniffed as one) the exception escapes the reader and the CLI dies with a traceback."""
    good = dumps(AFTER_SALE).decode()
    bad = raw_number(METRICS, ("category_mean", "quality_refund_rate"), "1e1000000000000000000").decode()
    source = tmp_path / f"cases{suffix}"
    source.write_text(f"[{good}, {bad}, {good}]\n" if suffix == ".json" else f"{good}\n{bad}\n{good}\n",
                      encoding="utf-8")
    output = tmp_path / "out.jsonl"
    err = io.StringIO()
    code = run(["eval", "--format", "jsonl", "-o", str(output), str(source)], stdout=io.StringIO(), stderr=err)
    assert code == 1, err.getvalue()
    results = _results(output)
    assert all("internal error" not in (r.get("error") or {}).get("message", "") for r in results), results
    assert re.search(r"\d+ records? read: \d+ evaluated, [1-9]\d* rejected", err.getvalue()), err.getvalue()


def surrogate_lines() -> list[Line]:
    canonical = dumps(AFTER_SALE)
    return [
        Line("well-formed", canonical, "evaluated"),
        Line("lone surrogate in case_id", canonical.replace(b'"JL-001"', b'"\\ud800"'), "either", "$.case_id"),
        Line("lone surrogate in a message", dumps(CHAT).replace("亲，在的".encode(), b"\\udc00"), "either",
             "$.messages[1].text"),
        Line("well-formed", canonical, "evaluated"),
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_lone_surrogates_do_not_lose_the_batch(fmt: str, tmp_path: Path) -> None:
    """``"\\ud800"`` is valid JSON text but no Unicode string: Python reads it as a lone surrogate, which
    the UTF-8 report cannot hold. The reporter raised UnicodeEncodeError and the whole batch was lost
    (traceback, no report). The record must be rejected at its path, or reported with the character escaped.
    """
    lines = surrogate_lines()
    source = tmp_path / "surrogates.jsonl"
    source.write_bytes(b"\n".join(line.data for line in lines) + b"\n")
    output = tmp_path / f"out.{fmt}"
    err = io.StringIO()
    code = run(["eval", "--format", fmt, "-o", str(output), str(source)], stdout=io.StringIO(), stderr=err)
    assert code in (0, 1), err.getvalue()
    text = output.read_text(encoding="utf-8")
    results = ([json.loads(t) for t in text.splitlines()] if fmt == "jsonl" else json.loads(text)["cases"])
    assert [r["record"] for r in results] == [1, 2, 3, 4]
    for line, result in zip(lines, results, strict=True):
        if result.get("error"):
            assert line.path is not None and result["error"]["json_path"] in (line.path, "$"), result["error"]
            assert "internal error" not in result["error"]["message"]
    assert "4 records read" in err.getvalue()


# --- decoded records handed to the processor (loader plugins, the embedding API) -------------------------

@pytest.fixture(scope="module")
def processor() -> Any:
    from policy_eval.run.batch import BatchOptions, Processor

    return Processor(BatchOptions())


@pytest.mark.parametrize("payload", [None, [], [AFTER_SALE], 42], ids=["null", "empty-array", "array", "number"])
def test_a_decoded_record_that_is_not_an_object_is_rejected(processor: Any, payload: Any) -> None:
    """A loader plugin may yield something that is not an object; that must be a rejection
    ("a case must be a JSON object"), not an internal error (it was: AttributeError in an enricher calling payload.get before the object check)."""
    result = processor.process(("loader", 7, payload))
    assert result.record == 7 and result.error is not None
    assert "internal error" not in result.error["message"], result.error["message"]
    assert "object" in result.error["message"]


@pytest.mark.parametrize("value", ["NaN", "sNaN", "-NaN"])
def test_a_decoded_decimal_nan_is_rejected(processor: Any, value: str) -> None:
    """``Decimal('NaN')`` in a decoded record (the JSON reader refuses it, a loader plugin or an embedder
    may not): jsonschema's ``minimum`` compares it and decimal raises InvalidOperation, which ended in the
    internal-error safety net."""
    from decimal import Decimal

    case = json.loads(json.dumps(METRICS), parse_float=Decimal)
    case["category_mean"]["quality_refund_rate"] = Decimal(value)
    result = processor.process(("loader", 1, case))
    assert result.error is None or "internal error" not in result.error["message"], result.error["message"]
    if result.error is not None:
        assert result.error["json_path"] == "$.category_mean.quality_refund_rate"


@pytest.mark.parametrize("detail", ["full", "findings"])
@pytest.mark.parametrize(("example", "place"), [
    ("after_sale_fruit_refund_no_reply.json", ("order", "promised_after_sale_days")),  # echoed in the JSON
    ("after_sale_fruit_refund_no_reply.json", ("order",)),  # "expected an object, got ..."
    ("chat_offplatform_diversion.json", ("messages",)),  # "expected a list, got ..."
])
def test_an_embedders_integer_too_long_to_write_is_named_not_an_error(detail: str, example: str,
                                                                      place: tuple[str, ...]) -> None:
    """With validation off (``Rulebook.load(validate=False)``) a case may hold an integer of more digits than Python
    turns into text (``sys.get_int_max_str_digits``): messages name it and the JSON shows it as its digits'
    scientific text. Before, ``repr`` in a message and the JSON writer raised ``ValueError`` out of
    ``evaluate`` (found by probing the API with hostile values, 2026-12-06)."""
    from policy_eval.api import Rulebook

    case = json.loads((Path(__file__).resolve().parent.parent / "examples" / example).read_text(encoding="utf-8"))
    node = case
    for key in place[:-1]:
        node = node[key]
    node[place[-1]] = 10 ** 5000
    result = Rulebook.load(validate=False).evaluate(case, detail=detail)
    text = result.to_json()
    assert json.loads(text)["case_id"] == case["case_id"]
    for verdict in result.results:
        assert "Exceeds the limit" not in (verdict.error or "") + (verdict.reason or "")

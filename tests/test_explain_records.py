"""A new user's findings about ``policy-eval explain``:

1. an unknown read of the case is shown as what it is: ``absent`` (the key is left out: the event has not
   happened) or ``unknown (null)`` (an explicit null, or under one), not ``unknown`` for both
   (docs/language.md, "Absent and null"); the JSON outputs keep the value ``unknown``;
2. one record of a JSON Lines file, a JSON array or a folder is picked by its case_id (``--case ID``) or by
   where it is (``FILE:LINE``, as eval names it, ``FILE:LINE [item N]`` for an item of an array); what picks
   nothing, or several, is an error naming what is there;
3. an item of a JSON array is named by its line and item number (``file:LINE [item N]``), not its number.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_eval.cli import run

ROOT = Path(__file__).resolve().parent.parent
FRUIT = ROOT / "examples" / "after_sale_fruit_refund_no_reply.json"
LINES = ROOT / "examples" / "after_sales.jsonl"
RULE = "after-sales/refund-only-handling-limit"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _steps(text: str) -> dict[str, str]:
    """The explanation steps of a text report: expression -> value shown."""
    out = {}
    for line in text.splitlines():
        if line.startswith("        ") and "  =  " in line:
            expr, value = line.strip().split("  =  ", 1)
            out[expr] = value
    return out


def _pending(tmp_path: Path, **request: Any) -> Path:
    """The fruit example still waiting for the merchant, with ``request`` fields set (None: null)."""
    case = json.loads(FRUIT.read_text(encoding="utf-8"))
    del case["request"]["refund_succeeded_at"]
    case["request"]["status"] = "pending_merchant"
    case["request"].update(request)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    return path


# --- 1. absent and null -----------------------------------------------------------------------------------

def test_a_path_left_out_of_the_case_is_shown_absent(fast_load: None) -> None:
    code, out, _ = _run("explain", str(FRUIT), "--rule", RULE)
    assert code == 1
    steps = _steps(out)
    assert steps["request.withdrawn_at"] == "absent"
    assert steps["request.merchant_response"] == "absent"
    assert steps["exists(request.withdrawn_at)"] == "false"
    assert "request.withdrawn_at  =  unknown" not in out


def test_an_explicit_null_is_shown_unknown_null(fast_load: None, tmp_path: Path) -> None:
    code, out, _ = _run("explain", str(_pending(tmp_path, withdrawn_at=None)), "--rule", RULE)
    assert code == 0 and "UNDETERMINED    " + RULE in out
    steps = _steps(out)
    assert steps["request.withdrawn_at"] == "unknown (null)"
    assert steps["request.merchant_response"] == "absent"  # the same case: left out
    # what is computed from an unknown stays unknown: only reads of the case say which
    assert steps["exists(request.withdrawn_at)"] == "unknown"
    assert steps["request.withdrawn_at <= deadline"] == "unknown"


def test_a_field_under_a_null_object_is_shown_unknown_null(fast_load: None, tmp_path: Path) -> None:
    _, out, _ = _run("explain", str(_pending(tmp_path, merchant_response=None)), "--rule", RULE)
    steps = _steps(out)
    assert steps["request.merchant_response"] == "unknown (null)"
    assert steps["request.merchant_response.at"] == "unknown (null)"
    assert steps["request.withdrawn_at"] == "absent"


def test_json_outputs_keep_the_value_unknown(fast_load: None, tmp_path: Path) -> None:
    """explain --format json and eval --explain are the result record (schemas/result.schema.json): the value
    of a read is the language's ``unknown`` there, absent or null (``missing`` and the case tell which)."""
    path = _pending(tmp_path, withdrawn_at=None)
    _, out, _ = _run("explain", str(path), "--rule", RULE, "--format", "json")
    steps = {s["expr"]: s["value"] for s in json.loads(out)["results"][0]["explanation"]}
    assert steps["request.withdrawn_at"] == steps["request.merchant_response"] == "unknown"
    _, out, _ = _run("eval", "-f", "jsonl", "--detail", "full", "--explain", "--rule", RULE, str(path))
    steps = {s["expr"]: s["value"] for s in json.loads(out.splitlines()[0])["results"][0]["explanation"]}
    assert steps["request.withdrawn_at"] == steps["request.merchant_response"] == "unknown"


# --- 2. one record of several ---------------------------------------------------------------------------

def _head(out: str) -> str:
    return out.splitlines()[0].split(" — rulebook ")[0]


def test_a_record_of_json_lines_is_picked_by_case_id(fast_load: None) -> None:
    code, out, err = _run("explain", str(LINES), "--case", "JL-007", "--rule", RULE)
    assert code in (0, 1), err
    assert _head(out) == f"case JL-007 (after_sale, {LINES}:7)"


def test_a_record_of_json_lines_is_picked_by_line(fast_load: None) -> None:
    code, out, err = _run("explain", f"{LINES}:5", "--rule", RULE)
    assert code in (0, 1), err
    assert _head(out) == f"case JL-005 (after_sale, {LINES}:5)"


def _array(tmp_path: Path, n: int = 3) -> tuple[Path, list[int]]:
    """The first ``n`` records of examples/after_sales.jsonl as a pretty-printed JSON array, and the line each
    item starts on."""
    records = [json.loads(line) for line in LINES.read_text(encoding="utf-8").splitlines()[:n]]
    path = tmp_path / "cases.json"
    text = json.dumps(records, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    starts = [i for i, line in enumerate(text.splitlines(), 1) if line == "  {"]
    assert len(starts) == n
    return path, starts


def test_an_item_of_a_json_array_is_picked_by_its_line_or_its_case_id(fast_load: None, tmp_path: Path) -> None:
    path, starts = _array(tmp_path)
    place = f"{path}:{starts[1]} [item 2]"  # as eval names it
    _, listed, _ = _run("eval", str(path))
    assert f"JL-002 (after_sale, {place})" in listed
    for argv in ([f"{path}:{starts[1]}"], [place], [str(path), "--case", "JL-002"]):
        code, out, err = _run("explain", *argv, "--rule", RULE)
        assert code in (0, 1), (argv, err)
        assert _head(out) == f"case JL-002 (after_sale, {place})", argv


def test_several_records_without_a_pick_name_what_is_there(fast_load: None) -> None:
    code, _, err = _run("explain", str(LINES))
    assert code == 2
    assert "holds 20" in err and f"JL-001 at {LINES}:1" in err and "--case ID or FILE:LINE" in err


def test_an_id_that_matches_nothing_names_the_ids_there(fast_load: None) -> None:
    code, _, err = _run("explain", str(LINES), "--case", "JL-07")
    assert code == 2
    assert "none of its 20 records has case_id 'JL-07'" in err
    assert f"JL-001 at {LINES}:1, JL-002 at {LINES}:2" in err and "did you mean" in err and "'JL-007'" in err


def test_a_line_that_matches_nothing_names_the_records_there(fast_load: None, tmp_path: Path) -> None:
    code, _, err = _run("explain", f"{LINES}:25")
    assert code == 2 and "no record of" in err and "starts at line 25" in err and f"JL-001 at {LINES}:1" in err
    path, starts = _array(tmp_path)
    code, _, err = _run("explain", f"{path}:{starts[1] + 1}")  # inside item 2, not where it starts
    assert code == 2 and f"JL-002 at {path}:{starts[1]} [item 2]" in err
    code, _, err = _run("explain", f"{path}:{starts[1]} [item 3]")  # the line of item 2
    assert code == 2 and f"starts at line {starts[1]} [item 3]" in err


def test_an_id_held_by_several_records_is_an_error_naming_them(fast_load: None, tmp_path: Path) -> None:
    lines = LINES.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join([lines[0], lines[2], lines[1], lines[2]]) + "\n", encoding="utf-8")
    code, _, err = _run("explain", str(path), "--case", "JL-003")
    assert code == 2
    assert f"case_id 'JL-003' is held by 2 records of {path}: {path}:2, {path}:4" in err
    code, out, _ = _run("explain", f"{path}:4", "--rule", RULE)
    assert _head(out) == f"case JL-003 (after_sale, {path}:4)"


def test_a_record_is_picked_from_a_folder_by_case_id(fast_load: None) -> None:
    code, out, err = _run("explain", str(ROOT / "examples"), "--case", "JL-003", "--rule", RULE)
    assert code in (0, 1), err
    assert _head(out) == f"case JL-003 (after_sale, {LINES}:3)"
    code, _, err = _run("explain", f"{ROOT / 'examples'}:3")
    assert code == 2 and "is a folder" in err


def test_a_line_and_an_id_together_are_refused(fast_load: None) -> None:
    code, _, err = _run("explain", f"{LINES}:5", "--case", "JL-005")
    assert code == 2 and "give one" in err


def test_a_policy_test_is_picked_by_its_line(fast_load: None, tmp_path: Path) -> None:
    tests = tmp_path / "t.yaml"
    case = json.loads((ROOT / "examples" / "appeal_late_judgement_appeal.json").read_text(encoding="utf-8"))
    tests.write_text("tests:\n  - name: late appeal\n    case: " + json.dumps(case, ensure_ascii=False)
                     + "\n    expect: {}\n  - name: again\n    case: " + json.dumps(case, ensure_ascii=False)
                     + "\n    expect: {}\n", encoding="utf-8")
    _, out, _ = _run("explain", f"{tests}:5")
    assert out.splitlines()[0].startswith(f"policy test 'again' (appeal, {tests}:5) — rulebook ")
    code, _, err = _run("explain", f"{tests}:3")
    assert code == 2 and "start at lines 2, 5" in err


def test_picking_by_line_reads_no_further_than_the_record() -> None:
    """Streaming: the record picked by its line is the last one read (a huge file is not read to its end)."""
    from policy_eval.cli.commands.explain import _pick

    def records() -> Iterator[Any]:
        for n in (1, 2, 3):
            yield "big.jsonl", n, {"case_id": f"C-{n}"}
        raise AssertionError("read past the record picked")

    assert _pick(records(), "big.jsonl", None, 2, None)[1] == 2


# --- 3. an item of a JSON array is named by its line ------------------------------------------------------

def test_the_header_names_an_array_item_by_line_and_item(fast_load: None, tmp_path: Path) -> None:
    path, starts = _array(tmp_path, 1)
    assert starts == [2]
    code, out, err = _run("explain", str(path), "--rule", RULE)
    assert code in (0, 1), err
    assert _head(out) == f"case JL-001 (after_sale, {path}:2 [item 1])"


@pytest.mark.parametrize("validate", [True, False])
def test_a_rejected_array_item_is_named_by_line_and_item(fast_load: None, tmp_path: Path, validate: bool) -> None:
    path, _ = _array(tmp_path, 1)
    records = json.loads(path.read_text(encoding="utf-8"))
    records[0]["kind"] = "nope"
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    code, out, _ = _run("explain", str(path), *(() if validate else ("--no-validate",)))
    assert code == 1
    assert out.startswith(f"REJECTED {path}:2 [item 1]: $.kind"), out

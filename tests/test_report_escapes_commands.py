"""No case or policy text can forge a line of, or send a terminal escape through, the text output of
``due``, ``test``, ``diff``, ``rules``, ``check`` and ``lint`` (issue 13 item 15; ``eval`` and ``explain`` are
tests/test_report_escapes.py).

Before: these commands printed case ids, request ids quoted by messages, test names, rule titles, clauses,
file names and rejection messages raw, so "\\n" wrote a line of its own and ESC sequences or bidi overrides
reached the terminal. Now each goes through policy_eval.errors.printable, as eval's report does; the JSON
formats keep the exact value.
"""

from __future__ import annotations

import io
import json
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_eval import cli
from policy_eval.errors import PolicyLoadError

ROOT = Path(__file__).resolve().parents[1]
FORGED = "\nOK FORGED\x1b[2J\x1b]0;title\x07\u202eevil\u2066\r\u2028\x85"
ESCAPED = "\\nOK FORGED\\x1b[2J\\x1b]0;title\\x07\\u202eevil\\u2066\\r\\u2028\\x85"
# the same, as a YAML double-quoted scalar writes it
YAML_FORGED = "\\nOK FORGED\\e[2J\\e]0;title\\a\\u202eevil\\u2066\\r\\L\\N"


def _unprintable(text: str) -> list[str]:
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")]


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def _clean(text: str) -> None:
    """No raw control character, and no line that starts with the forged text."""
    assert _unprintable(text) == []
    assert not any(line.startswith("OK FORGED") for line in text.splitlines())


def _case(case_id: str = "AS" + FORGED) -> dict[str, Any]:
    first = (ROOT / "examples" / "due" / "open_requests.jsonl").read_text(encoding="utf-8").splitlines()[0]
    case: dict[str, Any] = json.loads(first)
    case["case_id"] = case_id
    return case


def _policies(tmp_path: Path) -> Path:
    """The after-sales v2 policy with a rule title and a parameter's clause holding the forged text."""
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (ROOT / "policies" / "after_sales" / "v2.yaml").read_text(encoding="utf-8")
    title = "    title: 退货退款流程仅适用于已发货的非特殊商品订单\n"
    clause = "    clause: 售后服务规则 1.2 (特殊商品包括水果、生鲜、虚拟商品、汽车及平台不时规定的其它商品)\n"
    assert title in text and clause in text
    text = text.replace(title, f'    title: "T{YAML_FORGED}"\n').replace(clause, f'    clause: "C{YAML_FORGED}"\n')
    (folder / "v2.yaml").write_text(text, encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------------------------------- due


def test_due_escapes_case_ids_and_rejections(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    rejected = {"kind": "after_sale", "case_id": "R" + FORGED}  # no order: rejected by the schema
    cases.write_text(json.dumps(_case()) + "\n" + json.dumps(rejected) + "\n", encoding="utf-8")
    code, out, _ = _run(["due", "--all", str(cases)])
    assert code == 1
    _clean(out)
    assert f"AS{ESCAPED}  after-sales/refund-only-handling-limit" in out
    assert len([line for line in out.splitlines() if line.startswith("REJECTED ")]) == 1
    code, out, _ = _run(["due", "-f", "jsonl", str(cases)])
    assert json.loads(out.split("\n")[0])["case_id"] == "AS" + FORGED


# --------------------------------------------------------------------------------------------------- test


def test_test_escapes_test_names_failures_and_deciding_values(tmp_path: Path) -> None:
    case = json.loads((ROOT / "examples" / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8"))
    case["case_id"] = "PDD" + FORGED
    case["request"]["id"] = "AS" + FORGED  # quoted by the violated rule's message
    tests = {"tests": [{"name": "N" + FORGED, "case": case,
                        # wrong on purpose: the failure quotes the message, which quotes the request id
                        "expect": {"after-sales/refund-only-handling-limit": {"outcome": "complied",
                                                                               "message": "no such text"}}}]}
    path = tmp_path / "forged_test.yaml"
    path.write_text(yaml.safe_dump(tests, allow_unicode=True), encoding="utf-8")
    code, out, _ = _run(["test", "-v", str(path)])
    assert code == 1
    _clean(out)
    assert f"___ N{ESCAPED} ___" in out and f"FAIL N{ESCAPED}" in out
    assert "refund-only-handling-limit: expected complied, got violated" in out
    assert "was decided by:" in out


# --------------------------------------------------------------------------------------------------- diff


def test_diff_escapes_case_ids_and_rejections(tmp_path: Path) -> None:
    for side, name in (("old", "v1.yaml"), ("new", "v2.yaml")):
        (tmp_path / side).mkdir()
        shutil.copy(ROOT / "policies" / "after_sales" / name, tmp_path / side / name)
    # a shipped car: eligible for return-and-refund under v1's special goods, not under v2's (test_diff.py)
    car = json.loads((ROOT / "examples" / "after_sale_car_return_refund.json").read_text(encoding="utf-8"))
    car["case_id"] = "CAR" + FORGED
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(car) + "\n" + json.dumps({"kind": "after_sale", "case_id": "R" + FORGED}) + "\n",
                     encoding="utf-8")
    code, out, _ = _run(["diff", "--latest", str(tmp_path / "old"), str(tmp_path / "new"), str(cases)])
    assert code == 1  # a record was rejected
    _clean(out)
    assert f"CAR{ESCAPED}" in out
    assert len([line for line in out.splitlines() if line.startswith("REJECTED ")]) == 1
    code, out, _ = _run(["diff", "--latest", "--format", "json", str(tmp_path / "old"), str(tmp_path / "new"),
                         str(cases)])
    assert ["CAR" + FORGED] in [t["cases"] for t in json.loads(out)["transitions"]]  # the exact id


# -------------------------------------------------------------------------------------------------- rules


@pytest.mark.parametrize("extra", [[], ["--inputs"], ["--format", "markdown"], ["--params"]])
def test_rules_escapes_titles_and_clauses(tmp_path: Path, extra: list[str]) -> None:
    code, out, err = _run(["rules", "-p", str(_policies(tmp_path)), *extra])
    assert code == 0, err
    _clean(out)
    if extra == ["--format", "markdown"]:  # a table cell: whitespace runs (\n, \r, \u2028, \x85) as one space
        assert "T OK FORGED\\x1b[2J\\x1b]0;title\\x07\\u202eevil\\u2066 |" in out
    else:
        assert (f"C{ESCAPED}" if extra == ["--params"] else f"T{ESCAPED}") in out


def test_rules_json_keeps_the_exact_title(tmp_path: Path) -> None:
    code, out, _ = _run(["rules", "-p", str(_policies(tmp_path)), "--format", "json"])
    assert "T" + FORGED in [row["title"] for row in json.loads(out)]


# --------------------------------------------------------------------------------------------- check, lint


def _bad_folder(tmp_path: Path) -> Path:
    """A policy folder whose NAME holds the forged text (file names come from whoever wrote the policies),
    with one policy that does not load."""
    folder = tmp_path / ("pol" + FORGED)
    folder.mkdir()
    (folder / "bad.yaml").write_text("policy:\n  id: x\n  nonsense: [\n", encoding="utf-8")
    return folder


def test_check_escapes_locations_and_messages(tmp_path: Path) -> None:
    code, _, err = _run(["check", "-p", str(_bad_folder(tmp_path))])
    assert code == 2
    _clean(err)
    assert f"pol{ESCAPED}" in err and "bad.yaml:" in err


def test_a_policy_error_renders_its_message_on_one_line() -> None:
    """A message may quote policy or case text raw: the rendering escapes it, to_dict keeps it."""
    e = PolicyLoadError("bad value 'x" + FORGED + "'", file="p\x1b.yaml", line=3, column=4, source_line="key: v")
    first = str(e).splitlines()[0]
    assert first == f"p\\x1b.yaml:3:4: bad value 'x{ESCAPED}'"
    assert len(str(e).splitlines()) == 3  # the message, the snippet, the caret
    assert e.to_dict()["message"] == "bad value 'x" + FORGED + "'"


def test_lint_escapes_file_names(tmp_path: Path) -> None:
    folder = tmp_path / ("pol" + FORGED)
    shutil.copytree(_policies(tmp_path), folder)
    code, out, err = _run(["lint", str(folder)])
    assert code in (0, 1), err
    _clean(out)
    assert f"pol{ESCAPED}" in out
    code, out, _ = _run(["lint", "--format", "json", str(folder)])
    assert any(("pol" + FORGED) in f["file"] for f in json.loads(out)["findings"])


def test_an_empty_run_names_what_a_folder_holds_escaped(tmp_path: Path) -> None:
    """``no case record found: DIR holds ... other file(s) (1 .x<ESC>...)``: a file suffix is anyone's text."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / ("notes.x" + FORGED.replace("\n", "").replace("\r", "").replace("\u2028", "").replace("\x85", "")))\
        .write_text("x", encoding="utf-8")
    code, _, err = _run(["eval", str(folder)])
    assert code == 1 and "no case record found" in err
    _clean(err)
    assert "\\x1b[2J" in err

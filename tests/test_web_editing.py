"""The editor page's quick fixes, lint warnings and formatting, through Starlette's test client (/api/check,
/api/format). The fix a check offers, applied as the page applies it, makes the edit load; the warnings are
lint's for the edited text; formatting gives fmt's text, or the located reason it refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from policy_eval.authoring.fmt import format_text  # noqa: E402
from policy_eval.resources import bundled_policies  # noqa: E402
from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.workbench import MAX_UPLOAD, Workbench  # noqa: E402

FILE = "after_sales/v2.yaml"


@pytest.fixture()
def served(tmp_path: Path) -> tuple[TestClient, Path]:
    """A workbench serving a copy of the bundled policies, and the copy."""
    folder = tmp_path / "policies"
    shutil.copytree(bundled_policies(), folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return TestClient(create_app(Workbench.open(folder))), folder


def _apply(text: str, fix: dict) -> str:
    """As the page's script applies a fix: on the 1-based line, code points [start, end) replaced."""
    lines = text.split("\n")
    line = lines[fix["line"] - 1]
    lines[fix["line"] - 1] = line[:fix["start"]] + fix["text"] + line[fix["end"]:]
    return "\n".join(lines)


@pytest.mark.parametrize(("old", "new", "right"), [
    ("exists(request.platform", "exsts(request.platform", "exists"),
    ("order.shipped_at", "order.shiped_at", "shipped_at"),
    (" and not special_order", " AND not special_order", "and"),
    (" and not special_order", " ＆＆ not special_order", None),  # (no full-width '&': no fix is sure)
])
def test_a_check_offers_the_fix_and_the_fixed_edit_loads(served: tuple[TestClient, Path], old: str, new: str,
                                                         right: str | None) -> None:
    client, folder = served
    text = (folder / FILE).read_text(encoding="utf-8")
    at = text.index(old, text.index("rules:"))
    edited = text[:at] + new + text[at + len(old):]
    [error] = client.post("/api/check", json={"file": FILE, "text": edited}).json()["errors"]
    if right is None:
        assert error["fix"] is None
        return
    assert error["fix"]["text"] == right and error["fix"]["line"] == error["line"]
    fixed = _apply(edited, error["fix"])
    assert fixed == text
    out = client.post("/api/check", json={"file": FILE, "text": fixed}).json()
    assert out["errors"] == [] and out["warnings"] == []  # (the bundled rulebook has no lint warning)


def test_a_fix_is_offered_only_in_the_edited_file(tmp_path: Path) -> None:
    # v2 revises v1 and uses its definition for_v2: renamed in v1 (edited), the error and its fix are v2's
    folder = tmp_path / "policies" / "lintdefs"
    shutil.copytree(Path(__file__).parent / "data" / "lint" / "definitions", folder)
    client = TestClient(create_app(Workbench.open(folder.parent)))
    text = (folder / "v1.yaml").read_text(encoding="utf-8")
    out = client.post("/api/check", json={"file": "lintdefs/v1.yaml", "text": text.replace("for_v2:", "for_v3:")})
    [error] = out.json()["errors"]
    assert error["file"] == "lintdefs/v2.yaml" and "did you mean 'for_v3'?" in error["message"]
    assert error["fix"] is None  # (the page edits v1: a fix of v2's text is not its to apply)


def test_lint_warnings_of_the_edited_text(served: tuple[TestClient, Path]) -> None:
    client, folder = served
    text = (folder / "warranty/v1.yaml").read_text(encoding="utf-8")
    edited = text.replace("params:\n", "params:\n  spare_days:\n    type: duration\n    value: 3d\n", 1)
    assert edited != text
    out = client.post("/api/check", json={"file": "warranty/v1.yaml", "text": edited}).json()
    assert out["errors"] == []
    line = edited.split("\n").index("  spare_days:") + 1
    assert [(w["check"], w["line"]) for w in out["warnings"]] == [("parameter-without-clause", line),
                                                                ("unused-parameter", line)]
    assert out["warnings"][1]["text"] == f"warranty/v1.yaml:{line}:3: warning[unused-parameter]: " \
                                         "parameter 'spare_days' is not used"
    assert (folder / "warranty/v1.yaml").read_text(encoding="utf-8") == text  # (checked in a copy: not written)


def test_format_gives_fmts_text_or_says_why_not(served: tuple[TestClient, Path]) -> None:
    client, folder = served
    text = (folder / FILE).read_text(encoding="utf-8")
    messy = text.replace("    severity: high\n", "    severity:   high\n", 1)
    assert messy != text
    out = client.post("/api/format", json={"file": FILE, "text": messy})
    assert out.status_code == 200 and out.json() == {"text": format_text(messy, FILE), "error": None}
    assert out.json()["text"] == text
    bad = client.post("/api/format", json={"file": FILE, "text": text.replace("    severity: high", "\tseverity: high", 1)})
    assert bad.status_code == 422 and bad.json()["text"] is None
    assert bad.json()["error"].startswith(f"{FILE}:") and "tab" in bad.json()["error"]
    assert client.post("/api/format", json={"file": "../../etc/passwd", "text": "x"}).status_code in (400, 404)
    assert client.post("/api/format", json={"file": FILE, "text": "x" * (MAX_UPLOAD + 1)}).status_code == 413

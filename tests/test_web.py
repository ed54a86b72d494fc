"""The workbench's server side through Starlette's ASGI test client: pages, errors, limits, escaping."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from policy_eval.resources import bundled_policies  # noqa: E402
from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.workbench import MAX_UPLOAD, Workbench  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A private copy of the bundled policies (saving writes to it)."""
    dest = tmp_path / "policies"
    shutil.copytree(bundled_policies(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest


@pytest.fixture()
def client(folder: Path) -> TestClient:
    return TestClient(create_app(Workbench.open(folder, examples=EXAMPLES)))


def test_rulebook_search_finds_a_clause(client: TestClient) -> None:
    page = client.get("/rulebook", params={"q": "售后服务规则 2.2"}).text
    assert "after-sales/refund-only-handling-limit" in page
    assert "cs-conduct/" not in page
    assert 'href="/edit?file=after_sales/v2.yaml"' in page


def test_rulebook_search_by_chinese_keyword_and_nothing_found(client: TestClient) -> None:
    assert "national-warranty/" in client.get("/rulebook", params={"q": "全国联保"}).text
    assert "No rule matches" in client.get("/rulebook", params={"q": "no-such-thing-xyz"}).text


def test_an_example_case_gives_a_violated_verdict_with_clause_and_remedy(client: TestClient) -> None:
    text = (EXAMPLES / "warranty_refused_breach.json").read_text(encoding="utf-8")
    page = client.post("/case", data={"case": text}).text
    assert "VIOLATED" in page and "national-warranty/breach-compensation" in page
    assert "全国联保规则 三.1" in page and "100.00 CNY" in page


def test_bad_json_is_a_400_with_the_position(client: TestClient) -> None:
    r = client.post("/case", data={"case": '{"kind": "chat",'})
    assert r.status_code == 400
    assert "not valid JSON" in r.text and "line 1" in r.text


def test_a_case_that_fails_its_schema_names_the_json_path(client: TestClient) -> None:
    case = json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8"))
    case["messages"][0]["sent_at"] = 12
    r = client.post("/case", data={"case": json.dumps(case)})
    assert r.status_code == 422
    assert "messages" in r.text and "sent_at" in r.text


def test_html_in_a_case_is_escaped(client: TestClient) -> None:
    case = json.loads((EXAMPLES / "chat_offplatform_diversion.json").read_text(encoding="utf-8"))
    case["case_id"] = "<script>alert(1)</script>"
    case["messages"][1]["text"] = "<img src=x onerror=alert(2)> 加我微信：cup_shop88"
    page = client.post("/case", data={"case": json.dumps(case, ensure_ascii=False)}).text
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_filling_a_missing_field_turns_undetermined_into_a_decision(client: TestClient) -> None:
    case = json.loads((EXAMPLES / "warranty_refused_breach.json").read_text(encoding="utf-8"))
    del case["claim"]["provided"]  # was the repair provided? (全国联保规则 一.1)
    first = client.post("/case", data={"case": json.dumps(case, ensure_ascii=False)}).text
    assert 'name="fill:claim.provided"' in first
    assert 'class="verdict undetermined" data-rule="national-warranty/free-service"' in first
    second = client.post("/case", data={"case": json.dumps(case, ensure_ascii=False),
                                        "fill:claim.provided": "false"}).text
    assert 'name="fill:claim.provided"' not in second
    assert 'class="verdict violated" data-rule="national-warranty/free-service"' in second


def test_check_reports_a_misspelt_field_at_its_line_and_column(client: TestClient, folder: Path) -> None:
    name = "warranty/v1.yaml"
    text = (folder / name).read_text(encoding="utf-8")
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "claim.platform_finding" in line)
    bad = text.replace("claim.platform_finding", "claim.platform_findng", 1)
    out = client.post("/api/check", json={"file": name, "text": bad}).json()
    assert out["errors"], out
    err = out["errors"][0]
    assert err["line"] == line_no and err["column"] > 1
    assert "platform_findng" in err["message"] and "platform_finding" in err["message"]


def test_save_refuses_a_broken_file_and_writes_a_good_one(client: TestClient, folder: Path) -> None:
    name = "warranty/v1.yaml"
    original = (folder / name).read_text(encoding="utf-8")
    r = client.post("/api/save", json={"file": name, "text": original.replace("claim.", "claim..", 1)})
    assert r.status_code == 422 and (folder / name).read_text(encoding="utf-8") == original
    edited = original.replace("title: 拼多多全国联保规则", "title: 拼多多全国联保规则 (edited)", 1)
    assert client.post("/api/save", json={"file": name, "text": edited}).json()["saved"] is True
    assert "(edited)" in (folder / name).read_text(encoding="utf-8")


def test_paths_outside_the_policy_folder_are_refused(client: TestClient) -> None:
    assert client.post("/api/check", json={"file": "../../etc/passwd", "text": "x"}).status_code == 400
    assert client.get("/edit", params={"file": "../pyproject.toml"}).status_code == 404


def test_impact_of_48h_to_72h_lists_transitions(client: TestClient, folder: Path) -> None:
    name = "after_sales/v2.yaml"
    text = (folder / name).read_text(encoding="utf-8")
    assert "48h" in text
    r = client.post("/impact", data={"file": name, "text": text.replace("48h", "72h")})
    assert r.status_code == 200
    assert "verdict(s) change over" in r.text


def test_oversized_upload_is_refused(client: TestClient) -> None:
    big = b"{}\n" * (MAX_UPLOAD // 3 + 10)
    r = client.post("/batch", files={"upload": ("big.jsonl", big)})
    assert r.status_code == 413
    assert "larger than" in r.text


def test_batch_counts_and_downloads(client: TestClient) -> None:
    data = (EXAMPLES / "after_sales.jsonl").read_bytes()
    r = client.post("/batch", files={"upload": ("cases.jsonl", data)})
    assert r.status_code == 200 and "evaluated" in r.text
    token = r.text.split("/batch/")[1].split("/download")[0]
    sarif = client.get(f"/batch/{token}/download", params={"format": "sarif"})
    assert sarif.status_code == 200 and json.loads(sarif.text)["version"] == "2.1.0"


def test_a_policy_folder_with_errors_is_refused_at_start(tmp_path: Path) -> None:
    from policy_eval.errors import PolicyError

    (tmp_path / "bad.yaml").write_text("policy: [", encoding="utf-8")
    with pytest.raises(PolicyError):
        Workbench.open(tmp_path)

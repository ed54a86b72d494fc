"""The workbench's server side through Starlette's ASGI test client: pages, errors, limits, escaping."""

from __future__ import annotations

import json
import re
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
    # eval's own message (the workbench reads a case as eval reads a record)
    assert "$: invalid JSON: Expecting property name enclosed in double quotes (column 17)" in r.text


def test_a_case_that_fails_its_schema_names_the_json_path(client: TestClient) -> None:
    case = json.loads((EXAMPLES / "chat_clean_presale.json").read_text(encoding="utf-8"))
    case["messages"][0]["sent_at"] = 12
    r = client.post("/case", data={"case": json.dumps(case)})
    assert r.status_code == 422
    assert '<p class="error" id="error">$.messages[0].sent_at: 12 is not of type' in r.text
    assert "&lt;api&gt;" not in r.text and "<api>" not in r.text


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
    assert r.text.count('<tr class="transition">') >= 1  # the 2.2 handling limit moves some example
    assert ('<tr class="per-rule"><td><code>after-sales/refund-only-handling-limit</code></td>'
            '<td class="violated">violated</td><td class="complied">complied</td><td class="count">1</td></tr>') in r.text


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


# --- errors are answered with a status and a message, never a 500 ------------------------------------------

def test_an_unknown_example_is_a_404(client: TestClient) -> None:
    r = client.get("/case", params={"example": "nope.json"})
    assert r.status_code == 404 and "no such example: nope.json" in r.text


@pytest.mark.parametrize(("body", "message"), [
    ("[1, 2]", "must be a JSON object with the fields file, text"),
    ("{not json", "not valid JSON: line 1, column 2"),
    ('{"file": "warranty/v1.yaml"}', "missing the field(s) text"),
    ('{"file": "warranty/v1.yaml", "text": 3}', "must be strings"),
])
@pytest.mark.parametrize("url", ["/api/check", "/api/save"])
def test_a_bad_api_request_is_a_400_saying_why(client: TestClient, url: str, body: str, message: str) -> None:
    r = client.post(url, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert message in r.json()["error"]


def test_impact_of_a_broken_edit_is_a_422_naming_the_file_as_the_user_knows_it(client: TestClient,
                                                                              folder: Path) -> None:
    name = "after_sales/v2.yaml"
    text = (folder / name).read_text(encoding="utf-8")
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "request." in line)
    r = client.post("/impact", data={"file": name, "text": text.replace("request.", "request..", 1)})
    assert r.status_code == 422
    assert f'<div class="error">after_sales/v2.yaml:{line_no}:' in r.text
    assert "policy-eval-web-" not in r.text and "/tmp" not in r.text


def test_check_names_a_broken_file_relative_to_the_folder(client: TestClient, folder: Path) -> None:
    text = (folder / "warranty/v1.yaml").read_text(encoding="utf-8")
    out = client.post("/api/check", json={"file": "warranty/v1.yaml", "text": text + "\n  bogus: [\n"}).json()
    assert out["errors"] and all(e["file"] == "warranty/v1.yaml" for e in out["errors"])


def test_impact_without_the_edited_text_is_a_400(client: TestClient) -> None:
    r = client.post("/impact", data={"file": "after_sales/v2.yaml"})
    assert r.status_code == 400 and "missing the field(s) text" in r.text


def test_batch_without_a_file_is_a_400(client: TestClient) -> None:
    r = client.post("/batch", data={"as_of": ""})
    assert r.status_code == 400
    assert '<p class="error" id="error">choose a JSON Lines file to upload' in r.text
    assert 'id="batch-summary"' not in r.text


# --- the version chosen and why ------------------------------------------------------------------------------

def test_the_case_page_says_which_version_applied_and_why(client: TestClient) -> None:
    text = (EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8")
    page = client.post("/case", data={"case": text}).text.replace("&#96;", "`")
    section = page[page.index('<section id="versions">'):]
    section = section[:section.index("</section>")]
    assert ('<li data-policy="after-sales"><code>after-sales</code> (versions 1 [unstated .. 2021-01-01), '
            '2 [2021-01-01 .. open)): <span class="why">version 2 chosen: reference_time `request.submitted_at` = '
            '2023-07-12T12:20:41+08:00 is in [2021-01-01 .. open)</span></li>') in section
    dated = client.post("/case", data={"case": text, "as_of": "2020-06-01"}).text
    assert "version 1 chosen: as of 2020-06-01 is in [unstated .. 2021-01-01)" in dated


def test_no_version_chosen_says_why(client: TestClient, folder: Path) -> None:
    """A reference time before every version: the page says no version is in force, as explain does (the
    bundled version 1's start is unstated: it is dated here, and put back)."""
    name = "after_sales/v1.yaml"
    original = (folder / name).read_text(encoding="utf-8")
    assert original.count("  effective_from: unstated ") == 1
    dated = original.replace("  effective_from: unstated ", "  effective_from: 2019-01-01 ")
    assert client.post("/api/save", json={"file": name, "text": dated}).json()["saved"] is True
    try:
        case = json.loads((EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8"))
        page = client.post("/case", data={"case": json.dumps(case), "as_of": "2010-01-01"}).text
        (why,) = re.findall(r'<li data-policy="after-sales">.*?<span class="why">([^<]*)</span>', page)
        assert why.startswith("no version chosen: ")
    finally:
        assert client.post("/api/save", json={"file": name, "text": original}).json()["saved"] is True


# --- what worked untested -----------------------------------------------------------------------------------

def test_live_verdicts_on_the_edit_page(client: TestClient, folder: Path) -> None:
    """/api/check with a case (what the edit page's script sends) returns the verdicts on the edited rulebook;
    as_of moves the reference time, here back into version 1's period."""
    name = "after_sales/v2.yaml"
    text = (folder / name).read_text(encoding="utf-8")
    case = (EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8")
    out = client.post("/api/check", json={"file": name, "text": text, "case": case}).json()
    verdicts = {v["id"]: (v["outcome"], v["version"]) for v in out["result"]["verdicts"]}
    assert verdicts["after-sales/refund-only-handling-limit"] == ("violated", "2")
    out = client.post("/api/check", json={"file": name, "text": text.replace("value: 48h", "value: 72h", 1),
                                          "case": case}).json()
    assert {v["id"]: v["outcome"] for v in out["result"]["verdicts"]}["after-sales/refund-only-handling-limit"] \
        == "complied"
    dated = client.post("/api/check", json={"file": name, "text": text, "case": case, "as_of": "2020-06-01"}).json()
    assert {v["version"] for v in dated["result"]["verdicts"] if v["id"].startswith("after-sales/")} == {"1"}


def test_the_edit_pages_script_sends_its_as_of(client: TestClient) -> None:
    page = client.get("/edit", params={"file": "after_sales/v2.yaml"}).text
    assert '<input id="edit-as-of"' in page
    script = client.get("/static/workbench.js").text
    assert 'document.getElementById("edit-as-of")' in script and "as_of: asOf ? asOf.value" in script


def test_a_case_file_upload_on_the_case_page(client: TestClient) -> None:
    data = (EXAMPLES / "warranty_refused_breach.json").read_bytes()
    r = client.post("/case", data={"case": "", "as_of": ""}, files={"upload": ("case.json", data, "application/json")})
    assert r.status_code == 200
    assert 'class="verdict violated" data-rule="national-warranty/breach-compensation"' in r.text


def test_a_broken_policy_folder_through_the_client(client: TestClient, folder: Path) -> None:
    """A file broken on disk after the start is not picked up (the loaded rulebook serves on); a save of a
    broken file is refused with its located errors, and the page still answers."""
    name = "warranty/v1.yaml"
    good = (folder / name).read_text(encoding="utf-8")
    r = client.post("/api/save", json={"file": name, "text": "policy: ["})
    assert r.status_code == 422 and r.json()["errors"][0]["file"] == name and r.json()["errors"][0]["line"]
    assert (folder / name).read_text(encoding="utf-8") == good
    (folder / name).write_text("policy: [", encoding="utf-8")
    assert client.get("/rulebook", params={"q": "全国联保"}).status_code == 200


def test_serve_on_a_broken_policy_folder_names_the_file_and_exits_2(tmp_path: Path) -> None:
    import io

    from policy_eval.cli import run

    (tmp_path / "bad.yaml").write_text("policy: [\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["serve", "-p", str(tmp_path), "--examples", str(tmp_path / "none")], out, err) == 2
    assert "bad.yaml:" in err.getvalue() and out.getvalue() == ""


def test_serve_without_the_web_extra_says_how_to_install_it(tmp_path: Path) -> None:
    """The imports of the extra blocked (as if not installed): the install hint and exit 2."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('starlette', 'uvicorn', 'jinja2', 'multipart', 'python_multipart'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from policy_eval.cli import main\n"
        "sys.argv = ['policy-eval', 'serve']\n"
        "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install 'policy-eval[web]'" in done.stderr and "Traceback" not in done.stderr

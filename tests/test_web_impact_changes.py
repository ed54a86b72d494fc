"""The impact page lists the verdicts that keep their outcome but change remedies, severity or message, grouped
per rule as ``policy-eval diff`` lists them (docs/policies.md, "keep their outcome"; docs/serve.md).

全国联保规则 三.1: 拼多多 finding a breach owes the buyer 100 CNY per order (warranty/v1.yaml,
``compensation_per_order``). examples/warranty_refused_breach.json (EX-WAR-001) is such a breach: raising the
amount to 150 CNY keeps the verdict violated but changes its compensate_buyer remedy and its message, which
names the amount. Before this, the impact page compared outcomes alone and showed no change.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from policy_eval.cli import run  # noqa: E402
from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.workbench import Workbench  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NAME = "warranty/v1.yaml"
RULE = "national-warranty/breach-compensation"
BREACH = EXAMPLES / "warranty_refused_breach.json"  # EX-WAR-001


def _copy(dest: Path) -> Path:
    shutil.copytree(ROOT / "policies", dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest


def _raise(text: str) -> str:
    assert text.count("value: 100.00 CNY") == 1
    return text.replace("value: 100.00 CNY", "value: 150.00 CNY")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("served") / "policies")


@pytest.fixture(scope="module")
def bench(folder: Path) -> Workbench:
    return Workbench.open(folder, examples=EXAMPLES)


@pytest.fixture(scope="module")
def client(bench: Workbench) -> TestClient:
    return TestClient(create_app(bench))


@pytest.fixture(scope="module")
def raised(bench: Workbench) -> str:
    return _raise(bench.source(NAME))


def _section(page: str) -> str:
    start = page.index('<div id="impact-same-outcome">')
    return page[start:page.index("</div>\n", page.index("</ul></section>", start))]


def _items(page: str, kind: str) -> list[str]:
    """The text of each ``<li class="KIND">`` of the same-outcome section, buttons left out, tags stripped and
    unescaped."""
    found = re.findall(rf'<li class="{kind}">(.*?)</li>', _section(page), flags=re.S)
    found = [re.sub(r" ?<button [^>]*>[^<]*</button>", "", f) for f in found]  # (the "open case" buttons)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", f)).split()) for f in found]


def test_raising_the_compensation_shows_the_remedy_change(client: TestClient, raised: str) -> None:
    r = client.post("/impact", data={"file": NAME, "text": raised})
    assert r.status_code == 200
    page = r.text
    summary = page[page.index('<p id="impact-summary">'):]
    summary = " ".join(summary[:summary.index("</p>")].split())
    assert re.search(r"0 verdict\(s\) change over \d+ case\(s\)\. 1 case\(s\) keep every outcome but change "
                     r"remedies, severity or message\.", summary)
    assert '<tr class="transition">' not in page  # no outcome moves
    assert f'<section class="same-outcome" data-rule="{RULE}">' in page
    assert "[全国联保规则 三.1, 三.2]" in _section(page)
    assert _items(page, "remedy-change") == [
        "violated, remedy compensate_buyer 100.00 CNY -> 150.00 CNY: 1 case (EX-WAR-001)"]
    (message,) = _items(page, "message-change")
    assert message.startswith("violated, message changed: 1 case (EX-WAR-001); e.g. EX-WAR-001:")
    assert "old: 拼多多 found that the merchant breached" in message and ": 100.00 CNY owed to the buyer" in message
    assert "new: 拼多多 found that the merchant breached" in message and ": 150.00 CNY owed to the buyer" in message
    assert _items(page, "severity-change") == []


def test_an_unchanged_revision_shows_no_change(client: TestClient, bench: Workbench) -> None:
    r = client.post("/impact", data={"file": NAME, "text": bench.source(NAME)})
    assert r.status_code == 200
    assert 'id="impact-same-outcome"' not in r.text and "keep every outcome" not in r.text
    assert '<tr class="transition">' not in r.text and "0 verdict(s) change over" in r.text
    out = bench.impact(NAME, bench.source(NAME), bench.corpus())
    assert out["transitions"] == [] and out["same_outcome_changes"] == [] and out["same_outcome_changed_cases"] == 0


def test_a_severity_change_is_listed(client: TestClient, raised: str) -> None:
    start = raised.index("  - id: breach-compensation")
    text = raised[:start] + raised[start:].replace("severity: high", "severity: critical", 1)
    page = client.post("/impact", data={"file": NAME, "text": text}).text
    assert _items(page, "severity-change") == ["violated, severity high -> critical: 1 case (EX-WAR-001)"]
    assert len(_items(page, "remedy-change")) == 1


def test_the_workbench_and_diff_report_the_same_changes(tmp_path: Path, bench: Workbench, raised: str,
                                                         folder: Path) -> None:
    """One comparison: the page's groups are `policy-eval diff --format json`'s, over the same cases."""
    new = _copy(tmp_path / "new")
    (new / NAME).write_text(raised, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["diff", str(folder), str(new), "--format", "json", str(EXAMPLES)], out, err, None) == 0, err.getvalue()
    cli = json.loads(out.getvalue())
    web = bench.impact(NAME, raised, bench.corpus())
    assert [{k: v for k, v in g.items() if k != "remedies_more"} for g in web["same_outcome_changes"]] \
        == cli["same_outcome_changes"]
    assert web["same_outcome_changed_cases"] == cli["same_outcome_changed_cases"] == 1
    assert web["cases"] == cli["cases"] and web["transitions"] == cli["transitions"] == []


def test_against_a_folder_with_the_raised_amount(tmp_path: Path, folder: Path) -> None:
    """serve --against DIR: before = a copy of the policies, after = the served copy with 150 CNY."""
    served = _copy(tmp_path / "policies")
    (served / NAME).write_text(_raise((served / NAME).read_text(encoding="utf-8")), encoding="utf-8")
    bench = Workbench.open(served, examples=EXAMPLES, against=folder)
    page = TestClient(create_app(bench)).post("/impact", data={"file": NAME, "text": bench.source(NAME)}).text
    assert _items(page, "remedy-change") == [
        "violated, remedy compensate_buyer 100.00 CNY -> 150.00 CNY: 1 case (EX-WAR-001)"]


def test_case_data_in_the_changes_is_escaped(client: TestClient, raised: str) -> None:
    """A case id and an order id (which the message quotes) holding markup are shown as text."""
    case = json.loads(BREACH.read_text(encoding="utf-8"))
    case["case_id"] = '<img src=x onerror="alert(1)">'
    case["order"]["id"] = "<script>alert('order')</script>"
    corpus = json.dumps(case, ensure_ascii=False).encode("utf-8") + b"\n"
    r = client.post("/impact", data={"file": NAME, "text": raised},
                    files={"corpus": ("evil.jsonl", corpus, "application/x-ndjson")})
    assert r.status_code == 200
    assert "<script" not in r.text and "<img" not in r.text
    section = _section(r.text)
    assert "&lt;script&gt;alert(" in section and "&lt;img src=x onerror=" in section
    (message,) = _items(r.text, "message-change")
    assert message.startswith('violated, message changed: 1 case (<img src=x onerror="alert(1)">)')
    assert "on order <script>alert('order')</script>: 150.00 CNY owed" in message
    # the case's JSON in its "open case" buttons is an attribute value, escaped too
    buttons = re.findall(r'<button type="submit" form="open-\w+" name="case" value="([^"]*)"', section)
    assert buttons and all(json.loads(html.unescape(b))["case_id"] == case["case_id"] for b in buttons)


def test_many_cases_with_the_same_change_share_a_line(client: TestClient, raised: str) -> None:
    """As in diff's report: one line per distinct change, its first 8 cases named, then how many more."""
    case = json.loads(BREACH.read_text(encoding="utf-8"))
    lines = [json.dumps({**case, "case_id": f"W-{n:02}"}, ensure_ascii=False) for n in range(10)]
    r = client.post("/impact", data={"file": NAME, "text": raised},
                    files={"corpus": ("ten.jsonl", "\n".join(lines).encode("utf-8"), "application/x-ndjson")})
    (remedy,) = _items(r.text, "remedy-change")
    assert remedy == ("violated, remedy compensate_buyer 100.00 CNY -> 150.00 CNY: 10 cases (W-00, W-01, W-02, "
                      "W-03, W-04, W-05, W-06, W-07, … (2 more))")


def test_a_rule_renamed_where_it_does_not_apply_is_no_change(bench: Workbench) -> None:
    """diff's rule, now the page's too: absent and not applicable are the same for a case."""
    text = bench.source(NAME).replace("  - id: guide-consumers\n", "  - id: guide-consumers-renamed\n", 1)
    assert "guide-consumers-renamed" in text
    out = bench.impact(NAME, text, bench.corpus())
    assert not out["errors"]
    assert all({t["before"], t["after"]} != {"absent", "not_applicable"} for t in out["transitions"])
    assert all({t["before"], t["after"]} != {"absent", "not_applicable"} for t in out["per_rule"])


def test_a_listed_case_opens_with_either_rulebook(client: TestClient, raised: str) -> None:
    """Each case a same-outcome group names opens on the case page with the rulebook before or after the edit,
    as a case whose outcome changes does (the rows of the transitions table)."""
    page = client.post("/impact", data={"file": NAME, "text": raised}).text
    (item,) = re.findall(r'<li class="remedy-change">(.*?)</li>', _section(page), flags=re.S)
    buttons = re.findall(r'<button type="submit" form="open-(\w+)" name="case" value="([^"]*)"', item)
    assert [side for side, _ in buttons] == ["before", "after"] and buttons[0][1] == buttons[1][1]
    case = json.loads(html.unescape(buttons[0][1]))
    assert case == json.loads(BREACH.read_text(encoding="utf-8"))
    text = json.dumps(case, ensure_ascii=False)
    before = client.post("/case", data={"case": text, "side": "before"}).text
    after = client.post("/case", data={"case": text, "side": "after", "edit_file": NAME, "edit_text": raised}).text
    assert "100.00 CNY" in before and "150.00 CNY" not in before
    assert "150.00 CNY" in after and "100.00 CNY" not in after

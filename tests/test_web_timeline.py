"""The workbench shows a case's timeline and what would decide each violated verdict otherwise (issue 16
item 3, issue 17): the same marks and sentences as ``policy-eval explain``.

examples/after_sale_fruit_refund_no_reply.json: request submitted 2023-07-12 12:20:41, the 48h handling
deadline 2023-07-14 12:20:41 (售后服务规则 2.2), the system's refund at 12:20:45, snapshot 18:00:00.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.workbench import Workbench  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def page() -> str:
    client = TestClient(create_app(Workbench.open(None, examples=EXAMPLES)))
    text = (EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8")
    return client.post("/case", data={"case": text}).text


def test_the_timeline_lists_events_deadlines_and_now_in_order(page: str) -> None:
    start = page.index('<section id="timeline">')
    section = page[start:page.index("</section>", start)]
    rows = re.findall(r'<li class="(\w+)"><time>([^<]+)</time> ([^<]+)</li>', section)
    assert ("event", "2023-07-12 12:20:41", "request.submitted_at") in rows
    assert ("deadline", "2023-07-14 12:20:41", "after-sales/refund-only-handling-limit: `deadline`") in \
        [(k, t, label.replace("&#96;", "`")) for k, t, label in rows]
    assert ("now", "2023-07-14 18:00:00", "snapshot_at (now)") in rows
    assert [t for _, t, _ in rows] == sorted(t for _, t, _ in rows)
    places = [float(x) for x in re.findall(r'style="left: ([\d.]+)%"', section)]
    assert places[0] == 0.0 and places[-1] == 100.0 and places == sorted(places)


def test_a_violated_verdict_says_what_would_decide_it_otherwise(page: str) -> None:
    assert ("would decide otherwise: request.merchant_response.at recorded at or before "
            "2023-07-14T12:20:41+08:00 would comply") in page.replace("&#96;", "`")


def test_the_rulebook_shows_dated_and_unset_parameters_with_their_users(tmp_path: Path) -> None:
    overlay = tmp_path / "deployment.yaml"
    overlay.write_text("params:\n  cs-conduct:\n    response_limit:\n      values:\n        2020-01-01: 3m\n"
                       "        2025-01-01: 2m\n", encoding="utf-8")
    dated = Workbench.open(None, params=overlay).rulebook("cs-conduct")
    (conduct,) = [p for p in dated if p["policy"] == "cs-conduct"]
    rows = {p["name"]: p for p in conduct["params"]}
    limit = rows["response_limit"]
    assert limit["source"] == "deployment"
    assert limit["value"] == "from 2020-01-01T00:00:00+08:00: 3m\nfrom 2025-01-01T00:00:00+08:00: 2m"
    assert "timely-response" in limit["rules"]
    plain = Workbench.open(None).rulebook("cs-conduct")
    (conduct,) = [p for p in plain if p["policy"] == "cs-conduct"]
    unset = {p["name"]: p for p in conduct["params"]}["response_limit"]
    assert (unset["value"], unset["source"]) == ("unset", "unset") and "2.1" in (unset["clause"] or "")
    html = TestClient(create_app(Workbench.open(None))).get("/rulebook", params={"q": "cs-conduct"}).text
    assert '<tr class="unset"><td><code>response_limit</code></td><td class="value">unset</td>' in html


def test_impact_over_the_golden_cases(tmp_path: Path) -> None:
    """售后服务规则 2.2: moving the refund-only handling limit from 48h to 72h turns golden cases whose merchant
    answered between 48 and 72 hours after the request from violated into complied."""
    bench = Workbench.open(None)
    golden = bench.corpus("golden")
    assert len(golden) >= 300  # the bundled rulebook's policy tests, installed beside it
    name = "after_sales/v2.yaml"
    text = bench.source(name)
    assert "value: 48h" in text
    out = bench.impact(name, text.replace("value: 48h", "value: 72h", 1), golden)
    assert out["cases"] == len(golden) and not out["errors"]
    moved = {(t["rule"], t["before"], t["after"]) for t in out["transitions"]}
    assert ("after-sales/refund-only-handling-limit", "violated", "complied") in moved
    assert all(t["rule"].startswith("after-sales/") for t in out["transitions"])
    html = TestClient(create_app(bench)).post("/impact", data={"file": name, "text": text.replace(
        "value: 48h", "value: 72h", 1), "corpus_name": "golden"}).text
    assert f"over {len(golden)}" in html

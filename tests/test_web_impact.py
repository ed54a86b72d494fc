"""The impact page (issue 17 item 4): transitions per rule with their counts, both sides' explanations, each
case opened on the case page with either side's rulebook, an uploaded JSON Lines corpus, and a second
policy folder to compare against (``serve --against DIR``).

售后服务规则 2.2: the merchant handles a refund-only request within 48 hours. In
examples/after_sale_fruit_refund_no_reply.json the request was submitted 2023-07-12 12:20:41 and the
merchant never answered by the snapshot (2023-07-14 18:00:00, 53.7 h later): violated at 48 h, complied
at 72 h (the 72 h limit, 2023-07-15 12:20:41, is still ahead).
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from policy_eval.resources import bundled_policies  # noqa: E402
from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.workbench import Workbench  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAME = "after_sales/v2.yaml"
RULE = "after-sales/refund-only-handling-limit"
FRUIT = "PDD-AS-2023-000187"  # the case id of after_sale_fruit_refund_no_reply.json


def _copy(dest: Path) -> Path:
    shutil.copytree(bundled_policies(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest


@pytest.fixture(scope="module")
def bench() -> Workbench:
    return Workbench.open(None, examples=EXAMPLES)


@pytest.fixture(scope="module")
def client(bench: Workbench) -> TestClient:
    return TestClient(create_app(bench))


@pytest.fixture(scope="module")
def edited(bench: Workbench) -> str:
    text = bench.source(NAME)
    assert "value: 48h" in text
    return text.replace("value: 48h", "value: 72h", 1)


@pytest.fixture(scope="module")
def page(client: TestClient, edited: str) -> str:
    r = client.post("/impact", data={"file": NAME, "text": edited})
    assert r.status_code == 200
    return r.text


def _rows(page: str) -> list[str]:
    """Each transition row (its cells hold explanation tables, so a row runs to the next row or the end)."""
    rows = page.split('<tr class="transition">')[1:]
    return rows[:-1] + [rows[-1][:rows[-1].index("</table>\n\n")]] if rows else []


def test_the_transition_is_counted_per_rule(page: str) -> None:
    per_rule = re.findall(r'<tr class="per-rule"><td><code>([^<]+)</code></td><td class="\w+">(\w+)</td>'
                          r'<td class="\w+">(\w+)</td><td class="count">(\d+)</td></tr>', page)
    assert (RULE, "violated", "complied", "1") in per_rule
    assert "2 verdict(s) change over" in page  # and after-sales/return-refund-handling-limit on JL-014 (after_sales.jsonl)
    assert len(_rows(page)) == sum(int(n) for *_, n in per_rule) >= 1


def test_both_sides_explain_the_transition(page: str) -> None:
    (row,) = [r for r in _rows(page) if FRUIT in r and RULE in r]
    before, after = row.split('<td class="complied">complied ')
    assert before.count('<details class="why">') == 1 and after.count('<details class="why">') == 1
    # the violated side's message; the complied side, which has no message, still shows its reason and values
    assert "was not handled by the merchant by 2023-07-14T12:20:41+08:00" in html.unescape(before)
    assert "handling_limit" in html.unescape(after) and "72h" in html.unescape(after)
    assert '<table class="explain"><tr>' in after


def test_each_side_opens_the_case_with_its_rulebook(client: TestClient, page: str, edited: str) -> None:
    (row,) = [r for r in _rows(page) if FRUIT in r and RULE in r]
    buttons = re.findall(r'<button type="submit" form="open-(\w+)" name="case" value="([^"]*)"', row)
    assert [side for side, _ in buttons] == ["before", "after"]
    case = json.loads(html.unescape(buttons[0][1]))
    assert case["case_id"] == FRUIT and buttons[0][1] == buttons[1][1]
    form = re.search(r'<form method="post" action="/case" id="open-after".*?</form>', page, flags=re.S)
    assert form and 'name="edit_file" value="after_sales/v2.yaml"' in form.group(0)
    assert "value: 72h" in html.unescape(form.group(0))
    text = json.dumps(case, ensure_ascii=False)
    before = client.post("/case", data={"case": text, "side": "before"}).text
    assert f'class="verdict violated" data-rule="{RULE}"' in before
    after = client.post("/case", data={"case": text, "side": "after", "edit_file": NAME, "edit_text": edited})
    assert after.status_code == 200
    assert f'class="verdict complied" data-rule="{RULE}"' in after.text
    assert 'id="case-rulebook"' in after.text and "after_sales/v2.yaml" in after.text
    # re-running (filling in a field) keeps the edited rulebook: its fields ride along in the fill form
    fill = after.text[after.text.index('id="fill-form"'):]
    assert 'name="edit_file" value="after_sales/v2.yaml"' in fill and 'name="side" value="after"' in fill


def test_a_case_page_with_an_edit_that_does_not_load_is_a_400(client: TestClient, bench: Workbench) -> None:
    text = (EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8")
    broken = bench.source(NAME).replace("request.", "request..", 1)
    r = client.post("/case", data={"case": text, "side": "after", "edit_file": NAME, "edit_text": broken})
    assert r.status_code == 400
    assert "after_sales/v2.yaml:" in r.text and "policy-eval-web-" not in r.text


def test_an_uploaded_jsonl_corpus(client: TestClient, edited: str) -> None:
    good = (EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8")
    corpus = json.dumps(json.loads(good), ensure_ascii=False) + "\n{not json\n"
    r = client.post("/impact", data={"file": NAME, "text": edited},
                    files={"corpus": ("mine.jsonl", corpus.encode("utf-8"), "application/x-ndjson")})
    assert r.status_code == 200
    assert "1 verdict(s) change over 1 case(s)" in r.text and "the uploaded mine.jsonl" in r.text
    rejected = r.text[r.text.index('id="impact-rejected"'):]
    assert "line 2: $: invalid JSON: Expecting property name enclosed in double quotes (column 2)" in rejected


def test_the_edit_page_can_upload_a_corpus(client: TestClient) -> None:
    page = client.get("/edit", params={"file": NAME}).text
    form = page[page.index('id="impact-form"') - 60:]
    form = form[:form.index("</form>")]
    assert 'enctype="multipart/form-data"' in form and '<input type="file" name="corpus"' in form


def test_against_a_second_folder(tmp_path: Path, edited: str) -> None:
    """serve --against DIR: before = DIR (here a copy with 72 h), after = the served rulebook (48 h)."""
    other = _copy(tmp_path / "other")
    (other / NAME).write_text(edited, encoding="utf-8")
    bench = Workbench.open(None, examples=EXAMPLES, against=other)
    client = TestClient(create_app(bench))
    r = client.post("/impact", data={"file": NAME, "text": bench.source(NAME)})
    assert r.status_code == 200
    assert str(other) in r.text
    per_rule = re.findall(r'<tr class="per-rule"><td><code>([^<]+)</code></td><td class="\w+">(\w+)</td>'
                          r'<td class="\w+">(\w+)</td><td class="count">(\d+)</td></tr>', r.text)
    assert per_rule == [(RULE, "complied", "violated", "1"),
                        ("after-sales/return-refund-handling-limit", "complied", "violated", "1")]  # JL-014
    case = (EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8")
    before = client.post("/case", data={"case": case, "side": "before"}).text
    assert f'class="verdict complied" data-rule="{RULE}"' in before and str(other) in before
    assert f"the folder <code>{other}</code>" in client.get("/edit").text


def test_against_a_missing_folder_is_refused(tmp_path: Path) -> None:
    from policy_eval.web.workbench import WorkbenchError

    with pytest.raises(WorkbenchError, match="no such policy folder to compare against"):
        Workbench.open(None, against=tmp_path / "nope")

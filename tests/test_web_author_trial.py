"""The workbench defects an outside policy-author trial found, each pinned here:

* D1. The impact page under-reported: "over the examples" read only the top-level ``*.json`` files of the examples
  folder (the ``.jsonl`` records and the sub-folder ``examples/due/`` were skipped silently), and a revision whose
  period covers none of the cases (a future ``effective_from``) showed "0 verdict(s) change" with no hint, where
  ``policy-eval diff`` says which version judged none of the cases and how to judge them by it (``--as-of``).
  The page now reads the examples folder as ``eval``/``diff`` read it and shows diff's note.
* D2. ``/api/save`` overwrote a policy test file with anything that parsed as YAML (``expct:``, ``tests: []``):
  saving (and checking) a test file now runs the check ``policy-eval test`` runs on it, and a file that fails it
  is answered 422 with the located errors and left untouched.

The scenario of the trial: a policies copy with an after-sales version 3 (``revises: "2"``, effective from
2025-03-01, ``handling_limit`` 24h; version 2 ends 2025-03-01), edited to 12h.
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
from policy_eval.resources import bundled_policies  # noqa: E402
from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.workbench import Workbench  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
V3 = "after_sales/v3.yaml"
TESTS = "after_sales/tests/v3_tests.yaml"
LIMIT = "  handling_limit:\n    type: duration\n    value: {}\n"
NOTE = "after-sales version 3 (from 2025-03-01) judged none of these cases"
VALID_TESTS = """\
tests:
  - name: a refund-only request under version 3
    as_of: "2025-06-01"
    case:
      kind: after_sale
      case_id: T-1
      snapshot_at: "2025-06-03T10:00:00+08:00"
      order: {id: O-1, store_id: S-1, category: 服饰, confirmed_at: "2025-06-01T10:00:00+08:00", paid_amount: "10.00"}
      request: {id: R-1, type: refund_only, submitted_at: "2025-06-01T12:00:00+08:00", status: pending_merchant}
    expect:
      after-sales/refund-only-handling-limit: violated
"""


def _policies(dest: Path, limit: str) -> Path:
    """A copy of the bundled policies with after-sales version 3 (from 2025-03-01, ``handling_limit`` = ``limit``;
    version 2 ends where it starts) and a valid test file beside it."""
    shutil.copytree(bundled_policies(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    v2 = (dest / "after_sales" / "v2.yaml").read_text(encoding="utf-8")
    start = re.compile(r"^  effective_from: 2021-01-01.*$", flags=re.M)
    assert start.search(v2) and LIMIT.format("48h") in v2
    v3 = start.sub("  effective_from: 2025-03-01", v2, count=1).replace('version: "2"', 'version: "3"\n  revises: "2"', 1)
    (dest / V3).write_text(v3.replace(LIMIT.format("48h"), LIMIT.format(limit), 1), encoding="utf-8")
    (dest / "after_sales" / "v2.yaml").write_text(
        start.sub("  effective_from: 2021-01-01\n  effective_until: 2025-03-01", v2, count=1), encoding="utf-8")
    (dest / TESTS).parent.mkdir()
    (dest / TESTS).write_text(VALID_TESTS, encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the served folder: version 3 at 24h, the same with 12h: what the edit on the page makes of it)."""
    base = tmp_path_factory.mktemp("trial")
    return _policies(base / "old" / "policies", "24h"), _policies(base / "new" / "policies", "12h")


@pytest.fixture(scope="module")
def bench(folders: tuple[Path, Path]) -> Workbench:
    return Workbench.open(folders[0], examples=EXAMPLES)


@pytest.fixture(scope="module")
def client(bench: Workbench) -> TestClient:
    return TestClient(create_app(bench))


@pytest.fixture(scope="module")
def edited(folders: tuple[Path, Path]) -> str:
    return (folders[1] / V3).read_text(encoding="utf-8")


def _diff(folders: tuple[Path, Path], *extra: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", str(folders[0]), str(folders[1]), "--format", "json", *extra, str(EXAMPLES)], out, err, None)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def _per_rule(page: str) -> list[tuple[str, str, str, int]]:
    rows = re.findall(r'<tr class="per-rule"><td><code>([^<]+)</code></td><td class="\w+">(\w+)</td>'
                      r'<td class="\w+">(\w+)</td><td class="count">(\d+)</td></tr>', page)
    return sorted((rule, x, y, int(n)) for rule, x, y, n in rows)


def _notes(page: str) -> list[str]:
    found = re.search(r'<ul id="impact-notes">(.*?)</ul>', page, flags=re.S)
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), flags=re.S) if found else []
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", i)).split()) for i in items]


# --- D1 (a): the examples folder is read as eval and diff read it -------------------------------------------

def test_the_impact_over_the_examples_counts_what_diff_counts(client: TestClient, folders: tuple[Path, Path],
                                                              edited: str) -> None:
    """The trial's repro with --as-of 2025-06-01: diff finds 7 of 44 cases changing outcome; the page read 21
    cases (the top-level .json files) and found none."""
    cli = _diff(folders, "--as-of", "2025-06-01")
    assert cli["rejected"] == 0 and cli["changed_cases"] > 0
    r = client.post("/impact", data={"file": V3, "text": edited, "corpus_name": "examples", "as_of": "2025-06-01"})
    assert r.status_code == 200
    assert f"change over {cli['cases']} case(s)." in r.text
    assert _per_rule(r.text) == sorted((t["rule"], t["from"], t["to"], t["count"]) for t in cli["transitions"])
    moved = re.search(r'<p id="impact-changed">(\d+) of (\d+) case\(s\) change outcome', r.text)
    assert moved and (int(moved.group(1)), int(moved.group(2))) == (cli["changed_cases"], cli["cases"])
    # the cases of examples/after_sales.jsonl and examples/due/ are among those compared
    assert "JL-014" in r.text


def test_jsonl_records_and_sub_folders_are_read_and_a_refused_record_is_named_by_its_line(tmp_path: Path) -> None:
    fruit = json.loads((EXAMPLES / "after_sale_fruit_refund_no_reply.json").read_text(encoding="utf-8"))
    examples = tmp_path / "examples"
    (examples / "due").mkdir(parents=True)
    (examples / "one.json").write_text(json.dumps(fruit, ensure_ascii=False), encoding="utf-8")
    lines = [json.dumps({**fruit, "case_id": f"L-{i}"}, ensure_ascii=False) for i in (1, 2)]
    (examples / "many.jsonl").write_text(lines[0] + "\n{not json\n" + lines[1] + "\n", encoding="utf-8")
    (examples / "due" / "later.jsonl").write_text(json.dumps({**fruit, "case_id": "D-1"}) + "\n", encoding="utf-8")
    (examples / "deployment.yaml").write_text("params: {}\n", encoding="utf-8")  # not a case file: eval skips it
    bench = Workbench.open(None, examples=examples)
    cases, refused = bench.corpus_refused("examples")
    assert sorted(c["case_id"] for c in cases) == ["D-1", "L-1", "L-2", fruit["case_id"]]
    assert [r["where"] for r in refused] == ["many.jsonl:2"]
    name = "after_sales/v2.yaml"
    edited = bench.source(name).replace("value: 48h", "value: 72h", 1)
    page = TestClient(create_app(bench)).post("/impact", data={"file": name, "text": edited}).text
    assert "change over 4 case(s)." in page
    rejected = html.unescape(page[page.index('id="impact-rejected"'):])
    assert "<code>many.jsonl:2</code>: $: invalid JSON" in rejected


# --- D1 (b): a version that judged none of the cases is named, as diff names it -----------------------------

def test_a_version_that_judged_none_of_the_cases_is_named(client: TestClient, bench: Workbench,
                                                          folders: tuple[Path, Path], edited: str) -> None:
    cli = _diff(folders)
    assert cli["changed_cases"] == 0 and [v for v in cli["unjudged_versions"] if v.startswith("after-sales ")]
    r = client.post("/impact", data={"file": V3, "text": edited, "corpus_name": "examples"})
    assert r.status_code == 200 and "0 verdict(s) change over" in r.text
    notes = _notes(r.text)
    assert any(n.startswith(f"note: {NOTE} (their reference times fall outside its period, on the new side)")
               and "an as-of date in its period judges them by it" in n for n in notes), notes
    out = bench.impact(V3, edited, bench.corpus_refused("examples")[0])  # (the core's answer names them too)
    assert out["unjudged_versions"] == cli["unjudged_versions"]


def test_no_note_when_the_as_of_date_is_in_the_new_period(client: TestClient, edited: str) -> None:
    r = client.post("/impact", data={"file": V3, "text": edited, "corpus_name": "examples", "as_of": "2025-06-01"})
    assert r.status_code == 200 and NOTE not in html.unescape(r.text)


# --- D2: saving a policy test file runs the check `policy-eval test` runs -----------------------------------

BAD_TESTS = [
    ("tests:\n  - name: x\n    expct: {}\n",
     [(2, 5, "each test needs 'case' and 'expect'; test #1 has no 'case'"),
      (3, 5, "unknown key 'expct' in test #1; did you mean 'expect'?")]),
    ("tests: []\n", [(1, 1, "no tests found in after_sales/tests/v3_tests.yaml")]),
    ("tests:\n  - name: x\n    case: {kind: after_sale}\n",
     [(2, 5, "each test needs 'case' and 'expect'; test #1 has no 'expect'")]),
    ("notes: not a test file any more\n", [(1, 1, "a policy test file needs a top-level 'tests:' list")]),
]


@pytest.mark.parametrize(("text", "wanted"), BAD_TESTS, ids=["misspelt-expect", "no-tests", "no-expect", "no-tests-key"])
def test_saving_a_broken_test_file_is_refused_and_leaves_it_untouched(client: TestClient, folders: tuple[Path, Path],
                                                                      text: str, wanted: list) -> None:
    before = (folders[0] / TESTS).read_text(encoding="utf-8")
    r = client.post("/api/save", json={"file": TESTS, "text": text})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["saved"] is False
    got = [(e["line"], e["column"], e["message"]) for e in body["errors"]]
    assert [(line, col) for line, col, _ in got] == [(line, col) for line, col, _ in wanted]
    assert all(m.startswith(w) for (_, _, m), (_, _, w) in zip(got, wanted, strict=True)), got
    assert all(e["file"] == TESTS and e["text"].startswith(f"{TESTS}:") for e in body["errors"])
    assert (folders[0] / TESTS).read_text(encoding="utf-8") == before
    # the editor's check as you type shows the same errors
    checked = client.post("/api/check", json={"file": TESTS, "text": text}).json()
    assert [(e["line"], e["column"], e["message"]) for e in checked["errors"]] == got


def test_saving_a_valid_test_file_still_works(client: TestClient, folders: tuple[Path, Path]) -> None:
    text = VALID_TESTS.replace("name: a refund-only request", "name: the refund-only request", 1)
    r = client.post("/api/save", json={"file": TESTS, "text": text})
    assert r.status_code == 200 and r.json() == {"saved": True, "errors": []}
    assert (folders[0] / TESTS).read_text(encoding="utf-8") == text
    assert client.post("/api/check", json={"file": TESTS, "text": text}).json()["errors"] == []


def test_saving_a_policy_file_behaves_as_before(tmp_path: Path) -> None:
    folder = _policies(tmp_path / "policies", "24h")
    client = TestClient(create_app(Workbench.open(folder, examples=EXAMPLES)))
    name = "warranty/v1.yaml"
    original = (folder / name).read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(original.splitlines(), 1) if "claim.platform_finding" in t and "#" not in t)
    broken = original.replace("claim.platform_finding", "claim.platform_findng")
    r = client.post("/api/save", json={"file": name, "text": broken})
    assert r.status_code == 422 and (folder / name).read_text(encoding="utf-8") == original
    assert any(e["file"] == name and e["line"] == line for e in r.json()["errors"]), r.json()
    edited = original.replace("title: 拼多多全国联保规则", "title: 拼多多全国联保规则 (edited)", 1)
    assert edited != original
    r = client.post("/api/save", json={"file": name, "text": edited})
    assert r.status_code == 200 and r.json() == {"saved": True, "errors": []}
    assert (folder / name).read_text(encoding="utf-8") == edited


def test_a_broken_test_file_on_disk_is_listed_by_the_golden_corpus_not_a_server_error(tmp_path: Path) -> None:
    """A test file written outside the workbench that ``policy-eval test`` refuses: the impact over the golden
    cases lists it under "Cases not compared" and compares the cases of the other test files (was a 500)."""
    folder = _policies(tmp_path / "policies", "24h")
    (folder / "after_sales" / "tests" / "broken.yaml").write_text("tests:\n  - name: x\n    expct: {}\n",
                                                                  encoding="utf-8")
    bench = Workbench.open(folder, examples=EXAMPLES)
    r = TestClient(create_app(bench)).post("/impact", data={"file": V3, "text": bench.source(V3),
                                                            "corpus_name": "golden"})
    assert r.status_code == 200 and "change over 1 case(s)." in r.text
    rejected = html.unescape(r.text[r.text.index('id="impact-rejected"'):])
    assert ("<code>after_sales/tests/broken.yaml</code>: a test file policy-eval test refuses: line 2, column 5: "
            "each test needs 'case' and 'expect'; test #1 has no 'case' (and 1 more error(s))") in rejected

"""The workbench's Save refuses a policy file edited into another YAML document (``foo: 1``).

The rulebook of the served folder still loads without it (the loader leaves documents without a ``policy:`` key
alone), so Save wrote it and the policy version was gone without a word. ``/api/save`` now answers 422 with the
error located at the document's first key and leaves the file untouched, as it does for a broken test file
(tests/test_web_author_trial.py); ``/api/check`` shows the same error as you type.
"""

from __future__ import annotations

from pathlib import Path

import policytext as pt
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from policy_eval.web.app import create_app  # noqa: E402
from policy_eval.web.workbench import Workbench  # noqa: E402

FILE = "demo/v1.yaml"


def _served(folder: Path) -> TestClient:
    """Two policies: without ``demo`` the folder still loads, so only the new check refuses the edit."""
    pt.write(folder / FILE, pt.policy(pt.rules_text(pt.rule("r1", "exists(request.submitted_at)"))))
    pt.write(folder / "other" / "v1.yaml", pt.policy(pt.rules_text(pt.rule("r2", "true")), id="other"))
    return TestClient(create_app(Workbench.open(folder)))


@pytest.mark.parametrize(("text", "key"), [("foo: 1\n", "foo:"), ("# a note\n\nnotes: x\nparams: {}\n", "notes:"),
                                           ("tags: [a]\n", "tags:")])
def test_saving_a_policy_file_as_another_document_is_refused_at_its_first_key(tmp_path: Path, text: str,
                                                                              key: str) -> None:
    client = _served(tmp_path / "p")
    before = (tmp_path / "p" / FILE).read_text(encoding="utf-8")
    r = client.post("/api/save", json={"file": FILE, "text": text})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    edited = pt.write(tmp_path / "edited.yaml", text)
    assert (error["file"], error["line"], error["column"]) == (FILE, *pt.at(edited, key))
    assert error["message"].startswith("this is a policy file") and "no top-level 'policy:' key" in error["message"]
    assert (tmp_path / "p" / FILE).read_text(encoding="utf-8") == before
    assert client.post("/api/check", json={"file": FILE, "text": text}).json()["errors"] == [error]


def test_a_misspelt_policy_key_gets_the_loaders_did_you_mean(tmp_path: Path) -> None:
    client = _served(tmp_path / "p")
    text = (tmp_path / "p" / FILE).read_text(encoding="utf-8").replace("policy:", "polciy:", 1)
    r = client.post("/api/save", json={"file": FILE, "text": text})
    assert r.status_code == 422 and "did you mean 'policy'?" in r.json()["errors"][0]["message"]


def test_an_edited_policy_that_stays_a_policy_is_saved(tmp_path: Path) -> None:
    client = _served(tmp_path / "p")
    text = (tmp_path / "p" / FILE).read_text(encoding="utf-8").replace("title: demo", "title: demo (edited)", 1)
    r = client.post("/api/save", json={"file": FILE, "text": text})
    assert r.status_code == 200 and r.json() == {"saved": True, "errors": []}
    assert (tmp_path / "p" / FILE).read_text(encoding="utf-8") == text

"""A policy file checked with the other versions of its policy, driven by a real LSP client over stdio (issue 15).

Before: the server loaded the edited file alone, so a valid revision (``revises: "1"``, which
``policy-eval check`` on its folder accepts) got a false ``(0:0) policy could not be built``; errors across
versions (overlapping periods) were never shown; and the code lens failed on a revision with "policy ...
has no version '1' to revise". Now the file is loaded with the versions beside it (documents open in the
editor as edited) and only its own errors are shown, at their places.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lspclient import ROOT, answer, find, open_document, opened, replace_text
from lsprotocol import types

FIXTURE = ROOT / "tests" / "data" / "lint" / "definitions"  # v2.yaml revises v1.yaml
CASE = ROOT / "examples" / "after_sale_clothing_return_ok.json"  # after 2022 (v2 in force), names its reason


async def _session(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    v1, v2 = folder / "v1.yaml", folder / "v2.yaml"
    async with opened(v2) as (client, doc, text):
        out["open"] = await answer(client.diagnostics.get())
        line, column = find(text, "for_v2", after="require:")
        out["inherited"] = await answer(client.text_document_definition_async(types.DefinitionParams(
            text_document=doc, position=types.Position(line=line, character=column + 2))))
        out["inherited_key"] = find(v1.read_text(encoding="utf-8"), "for_v2:")
        out["lenses"] = await answer(client.text_document_code_lens_async(types.CodeLensParams(text_document=doc)))
        lens = out["lenses"][0].command
        out["evaluate_file"] = await answer(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=lens.command, arguments=[*lens.arguments, str(CASE)])))
        case = json.loads(CASE.read_text(encoding="utf-8"))
        del case["request"]["reason"]
        out["evaluate_object"] = await answer(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=lens.command, arguments=[*lens.arguments, case])))
        # v2 starts before v1 ends: the overlap is v2's (the later version's) error
        overlapping = text.replace("effective_from: 2022-01-01", "effective_from: 2021-06-01")
        replace_text(client, doc, 2, overlapping)
        out["overlap"] = await answer(client.diagnostics.get())
        out["overlap_at"] = find(overlapping, "2021-06-01")
        # v1 opened beside it (v2 still edited, unsaved): v1 itself has no error
        v1_doc, _ = open_document(client, v1)
        out["v1"] = await answer(client.diagnostics.get())
        out["v1_uri"] = v1_doc.uri
        # v1 edited (not written to disk) to end where v2 now starts, then saved: v2 is checked again with
        # v1's text as in the editor, and the overlap is gone
        v1_text = v1.read_text(encoding="utf-8")
        replace_text(client, v1_doc, 2, v1_text.replace("effective_until: 2022-01-01", "effective_until: 2021-06-01"))
        await answer(client.diagnostics.get())
        client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=v1_doc))
        out["saved"] = [await answer(client.diagnostics.get()), await answer(client.diagnostics.get())]
        out["v1_on_disk"] = v1.read_text(encoding="utf-8") == v1_text
        # a revision of a version that does not exist is diagnosed at its `revises:`
        replace_text(client, doc, 3, text.replace('revises: "1"', 'revises: "7"'))
        out["no_base"] = await answer(client.diagnostics.get())
        out["no_base_at"] = find(text, '"1"', after="revises:")
        replace_text(client, doc, 4, text)
        out["fixed"] = await answer(client.diagnostics.get())
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("versions") / "lintdefs"
    shutil.copytree(FIXTURE, folder)
    return {**asyncio.run(_session(folder)), "folder": folder}


def test_check_accepts_the_fixture_folder() -> None:
    proc = subprocess.run([str(Path(sys.executable).parent / "policy-eval"), "check", "-p", str(FIXTURE)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("ok: 1 policies, 2 versions"), proc.stderr


def test_a_valid_revision_file_has_no_errors(session: dict[str, Any]) -> None:
    assert session["open"].uri.endswith("/v2.yaml")
    for state in ("open", "fixed"):  # (only the lint fixture's own warning: v2 defines 'own_unused' for lint)
        assert [(d.source, d.code) for d in session[state].diagnostics] == [("policy-eval lint", "unused-definition")]
        assert "'own_unused'" in session[state].diagnostics[0].message


def test_an_overlapping_period_is_diagnosed_in_the_file_that_has_it(session: dict[str, Any]) -> None:
    [d] = session["overlap"].diagnostics
    line, col = session["overlap_at"]
    assert (d.range.start.line, d.range.start.character) == (line, col)
    assert "overlaps version '1'" in d.message
    assert str(session["folder"] / "v1.yaml") in d.message  # the real file, not a temporary copy
    assert "policy-eval-lsp-" not in d.message
    v1 = session["v1"]
    assert v1.uri == session["v1_uri"] and list(v1.diagnostics) == []


def test_saving_a_version_checks_the_open_versions_beside_it_as_edited(session: dict[str, Any]) -> None:
    v1, v2 = session["saved"]
    assert v1.uri == session["v1_uri"] and v2.uri.endswith("/v2.yaml")
    errors = [[d for d in p.diagnostics if d.source == "policy-eval"] for p in (v1, v2)]  # (lint's warnings aside)
    assert errors == [[], []]  # v1 as edited ends where v2 starts
    assert session["v1_on_disk"]  # the file itself still overlaps: the editor's text was used


def test_a_revision_of_a_missing_version_is_diagnosed_at_revises(session: dict[str, Any]) -> None:
    [d] = session["no_base"].diagnostics
    assert (d.range.start.line, d.range.start.character) == session["no_base_at"]
    assert d.message == "policy 'lintdefs' has no version '7' to revise (versions: 1, 2)"
    assert "could not be built" not in d.message


def test_code_lens_on_a_revision_file_evaluates(session: dict[str, Any]) -> None:
    [lens] = session["lenses"]
    assert lens.command.arguments[1] == "reason-given"
    on_file = session["evaluate_file"]
    assert on_file == {"case": str(CASE), "rule": "lintdefs/reason-given", "version": "2", "outcome": "complied",
                       "message": None}
    assert session["evaluate_object"]["outcome"] == "violated"  # the same case without its reason
    assert session["evaluate_object"]["version"] == "2"


def test_go_to_definition_of_an_inherited_definition_opens_the_revised_version(session: dict[str, Any]) -> None:
    location = session["inherited"]
    assert location.uri == (session["folder"] / "v1.yaml").resolve().as_uri()
    assert (location.range.start.line, location.range.start.character) == session["inherited_key"]

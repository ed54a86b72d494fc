"""References and rename through a real LSP client: the places come back as locations, a rename as a workspace
edit the client applies, and a refused rename as an error saying why (LSP's RequestFailed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lspclient import answer, opened
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from test_lsp_editing import _apply
from test_references import DEADLINE, POLICY, _at

from policy_eval.authoring.highlight import MODIFIERS, TYPES, highlight
from policy_eval.authoring.outline import analyse
from policy_eval.plugin_manager import get_plugin_manager

FUNCTIONS = get_plugin_manager().functions()


async def _session(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with opened(path) as (client, doc, text):
        await answer(client.diagnostics.get())
        out["tokens"] = await answer(client.text_document_semantic_tokens_full_async(
            types.SemanticTokensParams(text_document=doc)))
        line, column, _ = DEADLINE[1]
        at = types.Position(line=line, character=column + 1)
        out["references"] = await answer(client.text_document_references_async(types.ReferenceParams(
            text_document=doc, position=at, context=types.ReferenceContext(include_declaration=True))))
        out["highlights"] = await answer(client.text_document_document_highlight_async(
            types.DocumentHighlightParams(text_document=doc, position=at)))
        out["prepare"] = await answer(client.text_document_prepare_rename_async(
            types.PrepareRenameParams(text_document=doc, position=at)))
        edit = await answer(client.text_document_rename_async(
            types.RenameParams(text_document=doc, position=at, new_name="due")))
        out["renamed"] = _apply(text, edit.changes[doc.uri])
        grace = _at("grace", within="<= deadline + grace")
        for name, request in (
                ("prepare_parameter", client.text_document_prepare_rename_async(types.PrepareRenameParams(
                    text_document=doc, position=types.Position(line=grace[0], character=grace[1])))),
                ("rename_taken", client.text_document_rename_async(types.RenameParams(
                    text_document=doc, position=at, new_name="note")))):
            try:
                out[name] = await answer(request)
            except JsonRpcException as exc:
                out[name] = exc
        nothing = _at("deadline", within='"deadline"')
        out["nothing"] = await answer(client.text_document_references_async(types.ReferenceParams(
            text_document=doc, position=types.Position(line=nothing[0], character=nothing[1]),
            context=types.ReferenceContext(include_declaration=True))))
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("rename") / "ships" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(POLICY, encoding="utf-8")
    return {**asyncio.run(_session(path)), "path": path}


def test_references_are_the_lets_places(session: dict[str, Any]) -> None:
    got = [(r.range.start.line, r.range.start.character, r.range.end.character) for r in session["references"]]
    assert got == DEADLINE
    assert session["nothing"] is None  # a word in a string names nothing


def test_rename_renames_every_place_and_nothing_else(session: dict[str, Any]) -> None:
    line, start, end = DEADLINE[1]
    prepared = session["prepare"]
    assert (prepared.start.line, prepared.start.character, prepared.end.character) == (line, start, end)
    expected = POLICY.replace("      deadline: order.group_success_at + 48h", "      due: order.group_success_at + 48h") \
        .replace("<= deadline + grace", "<= due + grace").replace("{deadline + grace}", "{due + grace}") \
        .replace("order.shipped_at > deadline\n", "order.shipped_at > due\n")
    assert session["renamed"] == expected


def test_a_refused_rename_says_why(session: dict[str, Any]) -> None:
    for name, why in (("prepare_parameter", "deployment overlays"), ("rename_taken", "'note' is already a let")):
        error = session[name]
        assert isinstance(error, JsonRpcException) and error.code == -32803 and why in error.message


def test_semantic_tokens_decode_to_the_highlighted_tokens(session: dict[str, Any]) -> None:
    data, expected = list(session["tokens"].data), highlight(analyse(session["path"], POLICY, FUNCTIONS))
    decoded, line, start = [], 0, 0
    for i in range(0, len(data), 5):
        d_line, d_start, length, kind, mods = data[i:i + 5]
        line, start = line + d_line, (start if d_line == 0 else 0) + d_start
        decoded.append((line, start, start + length, TYPES[kind],
                        tuple(m for bit, m in enumerate(MODIFIERS) if mods & (1 << bit))))
    assert decoded == expected and len(decoded) > 40


def test_document_highlight_marks_the_key_written_and_the_uses_read(session: dict[str, Any]) -> None:
    got = [((h.range.start.line, h.range.start.character, h.range.end.character), h.kind)
           for h in session["highlights"]]
    assert got == [(DEADLINE[0], types.DocumentHighlightKind.Write),
                   *((place, types.DocumentHighlightKind.Read) for place in DEADLINE[1:])]

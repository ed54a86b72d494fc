"""The language server's editing features, driven by a real LSP client over stdio: lint's warnings as
diagnostics (on open and save; kept while typing on the lines that still read as then), a quick fix for a
misspelt name applied by the client, and formatting by ``fmt``'s rules (or nothing, with the reason shown).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lspclient import Client, answer, find, opened, replace_text
from lsprotocol import types
from test_editing import LINTED, UNFORMATTED

from policy_eval.authoring.fmt import format_text
from policy_eval.authoring.highlight import MODIFIERS, TYPES


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply text edits as a client does (positions in UTF-16 units; the fixture is in the BMP), last first."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def at(p: types.Position) -> int:
        return offsets[p.line] + p.character if p.line < len(lines) else len(text)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:at(e.range.start)] + e.new_text + text[at(e.range.end):]
    return text


def _summary(params: types.PublishDiagnosticsParams) -> list[tuple[str | None, Any, int]]:
    return [(d.source, d.code, d.range.start.line) for d in params.diagnostics]


async def _session(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    shown: list[types.ShowMessageParams] = []
    async with opened(path) as (client, doc, text):
        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            shown.append(params)

        out["open"] = await answer(client.diagnostics.get())
        unused = find(text, "      unused: order.shipped_at")[0]
        out["lint_actions"] = await answer(client.text_document_code_action_async(types.CodeActionParams(
            text_document=doc, range=types.Range(start=types.Position(line=unused, character=0),
                                                 end=types.Position(line=unused, character=0)),
            context=types.CodeActionContext(diagnostics=[]))))
        out["lint_removed"] = _apply(text, out["lint_actions"][0].edit.changes[doc.uri])
        # a misspelt let, typed and not saved: the error only (lint runs on policies that load)
        line, col = find(text, "deadline + grace")
        typo = text.replace("deadline + grace", "dedline + grace")
        replace_text(client, doc, 2, typo)
        out["typo"] = await answer(client.diagnostics.get())
        out["typo_at"] = (line, col)
        out["actions"] = await answer(client.text_document_code_action_async(types.CodeActionParams(
            text_document=doc, range=types.Range(start=types.Position(line=line, character=0),
                                                 end=types.Position(line=line, character=0)),
            context=types.CodeActionContext(diagnostics=list(out["typo"].diagnostics)))))
        out["no_actions"] = await answer(client.text_document_code_action_async(types.CodeActionParams(
            text_document=doc, range=types.Range(start=types.Position(line=0, character=0),
                                                 end=types.Position(line=1, character=0)),
            context=types.CodeActionContext(diagnostics=[]))))
        [action] = out["actions"]
        fixed = _apply(typo, action.edit.changes[doc.uri])
        out["fixed_text"] = fixed
        replace_text(client, doc, 3, fixed)
        out["fixed"] = await answer(client.diagnostics.get())
        # the unused let deleted (unsaved): its finding goes, the others stay; saved: lint runs again
        no_let = fixed.replace("      unused: order.shipped_at\n", "")
        replace_text(client, doc, 4, no_let)
        out["edited"] = await answer(client.diagnostics.get())
        path.write_text(no_let, encoding="utf-8")
        client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=doc))
        out["saved"] = await answer(client.diagnostics.get())
        out["saved_spare"] = find(no_let, "  spare: 3d")[0]
        # formatting: the edits give fmt's text; a canonical text gets none; one fmt refuses, none and a message
        options = types.FormattingOptions(tab_size=2, insert_spaces=True)
        messy = no_let.replace("  grace:\n    type: duration\n    value: 2d\n", "  grace:\n    value:   2d\n    type: duration\n")
        assert messy != no_let
        replace_text(client, doc, 5, messy)
        await answer(client.diagnostics.get())
        out["format"] = await answer(client.text_document_formatting_async(
            types.DocumentFormattingParams(text_document=doc, options=options)))
        out["messy"] = messy
        replace_text(client, doc, 6, no_let)
        await answer(client.diagnostics.get())
        out["format_canonical"] = await answer(client.text_document_formatting_async(
            types.DocumentFormattingParams(text_document=doc, options=options)))
        replace_text(client, doc, 7, no_let.replace("    severity: low", "\tseverity: low"))
        await answer(client.diagnostics.get())
        out["format_refused"] = await answer(client.text_document_formatting_async(
            types.DocumentFormattingParams(text_document=doc, options=options)))
        for _ in range(100):  # (the message is a notification: it may follow the answer)
            if shown:
                break
            await asyncio.sleep(0.05)
        out["shown"] = list(shown)
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("editing") / "ships" / "v1.yaml"
    path.parent.mkdir()
    path.write_text(LINTED, encoding="utf-8")
    return {**asyncio.run(_session(path)), "path": path}


def _line(needle: str) -> int:
    return find(LINTED, needle)[0]


def test_lint_warnings_are_shown_on_open(session: dict[str, Any]) -> None:
    spare, unused = _line("  spare: 3d"), _line("      unused: order.shipped_at")
    assert _summary(session["open"]) == [("policy-eval lint", "parameter-without-clause", spare),
                                         ("policy-eval lint", "unused-parameter", spare),
                                         ("policy-eval lint", "unused-let", unused)]
    d = session["open"].diagnostics[2]
    assert d.severity == types.DiagnosticSeverity.Warning
    assert (d.range.start.character, d.range.end.character) == (6, 12)  # the let's name
    assert d.message == "rule 'ships-in-time': let 'unused' is not used"


def test_an_error_hides_lint_until_the_policy_loads_again(session: dict[str, Any]) -> None:
    [d] = session["typo"].diagnostics
    assert d.source == "policy-eval" and (d.range.start.line, d.range.start.character) == session["typo_at"]
    assert "did you mean 'deadline'?" in d.message
    assert _summary(session["fixed"]) == _summary(session["open"])  # lines unchanged: the findings are back


def test_the_quick_fix_writes_the_name_meant(session: dict[str, Any]) -> None:
    [action] = session["actions"]
    assert action.kind == types.CodeActionKind.QuickFix and action.title == "Write 'deadline' for 'dedline'"
    [edit] = action.edit.changes[next(iter(action.edit.changes))]
    line, col = session["typo_at"]
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character) == (line, col, col + 7)
    assert session["fixed_text"] == LINTED
    assert list(session["no_actions"]) == []  # none on lines without a fixable error


def test_an_edited_line_loses_its_finding_until_saved(session: dict[str, Any]) -> None:
    spare = _line("  spare: 3d")
    assert _summary(session["edited"]) == [("policy-eval lint", "parameter-without-clause", spare),
                                           ("policy-eval lint", "unused-parameter", spare)]
    assert _summary(session["saved"]) == [("policy-eval lint", "parameter-without-clause", session["saved_spare"]),
                                          ("policy-eval lint", "unused-parameter", session["saved_spare"])]


def test_formatting_gives_fmts_text(session: dict[str, Any]) -> None:
    edits = session["format"]
    assert edits and _apply(session["messy"], edits) == format_text(session["messy"], "v1.yaml")
    grace = find(session["messy"], "  grace:")[0]  # (only the lines fmt changes: the parameter's two values)
    assert all(grace < e.range.start.line <= e.range.end.line <= grace + 3 for e in edits)
    assert list(session["format_canonical"]) == []
    assert UNFORMATTED != format_text(UNFORMATTED, "x.yaml")


def test_formatting_a_file_fmt_refuses_changes_nothing_and_says_why(session: dict[str, Any]) -> None:
    assert session["format_refused"] is None
    [message] = session["shown"]
    assert message.type == types.MessageType.Warning
    assert message.message.startswith("policy-eval fmt: ") and "v1.yaml:" in message.message
    assert "\n" not in message.message


def test_the_server_says_what_it_offers() -> None:
    async def capabilities() -> types.ServerCapabilities:
        client = Client()
        from lspclient import PE
        await client.start_io(str(PE), "lsp")
        try:
            caps = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
                rename=types.RenameClientCapabilities(prepare_support=True)))  # (else no RenameOptions: the spec)
            result = await answer(client.initialize_async(types.InitializeParams(capabilities=caps)))
            await answer(client.shutdown_async(None))
            client.exit(None)
        finally:
            server = getattr(client, "_server", None)
            if server is not None and server.returncode is None:
                server.kill()
            await answer(client.stop())
        return result.capabilities

    caps = asyncio.run(capabilities())
    assert caps.document_formatting_provider
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert list(caps.code_action_provider.code_action_kinds or ()) == [types.CodeActionKind.QuickFix]
    assert caps.references_provider and isinstance(caps.rename_provider, types.RenameOptions)
    assert caps.rename_provider.prepare_provider
    tokens = caps.semantic_tokens_provider
    assert isinstance(tokens, types.SemanticTokensOptions) and tokens.full
    assert list(tokens.legend.token_types) == list(TYPES) and list(tokens.legend.token_modifiers) == list(MODIFIERS)


def test_a_lint_warning_s_quick_fix_removes_the_unused_let(session: dict[str, Any]) -> None:
    [action] = session["lint_actions"]
    assert action.title == "Remove the unused let 'unused'" and action.kind == types.CodeActionKind.QuickFix
    assert session["lint_removed"] == LINTED.replace("      unused: order.shipped_at\n", "")

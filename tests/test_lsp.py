"""The language server driven by a real LSP client over stdio (``policy-eval lsp`` in a subprocess).

The session: open a policy, type a misspelt field, receive the diagnostic at the right line and column
with the suggestion, hover a parameter, complete a field; then definition, symbols, code lens, command.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.lsp.client import BaseLanguageClient

ROOT = Path(__file__).resolve().parent.parent
PE = Path(sys.executable).parent / "policy-eval"
POLICY = ROOT / "policies" / "after_sales" / "v2.yaml"
TIMEOUT = 120  # seconds for one answer on a loaded machine (the server loads the language once)


class Client(BaseLanguageClient):
    def __init__(self) -> None:
        super().__init__("policy-eval-test", "1")
        self.diagnostics: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics.put_nowait(params)


def _find(text: str, needle: str, after: str = "") -> tuple[int, int]:
    """0-based (line, column) of ``needle`` (the first after the line holding ``after``)."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    for i in range(start, len(lines)):
        if needle in lines[i]:
            return i, lines[i].index(needle)
    raise AssertionError(f"{needle!r} not found")


async def _session(tmp_path: Path) -> dict[str, Any]:
    client = Client()
    await client.start_io(str(PE), "lsp")
    out: dict[str, Any] = {}
    try:
        await asyncio.wait_for(client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=ROOT.as_uri())), TIMEOUT)
        client.initialized(types.InitializedParams())
        uri = POLICY.as_uri()
        text = POLICY.read_text(encoding="utf-8")
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=uri, language_id="yaml", version=1, text=text)))
        out["open"] = await asyncio.wait_for(client.diagnostics.get(), TIMEOUT)

        # type a misspelt field: order.shipped_at -> order.shiped_at in the first rule's let
        line, col = _find(text, "order.shipped_at", after="shipped_before_submission:")
        edited = text.split("\n")
        edited[line] = edited[line][:col] + "order.shiped_at" + edited[line][col + len("order.shipped_at"):]
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="\n".join(edited))]))
        out["typo"] = await asyncio.wait_for(client.diagnostics.get(), TIMEOUT)
        out["typo_at"] = (line, col)
        # a typo on a continuation line of a folded (>-) multi-line condition
        line2, col2 = _find(text, "order.promised_ship_by", after="id: merchant-verification-cooperation")
        edited2 = text.split("\n")
        edited2[line2] = edited2[line2].replace("order.promised_ship_by", "order.promised_ship_bye", 1)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="\n".join(edited2))]))
        out["typo2"] = await asyncio.wait_for(client.diagnostics.get(), TIMEOUT)
        out["typo2_at"] = (line2, col2)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        out["fixed"] = await asyncio.wait_for(client.diagnostics.get(), TIMEOUT)

        doc = types.TextDocumentIdentifier(uri=uri)
        pl, pc = _find(text, "receipt_window", after="receipt_end:")
        out["param_use"] = (pl, pc)
        out["hover_param"] = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
            text_document=doc, position=types.Position(line=pl, character=pc + 3))), TIMEOUT)
        fl, fc = _find(text, "order.received_at", after="receipt_end:")
        out["hover_field"] = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
            text_document=doc, position=types.Position(line=fl, character=fc + 8))), TIMEOUT)
        out["definition"] = await asyncio.wait_for(client.text_document_definition_async(types.DefinitionParams(
            text_document=doc, position=types.Position(line=pl, character=pc + 3))), TIMEOUT)
        out["param_def"] = _find(text, "  receipt_window:")
        # complete a field: "order." typed at the end of a condition line
        typed = text.split("\n")
        cl, _ = _find(text, "order.received_at + receipt_window", after="receipt_end:")
        typed[cl] = typed[cl] + " and order."
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=4),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="\n".join(typed))]))
        await asyncio.wait_for(client.diagnostics.get(), TIMEOUT)
        out["complete_field"] = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(
            text_document=doc, position=types.Position(line=cl, character=len(typed[cl])))), TIMEOUT)
        el, ec = _find(text, 'request.type == "return_refund"')
        typed2 = list(typed)
        typed2[el] = typed2[el][:ec] + 'request.type == "'
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=5),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="\n".join(typed2))]))
        await asyncio.wait_for(client.diagnostics.get(), TIMEOUT)
        out["complete_enum"] = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(
            text_document=doc, position=types.Position(line=el, character=len(typed2[el])))), TIMEOUT)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=6),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        await asyncio.wait_for(client.diagnostics.get(), TIMEOUT)
        out["symbols"] = await asyncio.wait_for(client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=doc)), TIMEOUT)
        out["lenses"] = await asyncio.wait_for(client.text_document_code_lens_async(
            types.CodeLensParams(text_document=doc)), TIMEOUT)
        lens = next(x for x in out["lenses"] if x.command.arguments[1] == "return-refund-eligibility")
        out["evaluate"] = await asyncio.wait_for(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=lens.command.command, arguments=lens.command.arguments)), TIMEOUT)
        out["text"] = text
        await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
        client.exit(None)
    finally:
        # a failed step must fail the test, not hang it: the server may still be running
        server = getattr(client, "_server", None)
        if server is not None and server.returncode is None:
            server.kill()
        await asyncio.wait_for(client.stop(), TIMEOUT)
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(_session(tmp_path_factory.mktemp("lsp")))


def test_bundled_policy_opens_without_diagnostics(session: dict[str, Any]) -> None:
    assert list(session["open"].diagnostics) == []


def test_misspelt_field_is_diagnosed_at_its_place_with_the_suggestion(session: dict[str, Any]) -> None:
    [d] = session["typo"].diagnostics
    line, col = session["typo_at"]
    # the unknown field name itself: "shiped_at" after "order."
    assert (d.range.start.line, d.range.start.character) == (line, col + len("order."))
    assert (d.range.end.line, d.range.end.character) == (line, col + len("order.shiped_at"))
    assert "shiped_at" in d.message and "did you mean 'shipped_at'?" in d.message
    assert d.severity == types.DiagnosticSeverity.Error
    assert list(session["fixed"].diagnostics) == []  # and it goes away when fixed


def test_position_is_exact_inside_a_multi_line_condition(session: dict[str, Any]) -> None:
    [d] = session["typo2"].diagnostics
    line, col = session["typo2_at"]
    assert (d.range.start.line, d.range.start.character) == (line, col + len("order."))
    assert "did you mean 'promised_ship_by'?" in d.message


def test_hover_parameter_shows_value_and_clause(session: dict[str, Any]) -> None:
    value = session["hover_param"].contents.value
    assert "receipt_window" in value and "15d" in value and "售后服务规则 2.1" in value


def test_hover_case_field_shows_type_and_schema_description(session: dict[str, Any]) -> None:
    value = session["hover_field"].contents.value
    assert "order.received_at" in value and "datetime" in value and "确认收货" in value


def test_definition_of_a_parameter(session: dict[str, Any]) -> None:
    loc = session["definition"]
    loc = loc[0] if isinstance(loc, list) else loc
    assert (loc.range.start.line, loc.range.start.character) == (session["param_def"][0], 2)


def test_completion_of_a_field_after_the_dot(session: dict[str, Any]) -> None:
    labels = {i.label for i in session["complete_field"].items}
    assert {"received_at", "shipped_at", "category", "promised_after_sale_days"} <= labels
    assert "refund_only" not in labels


def test_completion_of_enum_values(session: dict[str, Any]) -> None:
    labels = {i.label for i in session["complete_enum"].items}
    assert labels == {"refund_only", "return_refund"}


def test_document_symbols_list_policy_parameters_and_rules(session: dict[str, Any]) -> None:
    names = [s.name for s in session["symbols"]]
    assert names[0] == "after-sales v2"
    assert "receipt_window" in names and "refund-only-window" in names
    rule = next(s for s in session["symbols"] if s.name == "return-refund-eligibility")
    assert [c.name for c in rule.children] == []  # its tests are the policy's shared definitions now


def test_code_lens_evaluates_the_rule_on_an_example_case(session: dict[str, Any]) -> None:
    result = session["evaluate"]
    assert result["rule"] == "after-sales/return-refund-eligibility"
    assert result["case"].endswith(".json") and "examples" in result["case"]
    assert result["outcome"] in ("complied", "violated", "not_applicable", "undetermined")

"""Policy-level ``definitions`` in the language server, driven by a real LSP client over stdio (issue 15).

Before: the document symbols (the editor's outline) listed the policy, its parameters and its rules, but
not the ``definitions:`` shared by the rules, so after after-sales v2 moved its lets there the outline of
that file lost them; go to definition, hover and completion did not know them either. Now each definition
is a symbol spanning its lines, and a rule's use of one leads to it, hovers with its expression and is
offered in completion.
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
TIMEOUT = 120  # seconds for one answer on a loaded machine


def _find(lines: list[str], needle: str, after: str = "") -> tuple[int, int]:
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    for i in range(start, len(lines)):
        if needle in lines[i]:
            return i, lines[i].index(needle)
    raise AssertionError(f"{needle!r} not found")


async def _session() -> dict[str, Any]:
    client = BaseLanguageClient("policy-eval-test", "1")
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
        doc = types.TextDocumentIdentifier(uri=uri)
        out["symbols"] = await asyncio.wait_for(client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=doc)), TIMEOUT)
        lines = text.split("\n")
        # the first rule's `require: shipped_before_submission and not special_order`
        ul, uc = _find(lines, "shipped_before_submission", after="id: return-refund-eligibility")
        at = types.Position(line=ul, character=uc + 4)
        out["definition"] = await asyncio.wait_for(client.text_document_definition_async(
            types.DefinitionParams(text_document=doc, position=at)), TIMEOUT)
        out["hover"] = await asyncio.wait_for(client.text_document_hover_async(
            types.HoverParams(text_document=doc, position=at)), TIMEOUT)
        out["complete"] = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(
            text_document=doc, position=types.Position(line=ul, character=uc))), TIMEOUT)
        out["lines"] = lines
        await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
        client.exit(None)
    finally:  # a failed step fails the test instead of hanging it
        server = getattr(client, "_server", None)
        if server is not None and server.returncode is None:
            server.kill()
        await asyncio.wait_for(client.stop(), TIMEOUT)
    return out


@pytest.fixture(scope="module")
def session() -> dict[str, Any]:
    return asyncio.run(_session())


def _shared(lines: list[str]) -> list[str]:
    """The definition names of the file, read from its text: the keys indented two spaces under
    ``definitions:`` up to the next top-level key."""
    start = lines.index("definitions:")
    names = []
    for line in lines[start + 1:]:
        if line and not line.startswith((" ", "#")):
            break
        if line.startswith("  ") and not line.startswith("   ") and not line.lstrip().startswith("#") and ":" in line:
            names.append(line.strip().split(":")[0])
    return names


def test_the_outline_lists_every_definition_where_it_stands(session: dict[str, Any]) -> None:
    lines: list[str] = session["lines"]
    expected = _shared(lines)
    assert "shipped_before_submission" in expected and len(expected) >= 8
    symbols = session["symbols"]
    shared = [s for s in symbols if s.kind == types.SymbolKind.Variable]
    assert [s.name for s in shared] == expected
    names = [s.name for s in symbols]
    # file order: the policy, parameters, definitions, then the rules
    assert names.index("receipt_window") < names.index(expected[0]) < names.index("return-refund-eligibility")
    for s in shared:
        assert lines[s.selection_range.start.line].startswith(f"  {s.name}:")
    # a folded (>-) definition spans its continuation lines
    folded = next(s for s in shared if s.name == "submitted_by_window_end")
    assert folded.range.end.line - folded.range.start.line >= 2
    assert lines[folded.range.end.line].startswith("    ")  # its last continuation line
    assert not lines[folded.range.end.line + 1].startswith("    ")  # the next key (or a comment) follows


def test_go_to_definition_hover_and_completion_know_definitions(session: dict[str, Any]) -> None:
    lines: list[str] = session["lines"]
    loc = session["definition"]
    assert loc is not None and lines[loc.range.start.line].startswith("  shipped_before_submission:")
    assert loc.range.start.character == 2
    hover = session["hover"]
    assert hover is not None and "**definition** `shipped_before_submission`" in hover.contents.value
    assert "order.shipped_at <= request.submitted_at" in hover.contents.value
    items = session["complete"].items if hasattr(session["complete"], "items") else session["complete"]
    offered = {i.label: i for i in items}
    assert "window_end" in offered and offered["window_end"].kind == types.CompletionItemKind.Variable

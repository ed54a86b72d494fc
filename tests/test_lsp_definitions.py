"""Policy-level ``definitions`` in the language server, driven by a real LSP client over stdio (issue 15).

Before: the document symbols (the editor's outline) listed the policy, its parameters and its rules, but
not the ``definitions:`` shared by the rules, so after after-sales v2 moved its lets there the outline of
that file lost them; go to definition, hover and completion did not know them either. Now each definition
is a symbol spanning its lines, and a rule's use of one leads to it, hovers with its expression and is
offered in completion.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lspclient import answer, find, opened
from lsprotocol import types


async def _session() -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with opened() as (client, doc, text):
        out["symbols"] = await answer(client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=doc)))
        lines = text.split("\n")
        # the first rule's `require: shipped_before_submission and not special_order`
        ul, uc = find(lines, "shipped_before_submission", after="id: return-refund-eligibility")
        at = types.Position(line=ul, character=uc + 4)
        out["definition"] = await answer(client.text_document_definition_async(
            types.DefinitionParams(text_document=doc, position=at)))
        out["hover"] = await answer(client.text_document_hover_async(types.HoverParams(text_document=doc, position=at)))
        out["complete"] = await answer(client.text_document_completion_async(types.CompletionParams(
            text_document=doc, position=types.Position(line=ul, character=uc))))
        out["lines"] = lines
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

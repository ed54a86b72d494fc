"""Language-server positions in the client's units and ranges over whole words (an author's audit, 2026-12-02).

LSP positions count UTF-16 code units unless the client picks another encoding; the checker counts columns in
code points. A character beyond the BMP (𠮷, 😀) is one code point and two UTF-16 units, so a diagnostic after
one was underlined one unit to the left per such character, and a hover or a go-to-definition request after one
looked one character to the right. And the range of an error on a rule id or a date stopped at its first dash.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lspclient import answer, find, opened, replace_text
from lsprotocol import types


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def _session() -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with opened() as (client, doc, text):
        await answer(client.diagnostics.get())
        lines = text.split("\n")
        # a typo after two astral characters on the same line of a condition
        line, col = find(text, "order.received_at", after="receipt_end:")
        prefix = 'contains("𠮷😀", "x") or '
        lines[line] = lines[line][:col] + prefix + "order.recieved_at" + lines[line][col + len("order.received_at"):]
        out["typo_line"] = lines[line]
        replace_text(client, doc, 2, "\n".join(lines))
        out["typo"] = await answer(client.diagnostics.get())
        out["typo_at"] = (line, col + len(prefix))
        # hover a parameter written after the astral characters, at UTF-16 units
        pl, pc = find("\n".join(lines), "receipt_window", after="receipt_end:")
        out["hover"] = await answer(client.text_document_hover_async(types.HoverParams(
            text_document=doc, position=types.Position(line=pl, character=_utf16(lines[pl][:pc]) + len("receipt_window") - 1))))
        # a duplicate rule id: the range covers the whole id, dashes included
        rid_line, rid_col = find(text, "id: refund-only-window")
        dup = text.split("\n")
        other, ocol = find(text, "id: refund-only-handling-limit")
        dup[other] = dup[other][:ocol] + "id: refund-only-window"
        replace_text(client, doc, 3, "\n".join(dup))
        out["dup"] = await answer(client.diagnostics.get())
        out["dup_line"] = dup[other]
    return out


@pytest.fixture(scope="module")
def session() -> dict[str, Any]:
    return asyncio.run(_session())


def test_a_diagnostic_after_astral_characters_is_in_utf16_units(session: dict[str, Any]) -> None:
    (d,) = [d for d in session["typo"].diagnostics if "recieved_at" in d.message]
    line, col = session["typo_at"]
    text = session["typo_line"]
    at = col + len("order.")  # the checker points at the unknown field's name
    assert d.range.start == types.Position(line=line, character=_utf16(text[:at]))  # 2 units more than code points
    assert d.range.end.character - d.range.start.character == len("recieved_at")


def test_a_hover_after_astral_characters_reads_the_clients_units(session: dict[str, Any]) -> None:
    assert session["hover"] is not None and "receipt_window" in session["hover"].contents.value


def test_the_range_of_an_error_on_a_rule_id_covers_the_whole_id(session: dict[str, Any]) -> None:
    found = [d for d in session["dup"].diagnostics if "refund-only-window" in d.message]
    assert found, [d.message for d in session["dup"].diagnostics]
    ranges = [d.range for d in found]
    assert any(r.end.character - r.start.character >= len("refund-only-window") for r in ranges), ranges

"""A real LSP client driving ``policy-eval lsp`` in a subprocess over stdio, for the language server tests
(tests/test_lsp.py, tests/test_lsp_definitions.py).

    async with opened(POLICY) as (client, doc, text):  # started, initialized, the file opened
        hover = await answer(client.text_document_hover_async(...))

On leaving, the server is shut down; a step that failed fails the test instead of hanging it (a server
still running is killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from lsprotocol import types
from pygls.lsp.client import BaseLanguageClient

__all__ = ["ROOT", "PE", "POLICY", "TIMEOUT", "Client", "answer", "opened", "open_document", "replace_text", "find"]

ROOT = Path(__file__).resolve().parent.parent
PE = Path(sys.executable).parent / "policy-eval"
POLICY = ROOT / "policies" / "after_sales" / "v2.yaml"
TIMEOUT = 120  # seconds for one answer on a loaded machine (the server loads the language once)

T = TypeVar("T")


class Client(BaseLanguageClient):
    """A client that keeps the diagnostics the server publishes, in order."""

    def __init__(self) -> None:
        super().__init__("policy-eval-test", "1")
        self.diagnostics: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics.put_nowait(params)


async def answer(pending: Awaitable[T]) -> T:
    """The server's answer, or a timeout after :data:`TIMEOUT` seconds."""
    return await asyncio.wait_for(pending, TIMEOUT)


@contextlib.asynccontextmanager
async def opened(path: Path = POLICY, args: Sequence[str] = (), env: Mapping[str, str] | None = None
                 ) -> AsyncIterator[tuple[Client, types.TextDocumentIdentifier, str]]:
    """A started and initialized client with ``path`` opened: (client, the document, its text).
    ``args``: more arguments for ``policy-eval lsp``; ``env``: variables added to the server's environment."""
    client = Client()
    await client.start_io(str(PE), "lsp", *args, env={**os.environ, **env} if env else None)
    try:
        await answer(client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=ROOT.as_uri())))
        client.initialized(types.InitializedParams())
        doc, text = open_document(client, path)
        yield client, doc, text
        await answer(client.shutdown_async(None))
        client.exit(None)
    finally:  # a failed step must fail the test, not hang it: the server may still be running
        server = getattr(client, "_server", None)
        if server is not None and server.returncode is None:
            server.kill()
        await answer(client.stop())


def open_document(client: Client, path: Path, text: str | None = None) -> tuple[types.TextDocumentIdentifier, str]:
    """Open ``path`` in the client (with ``text``, else the file's): (the document, its text)."""
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=path.as_uri(), language_id="yaml", version=1, text=text)))
    return types.TextDocumentIdentifier(uri=path.as_uri()), text


def replace_text(client: Client, doc: types.TextDocumentIdentifier, version: int, text: str) -> None:
    """Send the document's whole new text (as an editor does after an edit)."""
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def find(text: str | list[str], needle: str, after: str = "") -> tuple[int, int]:
    """0-based (line, column) of ``needle`` in a text or its lines (the first after the line holding
    ``after``)."""
    lines = text.split("\n") if isinstance(text, str) else text
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    for i in range(start, len(lines)):
        if needle in lines[i]:
            return i, lines[i].index(needle)
    raise AssertionError(f"{needle!r} not found")

"""The language server (a face): ``policy-eval lsp`` speaks LSP over stdio.

A thin layer over :mod:`policy_eval.authoring.outline` (the same loader and checker as ``check``):
diagnostics as you type (lint's warnings on open and save), quick fixes, formatting, hover, completion, go to
definition, references and rename, document symbols, and a code lens that evaluates a rule on an example case.
Set-up for editors: docs/editors.md.
"""

from __future__ import annotations

import contextlib
from typing import IO, BinaryIO, cast

__all__ = ["serve"]


class _Unclosed:
    """The server's output for pygls, which closes it on ``exit``: flushed then, never closed. Closing
    ``sys.stdout`` under the CLI made its final flush fail ("I/O operation on closed file"), and a clean
    shutdown end as an internal error with a traceback and exit status 1."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        return self._stream.write(data)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the client may be gone already: nothing is left to say
            self._stream.flush()


def serve(stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Run the server on ``stdin``/``stdout`` (default: the process's) until the client says ``exit`` or
    its input ends; return the exit status the LSP asks for: 0 when the client sent ``shutdown`` first,
    else 1. ``stdout`` is left open."""
    import sys

    from policy_eval.lsp.server import build_server

    server = build_server()
    server.start_io(cast(BinaryIO, stdin or sys.stdin.buffer), cast(BinaryIO, _Unclosed(stdout or sys.stdout.buffer)))
    return 0 if server.shut_down else 1

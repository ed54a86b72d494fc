"""``policy-eval lsp``: the language server over stdio (docs/editors.md)."""

from __future__ import annotations

import argparse
from typing import IO, Any

__all__ = ["add_parser", "cmd_lsp"]


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "lsp", parents=parents, help="run the language server on stdin/stdout (for editors; docs/editors.md)",
        description="Speak the Language Server Protocol over stdin/stdout: diagnostics as you type, hover, "
                    "completion, go to definition, document symbols and a code lens that evaluates a rule.")
    return p


def cmd_lsp(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.lsp import serve

    serve()
    return 0

"""``policy-eval lsp``: the language server over stdio (docs/editors.md)."""

from __future__ import annotations

import argparse
from typing import IO

from policy_eval.cli import options
from policy_eval.cli.commands import Subparsers

__all__ = ["register", "run"]


def register(sub: Subparsers) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "lsp", parents=[options.plugin()], help="run the language server on stdin/stdout (for editors; docs/editors.md)",
        description="Speak the Language Server Protocol over stdin/stdout: diagnostics as you type, hover, "
                    "completion, go to definition, document symbols and a code lens that evaluates a rule.")
    return p


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.lsp import serve

    serve()
    return 0

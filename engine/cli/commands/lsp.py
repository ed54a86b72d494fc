"""``policy-eval lsp``: the language server over stdio (docs/editors.md; needs the ``lsp`` extra)."""

from __future__ import annotations

import argparse
from typing import IO

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers

__all__ = ["register", "run", "MISSING"]

MISSING = "policy-eval lsp needs the lsp extra: pip install 'policy-eval[lsp]' (pygls, lsprotocol)"
_EXTRA = ("pygls", "lsprotocol", "cattrs", "attrs")  # what the extra installs; another missing module is a bug


def register(sub: Subparsers) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "lsp", parents=[options.plugin()], help="run the language server on stdin/stdout (for editors; docs/editors.md)",
        description="Speak the Language Server Protocol over stdin/stdout: diagnostics as you type, hover, "
                    "completion, go to definition, document symbols and a code lens that evaluates a rule. "
                    "--plugin modules are loaded first, so their functions are known to the server.")
    return p


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.plugin_manager import get_plugin_manager

    try:
        from policy_eval.lsp import serve
        from policy_eval.lsp.server import build_server  # noqa: F401  (imports pygls: fails here without the extra)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in _EXTRA:
            raise
        err.write(MISSING + "\n")
        return common.EXIT_USAGE
    pm = get_plugin_manager()
    for plugin in args.plugin:  # as eval does: the server's checker asks the same manager for functions
        pm.add(plugin)
    return serve()  # 0 after the client's shutdown, else 1 (the LSP's exit status)

"""The language server (a face): ``policy-eval lsp`` speaks LSP over stdio.

A thin layer over :mod:`policy_eval.authoring.outline` (the same loader and checker as ``check``):
diagnostics as you type, hover, completion, go to definition, document symbols, and a code lens that
evaluates a rule on an example case. Set-up for editors: docs/editors.md.
"""

__all__ = ["serve"]


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    from policy_eval.lsp.server import build_server

    build_server().start_io()

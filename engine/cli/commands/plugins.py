"""``policy-eval plugins``: the loaded plugins and the functions, reporters and loaders they provide."""

from __future__ import annotations

import argparse
from typing import IO

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers


def register(sub: Subparsers) -> argparse.ArgumentParser:
    return sub.add_parser("plugins", parents=[options.plugin()],
                          help="list loaded plugins, functions, loaders and reporters",
                          description="List the loaded plugins and what they provide.")


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.plugin_manager import get_plugin_manager

    pm = get_plugin_manager()
    for plugin in args.plugin:
        pm.add(plugin)
    out.write("plugins:\n")
    for row in pm.describe():
        out.write(f"  {row['name']:40} {row['version']}\n")
    functions = sorted(pm.functions(), key=lambda f: f.name)
    width = max((len(fn.signature()) for fn in functions), default=0)
    out.write("functions:\n")
    for fn in functions:
        out.write(f"  {fn.signature():{width}}  [{fn.plugin}]\n")
    out.write(f"reporters (eval --format): {', '.join(sorted(pm.reporters()))}\n")
    out.write(f"case loaders (eval --input-format): {', '.join(['json', 'jsonl', *sorted(pm.loaders())])}\n")
    return common.EXIT_OK

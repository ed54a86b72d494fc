"""The commands of ``policy-eval``: one module each, listed in :data:`NAMES` in the order ``--help`` shows them.

A command module defines two functions::

    def register(sub: Subparsers) -> argparse.ArgumentParser:
        # add the sub-parser and its options; shared option groups come from policy_eval.cli.options
        p = sub.add_parser("name", parents=[options.plugin(), options.policies()], help="...")
        p.add_argument(...)
        return p

    def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
        ...  # return an exit code from policy_eval.cli.common; raise common.UsageError for exit 2

Adding a command is one new file here and its name on one line of :data:`NAMES`. Import heavy modules
inside ``run``, not at the top: every command module is imported to build the parser, even for ``--help``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import IO, TypeAlias

__all__ = ["NAMES", "Handler", "Subparsers", "modules"]

NAMES: tuple[str, ...] = (
    "check",
    "eval",
    "explain",
    "due",
    "test",
    "diff",
    "rules",
    "plugins",
    "serve",
    "lint",
    "fmt",
    "lsp",
    "completion",
    "schema",
)

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = Callable[[argparse.Namespace, IO[str], IO[str], "IO[bytes] | None"], int]


def modules() -> list[ModuleType]:
    """The command modules, in :data:`NAMES` order."""
    return [importlib.import_module(f"{__name__}.{name}") for name in NAMES]

"""``policy-eval completion SHELL``: the shell code that makes TAB complete commands, options and rule ids.

Uses argcomplete: the shell asks ``policy-eval`` itself what may come next, so completion always matches
the installed version, and ``--rule``/``--skip`` complete the rule ids of the policy folder given by
``-p`` (or the bundled rulebook).
"""

from __future__ import annotations

import argparse
from typing import IO

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers

__all__ = ["register", "run"]

SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")

_EPILOG = """\
examples:
  eval "$(policy-eval completion bash)"        in ~/.bashrc
  eval "$(policy-eval completion zsh)"         in ~/.zshrc
  policy-eval completion fish > ~/.config/fish/completions/policy-eval.fish
"""


def register(sub: Subparsers) -> argparse.ArgumentParser:
    p = sub.add_parser("completion", formatter_class=options.FORMATTER, epilog=_EPILOG,
                       help="print the shell code for TAB completion (bash, zsh, fish, tcsh, powershell)",
                       description="Print the code that makes your shell complete policy-eval's commands, "
                                   "options and rule ids. Needs the argcomplete package (installed with "
                                   "policy-eval).")
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="one of: " + ", ".join(SHELLS))
    return p


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    import argcomplete

    out.write(argcomplete.shellcode(["policy-eval"], shell=args.shell))
    return common.EXIT_OK

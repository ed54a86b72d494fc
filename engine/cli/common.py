"""What every command shares: exit codes, the usage error, loading the rulebook, reporting policy errors,
and the checks on names and paths given on the command line."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import ErrorList, PolicyError

__all__ = ["EXIT_OK", "EXIT_VIOLATED", "EXIT_USAGE", "EXIT_INTERRUPTED", "UsageError", "load", "print_errors",
           "suggest", "check_selectors", "check_inputs"]

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A mistake in the command line (exit 2); the message says what to do instead."""


def load(args: argparse.Namespace, policies: str | None = None) -> Any:
    """The rulebook named by ``policies`` (else ``args.policies``, else the bundled one), with ``--plugin``
    modules loaded first so that their functions are known to the checker.

    Commands call it as ``common.load(...)`` so that tests can swap in a cached loader."""
    from policy_eval.plugin_manager import get_plugin_manager
    from policy_eval.rulebook import load_rulebook

    pm = get_plugin_manager()
    for plugin in getattr(args, "plugin", []) or []:
        pm.add(plugin)
    return load_rulebook(policies if policies is not None else getattr(args, "policies", None),
                         schema_dir=getattr(args, "schemas", None), functions=pm.functions(),
                         max_cost=getattr(args, "max_cost", None),
                         follow_links=getattr(args, "follow_links", False))


def print_errors(exc: PolicyError, err: IO[str]) -> None:
    errors = exc.errors if isinstance(exc, ErrorList) else [exc]
    for e in errors:
        err.write(str(e) + "\n")
    err.write(f"{len(errors)} error{'s' if len(errors) != 1 else ''}: the policies were not loaded\n")


def suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def check_selectors(rb: Any, names: Iterable[str] | None, option: str) -> None:
    """--only/--skip/--rule must name something: a typo would silently select nothing."""
    known: set[str] = set()
    for v in rb.versions():
        known.add(v.id)
        for rule in v.rules:
            known.update((rule.id, rule.full_id))
    for name in names or ():
        if name not in known:
            raise UsageError(f"{option} {name!r} is not a rule or policy of the rulebook{suggest(name, known)} "
                             "(see `policy-eval rules`)")


def check_inputs(paths: Sequence[str]) -> None:
    for item in paths:
        if item != "-" and not Path(item).exists():
            raise UsageError(f"no such file or folder: {item}")
    if list(paths).count("-") > 1:
        raise UsageError("- (stdin) can be given only once")

"""What every command shares: exit codes, the usage error, loading the rulebook, reporting policy errors,
and the checks on names and paths given on the command line."""

from __future__ import annotations

import argparse
import difflib
import gc
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from policy_eval.errors import ErrorList, PluginError, PolicyError, printable
from policy_eval.lang.cost import DEFAULT_CEILING

__all__ = ["EXIT_OK", "EXIT_VIOLATED", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_WORKER", "EXIT_INTERNAL",
           "EXIT_OUTPUT", "EXIT_PIPE", "UsageError", "load",
           "print_errors", "suggest", "check_selectors", "check_inputs", "CASE_SUFFIXES", "CASE_ENDINGS", "no_records",
           "no_records_error", "plugin_modules", "settle_heap", "own_process", "OWN_PROCESS", "YOUNG"]

CASE_SUFFIXES = (".json", ".jsonl", ".ndjson")
CASE_ENDINGS = (*CASE_SUFFIXES, *(suffix + ".gz" for suffix in CASE_SUFFIXES))  # (rulebook.casefiles.is_case_file)

# The exit-code table (README.md, Commands; `policy-eval --help`). Keep the numbers stable: scripts test them.
EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_WORKER = 3  # a worker process died (its records were run again; any that killed it twice are rejected)
EXIT_INTERNAL = 4  # a bug in policy-eval: an uncaught exception, or a record rejected with "internal error"
EXIT_OUTPUT = 5  # the report could not be written (disk full, I/O error); an -o FILE is left as it was
EXIT_PIPE = 141  # the reader of stdout went away (broken pipe): 128 + SIGPIPE, as a shell reports it


# Set by main(): the process is policy-eval's own, not a test's or a host program's that calls run().
OWN_PROCESS = False


YOUNG = 10_000  # allocations between two collections of the youngest generation in policy-eval's own process


def own_process() -> None:
    """Called by main(): the process is policy-eval's own. Its youngest generation is collected every
    :data:`YOUNG` allocations rather than 700: what a command makes is nearly all kept for its run (the rulebook,
    the test files) or freed by reference counting (a record's evaluation leaves no cycles behind), and the
    collector's passes walked it again and again for no garbage: a rulebook's load 3 %, ``lint`` 10 % less CPU,
    0.4-1 MiB more at the peak (bench/README, fifty-sixth session)."""
    global OWN_PROCESS
    OWN_PROCESS = True
    gc.set_threshold(YOUNG)


def settle_heap() -> None:
    """Before a batch, in policy-eval's own process only: the rulebook and everything loaded so far live as
    long as the run, so they are frozen (the cyclic collector no longer walks them, and forked --jobs workers
    leave their pages shared), and the youngest generation is collected every 10,000 allocations rather than
    700 (a record's evaluation leaves no cycles behind). 7-9 % less CPU a record (bench/README.md). Not in a
    host's process: freezing its objects would keep any that later become cyclic garbage forever."""
    if OWN_PROCESS:
        gc.freeze()
        gc.set_threshold(YOUNG)


def _note_unread_policies() -> None:
    """With no ``-p``, the bundled rulebook is used: say so on stderr where the current folder holds a
    ``policies`` folder of its own (an author's copy), which is not read unless named."""
    import sys
    from pathlib import Path

    from policy_eval.resources import bundled_policies

    here = Path("policies")
    try:
        if not here.is_dir() or here.resolve() == bundled_policies().resolve() or \
                not any(here.glob("*.yaml")) and not any(here.glob("*/*.yaml")) or \
                _yaml_files(here) == _yaml_files(bundled_policies()):  # (a checkout beside its own install)
            return
    except OSError:
        return
    print("note: no -p given, so the bundled rulebook is used; the ./policies folder here is not read (pass "
          "-p policies to use it)", file=sys.stderr)


def _yaml_files(folder: Any) -> dict[str, bytes]:
    """The policy files below a folder by relative path, with their bytes (a rulebook is a few dozen files)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


class UsageError(Exception):
    """A mistake in the command line (exit 2); the message says what to do instead."""


def plugin_modules(specs: Sequence[str]) -> list[str]:
    """``--plugin`` values as importable module names. ``./file.py`` (any value ending in .py or holding a
    path separator) is loaded from that file, under its file name; a plain module name is also looked for
    in the current folder, as ``python -m`` would (appended to sys.path, so it never shadows a library)."""
    import importlib.util
    import os
    import sys

    names = []
    for spec in specs:
        if not (spec.endswith(".py") or "/" in spec or os.sep in spec):
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.append(os.getcwd())
            names.append(spec)
            continue
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"--plugin {spec}: no such file")
        name = path.stem
        loaded = sys.modules.get(name)
        if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path.resolve():
            names.append(name)
            continue
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None or name in sys.modules:
            raise UsageError(f"--plugin {spec}: cannot load it as module {name!r}"
                             + (" (a module of that name is already loaded; rename the file)"
                                if name in sys.modules else ""))
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # workers forked for --jobs find it by name
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise UsageError(f"--plugin {spec}: importing it failed: {type(exc).__name__}: {exc}") from None
        names.append(name)
    return names


def load(args: argparse.Namespace, policies: str | None = None) -> Any:
    """The rulebook named by ``policies`` (else ``args.policies``, else the bundled one), with ``--plugin``
    modules loaded first so that their functions are known to the checker.

    Commands call it as ``common.load(...)`` so that tests can swap in a cached loader."""
    from policy_eval.plugin_manager import get_plugin_manager
    from policy_eval.rulebook import load_rulebook

    pm = get_plugin_manager()
    for plugin in getattr(args, "plugin", []) or []:
        pm.add(plugin)
    if policies is None and getattr(args, "policies", None) is None:
        _note_unread_policies()
    return load_rulebook(policies if policies is not None else getattr(args, "policies", None),
                         schema_dir=getattr(args, "schemas", None), functions=pm.functions(),
                         params=getattr(args, "params", None) or None,
                         max_cost=getattr(args, "max_cost", DEFAULT_CEILING),
                         follow_links=getattr(args, "follow_links", False))


def print_errors(exc: PolicyError, err: IO[str], command: str | None = None, *,
                 failed: str = "the policies were not loaded") -> None:
    """Each error of ``exc`` located, then the count and what ``failed`` (a policy test file, say)."""
    errors = exc.errors if isinstance(exc, ErrorList) else [exc]
    plugin = next((e for e in errors if isinstance(e, PluginError)), None)
    if plugin is not None:  # a plugin failed (e.g. while the policies were type-checked): it is at fault
        err.write(f"policy-eval{' ' + command if command else ''}: error: {printable(plugin.message)}\n")
        return
    for e in errors:
        err.write(str(e) + "\n")
    err.write(f"{len(errors)} error{'s' if len(errors) != 1 else ''}: {failed}\n")


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


def no_records(paths: Sequence[str]) -> str:
    """Why inputs gave no case record: what each folder holds instead (folders are read for .json, .jsonl and
    .ndjson files only), so that an empty run is not mistaken for a clean one."""
    from collections import Counter

    found = []
    for item in paths:
        path = Path(item)
        if item == "-":
            found.append("stdin was empty")
        elif path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            others = Counter(p.suffix or "(no suffix)" for p in files if p.suffix not in CASE_SUFFIXES)
            cases = len(files) - sum(others.values())
            what = ", ".join(f"{n} {suffix}" for suffix, n in sorted(others.items(), key=lambda kv: (-kv[1], kv[0])))
            if cases:
                found.append(f"{item} holds {cases} case file(s) with no record"
                             + (f" and {sum(others.values())} other file(s) ({what})" if others else ""))
            elif others:
                found.append(f"{item} holds no .json, .jsonl or .ndjson file, only {sum(others.values())} "
                             f"other file(s) ({what})")
            else:
                found.append(f"{item} is an empty folder")
        else:
            found.append(f"{item}: an empty file")
    return printable("; ".join(found))  # file suffixes found in a folder are anyone's text


def no_records_error(command: str, paths: Sequence[str], err: IO[str]) -> int:
    """An input with no case record is not a clean run (eval, diff, due): say what was found; exit 1."""
    err.write(f"policy-eval {command}: no case record found: {no_records(paths)} "
              "(pass --allow-empty if that is expected)\n")
    return EXIT_VIOLATED


def check_inputs(paths: Sequence[str]) -> None:
    for item in paths:
        if item != "-" and not Path(item).exists():
            raise UsageError(f"no such file or folder: {item}")
    if list(paths).count("-") > 1:
        raise UsageError("- (stdin) can be given only once")

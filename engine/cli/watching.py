"""``policy-eval test --watch``: run the tests, then rerun the affected ones on every save until Ctrl-C.

Input: the ``test`` command's arguments. Output: the first full run, then, per batch of saved files, the
changed files named and the affected test files run again (:mod:`policy_eval.authoring.affected` decides
which). The case files tests read (``case: x.json``) are watched too, wherever they are: saving one reruns
the tests reading it, without loading the policies again. A policy or test file that does not load is reported with its location and watching goes on; the
next save tries again. Ctrl-C ends the watch with exit 0. Uses watchfiles (the ``lsp`` extra).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from policy_eval.cli import common
from policy_eval.errors import PolicyError, printable

__all__ = ["watch_tests"]

_SUFFIXES = (".yaml", ".yml")
_WATCHED = (*_SUFFIXES, ".json")  # .json: the case files of ``case: x.json`` tests


def _shown(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when under it."""
    try:
        return printable(str(path.resolve().relative_to(Path.cwd().resolve())) or ".")
    except ValueError:
        return printable(path)


def _load(args: argparse.Namespace, err: IO[str]) -> Any:
    """The rulebook, or None (its errors printed, located) when it does not load."""
    try:
        return common.load(args)
    except PolicyError as exc:
        common.print_errors(exc, err)
        return None


def _test_paths(args: argparse.Namespace, policy_root: Path) -> list[Path]:
    """Where the tests are, as ``policy-eval test`` looks for them."""
    from policy_eval.run.testing import discover

    if args.paths:
        return [Path(p) for p in args.paths]
    if not args.policies and not discover([policy_root]):
        from policy_eval.resources import bundled_tests

        return [bundled_tests()]
    return [policy_root]


RunFiles = Callable[..., int]  # commands.test.run_files(args, rb, files, out, err, *, report_coverage)


def _run(run_files: RunFiles, args: argparse.Namespace, rb: Any, files: list[Path], out: IO[str], err: IO[str],
         *, full: bool) -> None:
    if rb is None:
        out.write("not run: the policies do not load (errors above)\n")
    elif not files:
        out.write("no tests found (a policy test file is YAML with a top-level 'tests:' list)\n")
    else:
        run_files(args, rb, files, out, err, report_coverage=full)


def _changed(changed: list[Path], args: argparse.Namespace, rb: Any, test_paths: list[Path], index: Any,
             out: IO[str], err: IO[str], run_files: RunFiles) -> Any:
    """One batch of saved files: name them, load the policies again if one may have changed, rerun the
    affected tests; the rulebook now in force."""
    from policy_eval.authoring.affected import affected
    from policy_eval.run.testing import discover

    out.write(f"\nchanged: {', '.join(_shown(c) for c in changed)}\n")
    before = rb
    files = discover(test_paths)
    tests = {f.resolve() for f in files}
    cases = index.case_files()
    # a policy, an overlay (YAML that is no test): load the policies again; a case file (.json) needs not
    if any(c.resolve() not in tests and c.suffix in _SUFFIXES for c in changed):
        rb = _load(args, err)
    for f in files:
        if f.resolve() in {c.resolve() for c in changed}:
            index.update_from(f)
    rerun = affected(changed, files, index, before, rb)
    if rerun:
        _run(run_files, args, rb, rerun, out, err, full=False)
    elif all(c.suffix == ".json" and c.resolve() not in cases for c in changed):
        out.write("no test reads it\n")
    else:
        out.write("no test is affected\n")
    out.flush()
    err.flush()
    return rb


def watch_tests(args: argparse.Namespace, out: IO[str], err: IO[str], run_files: RunFiles) -> int:
    """Run every test once, then watch the policies, the tests and the overlays; exit 0 on Ctrl-C.
    ``run_files`` is the ``test`` command's runner (passed in: the command imports this module)."""
    try:
        import watchfiles
    except ImportError:
        raise common.UsageError("--watch needs watchfiles: pip install 'policy-eval[lsp]'") from None
    import logging

    logging.getLogger("watchfiles").setLevel(logging.ERROR)  # its own "KeyboardInterrupt caught" warning
    from policy_eval.authoring.affected import index_tests
    from policy_eval.resources import bundled_policies
    from policy_eval.run.testing import discover

    policy_root = Path(args.policies) if args.policies else bundled_policies()
    test_paths = _test_paths(args, policy_root)
    extra = [Path(args.params)] if getattr(args, "params", None) else []
    watched = {p.resolve() if p.is_dir() else p.resolve().parent for p in [policy_root, *test_paths, *extra]}
    try:  # Ctrl-C, whether tests are running or the watcher waits, ends the watch cleanly
        rb = _load(args, err)
        files = discover(test_paths)
        index = index_tests(files)
        _run(run_files, args, rb, files, out, err, full=True)
        announced: set[Path] = set()
        while True:  # one watcher per set of folders; a test reading a case file elsewhere widens it
            # overlays and case files may live anywhere, beside the tests or not
            watched |= {Path(o).parent for o in index.overlays.values()} | {c.parent for c in index.case_files()}
            folders = set(watched)
            for changes in watchfiles.watch(*sorted(folders), watch_filter=lambda _c, p: p.endswith(_WATCHED),
                                            rust_timeout=500, yield_on_timeout=True, raise_interrupt=False):
                if announced != folders:  # the first timeout: the watcher is in place, saves are seen
                    out.write(f"\nwatching {', '.join(_shown(w) for w in sorted(folders))} for changes "
                              "(Ctrl-C to stop)\n")
                    out.flush()
                    announced = folders
                if not changes:
                    continue
                rb = _changed(sorted({Path(p) for _, p in changes}), args, rb, test_paths, index, out, err,
                              run_files)
                if {c.parent for c in index.case_files()} - folders:
                    break  # watch the new case files' folders too
            else:
                break  # the watcher ended (Ctrl-C)
    except KeyboardInterrupt:
        pass
    out.write("\nstopped watching\n")
    return common.EXIT_OK

"""``policy-eval lint``: named checks beyond validity (docs/lint.md), each finding located.

Exit codes: 0 no error-level finding (and, with ``--deny-warnings``, no warning); 1 findings that fail;
2 usage error, policies that do not load (run ``policy-eval check`` for the details) or a policy test file
that does not (its errors, located, as ``policy-eval test`` reports them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO

from policy_eval.cli import options
from policy_eval.cli.commands import Subparsers

__all__ = ["register", "run"]

_EPILOG = """\
Checks and their ids: docs/lint.md (`policy-eval lint --list`). Silence one finding in the file with a
comment on its line or the line above, giving the reason:
    # lint: ignore[unused-parameter] kept for the platform's 2024 configuration

examples:
  policy-eval lint                                   the bundled rulebook
  policy-eval lint --deny-warnings policies/ tests/golden/   CI: policies and their tests
  policy-eval lint my-policies/ --tests my-tests/    rule-untested reads the tests in my-tests/
  policy-eval lint -p my-policies/                   the same folder, given as check, test and eval take it
"""


def register(sub: Subparsers) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "lint", parents=[options.plugin()], formatter_class=options.FORMATTER, epilog=_EPILOG,
        help="look for likely mistakes in valid policies (named checks; docs/lint.md)",
        description="Run named checks over policies that load: constant conditions, rules that never apply, "
                    "unused parameters and lets, identical versions, untested rules, conflicting rules, ...")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="policy folders or files, and policy-test files (default: the bundled rulebook)")
    p.add_argument("--policies", "-p", action="append", metavar="DIR", default=[],
                   help="a policy folder or file, as the other commands take it (repeatable; the same as "
                        "giving it as a PATH)")
    p.add_argument("--schemas", metavar="DIR", help="folder holding cases/<kind>.schema.json")
    p.add_argument("--tests", action="append", metavar="PATH", default=None,
                   help="policy-test files or folders for the rule-untested check (repeatable; besides the test "
                        "files among PATHS and inside the policy folders; default with no PATHS: the bundled "
                        "rulebook's golden tests)")
    p.add_argument("--deny-warnings", action="store_true", help="exit 1 when there is any warning")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    return p


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.authoring.lint import CHECKS, lint_paths
    from policy_eval.cli import common
    from policy_eval.errors import ErrorList, PolicyError, printable
    from policy_eval.plugin_manager import get_plugin_manager
    from policy_eval.rulebook.policyfiles import is_test_file

    if args.list:
        for check in CHECKS.values():
            out.write(f"{check.id:<28} {check.severity:<8} {check.summary}\n")
        return 0
    pm = get_plugin_manager()
    for plugin in getattr(args, "plugin", []) or []:
        pm.add(plugin)
    paths = [Path(p) for p in [*args.policies, *args.paths]]
    tests = [Path(t) for t in args.tests] if args.tests else None
    for p in paths + (tests or []):
        if not p.exists():
            err.write(f"policy-eval lint: error: no such file or folder: {printable(p)}\n")
            return 2
    try:
        findings = lint_paths(paths, Path(args.schemas) if args.schemas else None, pm.functions(), tests)
    except PolicyError as exc:  # a policy test file rule-untested reads is its own error, not the policies'
        errors = exc.errors if isinstance(exc, ErrorList) else [exc]
        tests_only = all(e.file and is_test_file(Path(e.file)) for e in errors)
        common.print_errors(exc, err, args.command, failed="a policy test file was not read (policy-eval test "
                            "reports it too), so nothing was linted" if tests_only else "the policies were not loaded")
        return 2
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    failed = counts["error"] > 0 or (args.deny_warnings and counts["warning"] > 0)
    if args.format == "json":
        json.dump({"findings": [f.to_dict() for f in findings], "counts": counts, "passed": not failed}, out,
                  ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        for f in findings:
            out.write(printable(str(f)) + "\n")  # messages quote policy text
        out.write(f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes"
                  f"{' (warnings denied)' if args.deny_warnings and counts['warning'] else ''}\n")
    return 1 if failed else 0

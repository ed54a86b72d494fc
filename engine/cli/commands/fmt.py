"""``policy-eval fmt``: rewrite policy and policy-test files in the canonical layout.

Exit codes: 0 nothing to change (or the files were rewritten); 1 with ``--check``, some file would
change (they are listed); 2 a file is not valid YAML or cannot be formatted safely.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import IO

from policy_eval.cli import options
from policy_eval.cli.commands import Subparsers
from policy_eval.cli.output import rewrite

__all__ = ["register", "run"]

_EPILOG = """\
The layout: keys in the documented order, 2-space indentation with list items indented under their key,
double quotes where quotes are needed, conditions spaced from their tokens, long conditions folded
before 'and'/'or'. Comments and the editor line (# yaml-language-server: ...) are kept.

examples:
  policy-eval fmt policies/                    rewrite in place
  policy-eval fmt --check policies tests/golden    CI: list files that are not formatted, exit 1
  policy-eval fmt --diff policies/after_sales/v2.yaml
"""


def register(sub: Subparsers) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "fmt", parents=[options.plugin()], formatter_class=options.FORMATTER, epilog=_EPILOG,
        help="format policy and policy-test files (canonical layout, comments kept)",
        description="Rewrite policy and policy-test YAML files in one canonical layout. Files that are neither "
                    "(no top-level 'policy:' or 'tests:') are left alone.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the current folder)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 and list the files that would change")
    p.add_argument("--diff", action="store_true", help="change nothing; print what would change as a unified diff")
    return p


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_file():
            out.append(p)
        else:
            out += sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()
                          and not any(part.startswith(".") for part in f.relative_to(p).parts))
    return out


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.authoring.fmt import format_text
    from policy_eval.errors import PolicyError, printable

    paths = [Path(p) for p in args.paths] or [Path(".")]
    for p in paths:
        if not p.exists():
            err.write(f"policy-eval fmt: error: no such file or folder: {printable(p)}\n")
            return 2
    changed: list[Path] = []
    failed = 0
    files = _files(paths)
    if not files:  # a wrong folder, most likely: not "0 files reformatted" and success
        err.write(f"policy-eval fmt: no YAML files (.yaml, .yml) found in {', '.join(printable(p) for p in paths)}\n")
        return 1
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8-sig")
            new = format_text(text, str(path))
        except (PolicyError, UnicodeDecodeError) as exc:
            err.write(f"{printable(exc)}\n" if isinstance(exc, UnicodeDecodeError) else f"{exc}\n")
            failed += 1
            continue
        if new == text:
            continue
        changed.append(path)
        if args.diff:
            out.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), str(path), str(path)))
        if args.check:
            out.write(f"would reformat {printable(path)}\n")
        if not (args.check or args.diff):
            rewrite(path, new)
            out.write(f"reformatted {printable(path)}\n")
    verb = "would be reformatted" if args.check or args.diff else "reformatted"
    out.write(f"{len(changed)} file{'s' if len(changed) != 1 else ''} {verb}, "
              f"{len(files) - len(changed) - failed} unchanged" + (f", {failed} not formatted (errors above)" if failed else "")
              + "\n")
    if failed:
        return 2
    return 1 if args.check and changed else 0

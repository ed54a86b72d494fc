"""``policy-eval schema``: the JSON Schemas an editor needs, written where a policy folder can point at them.

``policy-eval schema`` lists them; ``policy-eval schema NAME`` prints one; ``policy-eval schema --write DIR``
copies all of them (policy, policy-test, result, and the case schemas under ``cases/``) into DIR.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import IO

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers

__all__ = ["register", "run"]

_EPILOG = """\
examples:
  policy-eval schema --write my-policies/schemas
      then, first line of my-policies/after_sales/v1.yaml:
      # yaml-language-server: $schema=../schemas/policy.schema.json
  policy-eval schema policy-test            print the policy-test schema
"""


def register(sub: Subparsers) -> argparse.ArgumentParser:
    p = sub.add_parser("schema", parents=[options.plugin()], formatter_class=options.FORMATTER, epilog=_EPILOG,
                       help="list, print or write the JSON Schemas (policy, policy-test, result, cases)",
                       description="The JSON Schemas of policy files, policy-test files, results and case "
                                   "records, for editors and other tools.")
    p.add_argument("name", nargs="?", metavar="NAME", help="print this schema (e.g. policy, policy-test, cases/appeal)")
    p.add_argument("--write", metavar="DIR", help="copy every schema into DIR (cases/ under it)")
    return p


def _schemas() -> dict[str, Path]:
    from policy_eval.resources import bundled_schemas

    root = bundled_schemas()
    return {p.relative_to(root).as_posix()[: -len(".schema.json")]: p
            for p in sorted(root.rglob("*.schema.json"))}


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    schemas = _schemas()
    if args.write:
        target = Path(args.write)
        for name, path in schemas.items():
            dest = target / f"{name}.schema.json"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            out.write(f"wrote {dest}\n")
        return common.EXIT_OK
    if args.name:
        if args.name not in schemas:
            raise common.UsageError(f"no schema {args.name!r} (one of: {', '.join(schemas)})")
        out.write(schemas[args.name].read_text(encoding="utf-8"))
        return common.EXIT_OK
    for name, path in schemas.items():
        out.write(f"{name:<28} {path}\n")
    return common.EXIT_OK

"""``policy-eval check``: load and check every policy file; report each error with its position."""

from __future__ import annotations

import argparse
import json
from typing import IO, Any

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.errors import ErrorList, PolicyError


def register(sub: Subparsers) -> argparse.ArgumentParser:
    c = sub.add_parser("check", parents=[options.plugin(), options.policies(), options.cost()],
                       formatter_class=options.FORMATTER,
                       help="validate policy files (schema, conditions, types, versions)",
                       description="Load and check every policy file: YAML shape, condition syntax and types, "
                                   "names, and that versions of one policy do not overlap. Every error is "
                                   "reported as file:line:column with the line and a caret.")
    # The folder used to be positional (`check DIR`); kept, hidden, for one release.
    c.add_argument("policy_dir", nargs="?", help=argparse.SUPPRESS)
    c.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    c.add_argument("--fix", action="store_true",
                   help="write into the policy files the fixes the checker is sure of (a name close to a known "
                        "one, a keyword misspelt or in capitals, '&&' or '||', a full-width character), each said "
                        "on stderr, then check again; needs -p DIR (the bundled rulebook is not edited)")
    return c


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    if args.policy_dir is not None:
        if args.policies is not None and args.policies != args.policy_dir:
            raise common.UsageError(f"two policy folders given: {args.policy_dir} and -p {args.policies}")
        args.policies = args.policy_dir
    if args.fix and args.policies is None:
        raise common.UsageError("check --fix needs -p DIR: the bundled rulebook is not edited")
    try:
        rb = _load_fixing(args, err) if args.fix else common.load(args)
    except PolicyError as exc:
        if args.format == "json":
            errors = exc.errors if isinstance(exc, ErrorList) else [exc]
            out.write(json.dumps({"ok": False, "errors": [_error_dict(e) for e in errors]}, ensure_ascii=False)
                      + "\n")
        else:
            common.print_errors(exc, err, args.command)
        return common.EXIT_USAGE
    versions = list(rb.versions())
    n_rules = sum(len(v.rules) for v in versions)
    if args.format == "json":
        out.write(json.dumps({"ok": True, "policies": len(rb.policies), "versions": len(versions),
                              "rules": n_rules, "rulebook": rb.digest}) + "\n")
    else:
        out.write(f"ok: {len(rb.policies)} policies, {len(versions)} versions, {n_rules} rules "
                  f"({rb.digest[:19]})\n")
        cost, where = _largest_cost(versions)
        if where:
            ceiling = f"{args.max_cost:,}" if args.max_cost is not None else "not set"
            out.write(f"largest cost estimate: {cost:,} items ({where}; ceiling {ceiling})\n")
    return common.EXIT_OK


def _error_dict(e: PolicyError) -> dict[str, Any]:
    """An error as ``--format json`` gives it: with ``fix`` (``{"replace": ..., "with": ...}``) where the checker
    is sure of one."""
    return {**e.to_dict(), **({"fix": {"replace": e.fix[0], "with": e.fix[1]}} if e.fix is not None else {})}


_ROUNDS = 20  # (a fix may reveal the next mistake of the same condition: the checker reports one per condition)


def _load_fixing(args: argparse.Namespace, err: IO[str]) -> Any:
    """Load; while the errors have fixes that apply, write them into their files (atomically) and load again."""
    from pathlib import Path

    from policy_eval.authoring.editing import fixed_texts
    from policy_eval.cli.output import rewrite

    for _ in range(_ROUNDS):
        try:
            return common.load(args)
        except PolicyError as exc:
            fixed = fixed_texts(exc.errors if isinstance(exc, ErrorList) else [exc],
                                lambda f: Path(f).read_text(encoding="utf-8"))
            if not fixed:
                raise
            for file, (text, said) in fixed.items():
                rewrite(Path(file), text)  # (as fmt rewrites a file: atomically, its mode kept, a link's target)
                err.writelines(f"fixed {file}:{what}\n" for what in said)
    return common.load(args)


def _largest_cost(versions: list[Any]) -> tuple[int, str]:
    """The largest static cost estimate of any condition (docs/language.md, Cost) and where it stands."""
    best, where = 0, ""
    for v in versions:
        for r in v.rules:
            for cond in (r.condition, r.when, *r.lets.values()):
                if cond is not None and cond.cost is not None and cond.cost.cost > best:
                    best, where = cond.cost.cost, f"{r.full_id} v{v.version}, line {cond.line}"
    return best, where

"""``policy-eval rules``: list the rules of the rulebook with version, clause and title."""

from __future__ import annotations

import argparse
import json
from typing import IO, Any

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.cli.output import cells, pad
from policy_eval.errors import printable


def register(sub: Subparsers) -> argparse.ArgumentParser:
    r = sub.add_parser("rules", parents=[options.plugin(), options.policies(params_flag=True)],
                       formatter_class=options.FORMATTER,
                       help="list rules with version, clause and title",
                       description="List the rules of the rulebook: id, version, clause, title; --inputs adds "
                                   "the case fields each rule reads; --params lists the parameters instead.")
    r.add_argument("--policy", action="append", metavar="ID", help="only this policy (repeatable)")
    options.as_of(r, help="only versions in force at this date/datetime")
    r.add_argument("--inputs", action="store_true", help="show the case fields each rule reads")
    r.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                   help="output format (default: text)")
    return r


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    rb = common.load(args)
    for pid in args.policy or ():
        if pid not in rb.policies:
            raise common.UsageError(f"--policy {pid!r} is not a policy of the rulebook"
                                    f"{common.suggest(pid, rb.policies)} (policies: {', '.join(sorted(rb.policies))})")
    if args.params is not None:
        return _params(args, rb, out)
    rows = []
    for v in rb.versions():
        if args.policy and v.id not in args.policy:
            continue
        if args.as_of and not v.in_force(args.as_of):
            continue
        for r in v.rules:
            rows.append({"id": r.full_id, "policy": v.id, "version": v.version, "clause": r.clause,
                         "title": r.title, "severity": r.severity, "applies_to": v.applies_to,
                         "effective_from": v.effective_from.isoformat() if v.start_stated else None,
                         "effective_until": v.effective_until.isoformat() if v.effective_until else None,
                         "inputs": r.inputs})
    if args.format == "json":
        out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif args.format == "markdown":
        def cell(text: Any) -> str:
            return printable(" ".join(str(text or "").split())).replace("|", "\\|")

        head = "| rule | version | severity | clause | title |" + (" reads |" if args.inputs else "")
        out.write(head + "\n|" + "---|" * (head.count("|") - 1) + "\n")
        for row in rows:
            reads = f" {cell(', '.join(row['inputs']))} |" if args.inputs else ""
            out.write(f"| `{printable(row['id'])}` | {cell(row['version'])} | {row['severity']} | {cell(row['clause'])} | "
                      f"{cell(row['title'])} |{reads}\n")
    else:
        id_w = max((len(printable(r["id"])) for r in rows), default=0)
        ver_w = max((len(str(r["version"])) for r in rows), default=0) + 1
        clause_w = min(max((cells(printable(r["clause"] or "")) for r in rows), default=0), 40)
        for row in rows:  # printable(): a policy's text must not forge a line or reach the terminal raw
            out.write(f"{printable(row['id']):{id_w}}  v{printable(row['version']):{ver_w}} {row['severity']:8}  "
                      f"{pad(printable(row['clause'] or '-'), clause_w)}  {printable(row['title'])}\n")
            if args.inputs:
                out.write(f"    reads: {printable(', '.join(row['inputs'])) or '(no case field)'}\n")
        out.write(f"{len(rows)} rule{'s' if len(rows) != 1 else ''}" + _out_of_force(args, rb) + "\n")
    return common.EXIT_OK


def _out_of_force(args: argparse.Namespace, rb: Any) -> str:
    """With --as-of: the (selected) policies with no version in force then, and when theirs are (a new user's
    '0 rules' for a date before any version did not say that national-warranty starts on 2020-01-01)."""
    if not args.as_of:
        return ""
    notes = []
    for pid, history in sorted(rb.policies.items()):
        if (args.policy and pid not in args.policy) or any(v.in_force(args.as_of) for v in history.versions):
            continue
        first, last = history.versions[0], history.versions[-1]
        if args.as_of < first.effective_from:
            notes.append(f"{pid} from {_day(first.effective_from)}")
        elif last.effective_until is not None and args.as_of >= last.effective_until:
            notes.append(f"{pid} until {_day(last.effective_until)}")
        else:
            notes.append(f"{pid} (between its versions)")
    return f"; no version in force at {_day(args.as_of)}: {', '.join(notes)}" if notes else ""


def _day(instant: Any) -> str:
    """An instant as a date when it is midnight where it is given, else in full."""
    midnight = (instant.hour, instant.minute, instant.second, instant.microsecond) == (0, 0, 0, 0)
    return instant.date().isoformat() if midnight else instant.isoformat()


def _params(args: argparse.Namespace, rb: Any, out: IO[str]) -> int:
    """Every parameter of every (selected) version: value or unset, source, clause, the rules using it."""
    rows = []
    for v in rb.versions():
        if (args.policy and v.id not in args.policy) or (args.as_of and not v.in_force(args.as_of)):
            continue
        for name, info in v.param_info.items():
            rows.append({"policy": v.id, "version": v.version, **info.to_dict(),
                         "rules": [r.id for r in v.rules if name in r.params]})
    if args.format == "json":
        out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return common.EXIT_OK
    for row in rows:
        value = row["value"] if row["value"] is not None else "unset"
        source = "text" if row["source"] == "text" else row["source"] if row["source"] == "unset" \
            else f"deployment ({row['file']}:{row['line']})"
        out.write(printable(f"{row['policy']} v{row['version']}  {row['name']}: {row['type']} = {value}  [{source}]"
                            + (f"  {row['clause']}" if row["clause"] else "")) + "\n")
        out.write(f"    used by: {printable(', '.join(row['rules'])) or '(no rule)'}\n")
    unset = sum(1 for r in rows if r["source"] == "unset")
    out.write(f"{len(rows)} parameter{'s' if len(rows) != 1 else ''}" + (f", {unset} unset" if unset else "") + "\n")
    return common.EXIT_OK

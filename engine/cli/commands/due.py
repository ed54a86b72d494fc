"""``policy-eval due``: when each verdict on open cases changes if nothing happens, sorted by instant."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from typing import IO, Any

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.rulebook.casevalues import id_text

FORMATS = ("text", "json", "jsonl")


def _duration(text: str) -> _dt.timedelta:
    from policy_eval.lang.values import ValueParseError, parse_duration

    try:
        value = parse_duration(text)
    except (ValueParseError, ValueError):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}; write e.g. 48h, 7d or 90m") from None
    if value <= _dt.timedelta(0):
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(sub: Subparsers) -> argparse.ArgumentParser:
    d = sub.add_parser("due", parents=[options.plugin(), options.policies()], formatter_class=options.FORMATTER,
                       help="open cases: when each verdict changes if nothing happens (deadlines ahead)",
                       description="For every case and rule, the next instant after the case's snapshot (or "
                                   "--as-of) at which the verdict changes if no new event happens, what it "
                                   "changes to and what would prevent it, sorted by instant. Method and limits: "
                                   "docs/due.md.\n\nformats: text (one line per change, then the rules that "
                                   "cannot be forecast), json (one document), jsonl (one forecast per line, "
                                   "sorted). Verdict formats (junit, sarif) do not apply to forecasts.\n"
                                   "exit status: 1 if a verdict becomes violated within the window "
                                   "(or a case is rejected, or the inputs hold no case record), else 0.")
    d.add_argument("cases", nargs="+", metavar="CASES", help="case files (JSON, JSON Lines), folders, or - for stdin")
    d.add_argument("--as-of", type=options.instant, metavar="WHEN",
                   help="forecast from this instant (also picks versions, as eval --as-of does)")
    d.add_argument("--within", type=_duration, metavar="DURATION",
                   help="only changes within this long after each case's start, e.g. 48h")
    d.add_argument("--all", action="store_true", help="also list the rules that stay as they are")
    d.add_argument("--rule", action="append", metavar="RULE", help="only this rule or policy (repeatable)")
    d.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of the cases")
    d.add_argument("--allow-empty", action="store_true",
                   help="exit 0 when the inputs hold no case record (default: that is an error, exit 1)")
    d.add_argument("--format", "-f", choices=FORMATS, default="text", help="output format (default: text)")
    return d


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.errors import CaseError
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.validation import CaseValidator
    from policy_eval.run.due import Forecaster, Status
    from policy_eval.run.evaluate import Evaluator
    from policy_eval.run.result import Outcome

    common.check_inputs(args.cases)
    rb = common.load(args)
    common.check_selectors(rb, args.rule, "--rule")
    validator = None if args.no_validate else CaseValidator(rb.case_schemas)
    forecaster = Forecaster(rb, evaluator=Evaluator(rb, explain="missing", record_inputs=False, only=args.rule))
    rows: list[tuple[Any, Any]] = []      # (case forecast, forecast) that change within the window
    quiet: list[tuple[Any, Any]] = []     # stable (with --all), unsolvable, no clock
    rejected: list[dict[str, Any]] = []
    read = 0
    for source, number, case in read_cases(args.cases, stdin=stdin):
        read += 1
        problem = case if isinstance(case, CaseError) else (validator.check(case, source, number) if validator else None)
        if problem is not None:
            rejected.append(_rejected(source, number, case, problem.at_path()))
            continue
        cf = forecaster.forecast(case, as_of=args.as_of, source=source, record=number)
        if cf.error is not None:
            rejected.append(_rejected(source, number, case, f"{cf.error['json_path']}: {cf.error['message']}"))
            continue
        for f in cf.forecasts:
            if f.status is Status.CHANGES and f.at is not None:
                if args.within is None or cf.start is None or f.at - cf.start <= args.within:
                    rows.append((cf, f))
            elif f.status is not Status.STABLE or args.all:
                quiet.append((cf, f))
    rows.sort(key=lambda x: (x[1].at, x[0].source or "", x[0].record or 0, x[1].full_id))
    becomes_violated = any(f.becomes is Outcome.VIOLATED for _, f in rows)
    if args.format == "jsonl":
        for cf, f in rows + quiet:
            out.write(json.dumps(_record(cf, f), ensure_ascii=False) + "\n")
        for r in rejected:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif args.format == "json":
        from policy_eval.lang.values import render_duration

        doc = {"format": "1", "rulebook": rb.digest, "as_of": args.as_of.isoformat() if args.as_of else None,
               "within": render_duration(args.within) if args.within else None,
               "due": [_record(cf, f) for cf, f in rows], "other": [_record(cf, f) for cf, f in quiet],
               "rejected": rejected}
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        _text(out, rows, quiet, rejected, args)
    if read == 0 and not args.allow_empty:
        return common.no_records_error("due", args.cases, err)
    return common.EXIT_VIOLATED if becomes_violated or rejected else common.EXIT_OK


def _rejected(source: str, number: Any, case: Any, error: str) -> dict[str, Any]:
    """A rejected record as due reports it: its case id when it has one, where it is, and what is wrong (the
    JSON path and the message; where the record is, the other fields say)."""
    case_id = case.get("case_id") if isinstance(case, dict) else None
    return {"case_id": id_text(case_id), "source": source, "record": number,
            "status": "rejected", "error": error}


def _record(cf: Any, f: Any) -> dict[str, Any]:
    from policy_eval.lang.values import render_datetime

    head = {"case_id": cf.case_id, "kind": cf.kind, "source": cf.source, "record": cf.record,
            "start": render_datetime(cf.start) if cf.start is not None else None}
    return {**head, **f.to_dict()}


def _text(out: IO[str], rows: list[tuple[Any, Any]], quiet: list[tuple[Any, Any]], rejected: list[dict[str, Any]],
          args: argparse.Namespace) -> None:
    from policy_eval.cli.output import one_line
    from policy_eval.errors import printable, record_place
    from policy_eval.lang.values import render_datetime, render_duration

    for cf, f in rows:
        where = printable(cf.case_id or f"{cf.source}:{cf.record}")  # a case must not forge a line
        ahead = render_duration(f.boundary - cf.start) if cf.start is not None and f.boundary is not None else "?"
        out.write(f"{render_datetime(f.boundary)}  in {ahead:<10} {where}  {one_line(f.describe())}\n")
    for cf, f in quiet:
        where = printable(cf.case_id or f"{cf.source}:{cf.record}")  # a case must not forge a line
        out.write(f"{'-':25}  {'':13} {where}  {one_line(f.describe())}\n")
    for r in rejected:  # as eval writes one: the case id, where the record is (file:LINE [item N]), what is wrong
        name = f" {r['case_id']}" if r["case_id"] is not None else ""
        out.write(printable(f"REJECTED{name} {record_place(r['source'], r['record'])}: {r['error']}") + "\n")
    within = f" within {render_duration(args.within)}" if args.within else ""
    unsolved = sum(1 for _, f in quiet if f.status.value in ("unsolvable", "no_clock"))
    out.write(f"{len(rows)} change{'s' if len(rows) != 1 else ''} due{within}"
              + (f"; {unsolved} rule verdict(s) cannot be forecast" if unsolved else "")
              + (f"; {len(rejected)} case(s) rejected" if rejected else "") + "\n")

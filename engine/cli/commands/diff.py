"""``policy-eval diff``: which cases change outcome between two policy folders, or between two
deployment-parameter overlays of one folder (``--params OLD.yaml --params-new NEW.yaml``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers


def register(sub: Subparsers) -> argparse.ArgumentParser:
    d = sub.add_parser("diff", parents=[options.plugin()], formatter_class=options.FORMATTER,
                       help="which cases change outcome (or remedies, severity, message) between two policy folders",
                       description="Evaluate the same cases with two rulebooks and list, per rule, the cases "
                                   "whose verdict changes (e.g. 'complied -> violated'), then the cases whose "
                                   "outcome stays but whose remedies (kind, recipient, exact amount, duration, "
                                   "form), severity or message change (e.g. 'violated, remedy compensate_buyer "
                                   "100.00 CNY -> 150.00 CNY'). A rule missing on one "
                                   "side is 'absent' there: absent and not applicable are no change, "
                                   "'violated -> absent' is one. A new version that judged none of the cases "
                                   "(all outside its period) is named. To see what changing a deployment "
                                   "overlay changes, give the same folder twice with --params OLD.yaml "
                                   "--params-new NEW.yaml: each transition names the parameters that moved it.")
    d.add_argument("old", metavar="OLD", help="policy folder before the revision")
    d.add_argument("new", metavar="NEW", help="policy folder after the revision")
    d.add_argument("cases", nargs="+", metavar="CASES", help="case files, folders, or - for stdin")
    d.add_argument("--schemas", metavar="DIR", help="folder holding cases/<kind>.schema.json")
    d.add_argument("--params", metavar="FILE",
                   help="deployment-parameter overlay for both sides (for the old side only with --params-new)")
    d.add_argument("--params-new", metavar="FILE",
                   help="deployment-parameter overlay for the new side (default: the --params one)")
    options.as_of(d)
    d.add_argument("--latest", action="store_true",
                   help="compare the latest version of each policy on both sides, ignoring effective dates")
    d.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of cases")
    d.add_argument("--exit-code", action="store_true",
                   help="exit 1 when some case changes: an outcome, or remedies, severity or message (anything the "
                        "report lists)")
    d.add_argument("--allow-empty", action="store_true",
                   help="exit 0 when the inputs hold no case record (default: that is an error, exit 1)")
    d.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    return d


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.validation import (
        CaseValidator,  # the validator eval uses, so both reject the same records
    )
    from policy_eval.run.diff import diff_rulebooks, latest_only
    from policy_eval.run.evaluate import Evaluator

    for folder in (args.old, args.new):
        if not Path(folder).exists():
            raise common.UsageError(f"no such policy folder or file: {folder}")
    for overlay in (args.params, args.params_new):
        if overlay is not None and not Path(overlay).is_file():
            raise common.UsageError(f"no such deployment-parameter file: {overlay}")
    common.check_inputs(args.cases)
    old = common.load(args, args.old)
    new_side = args if args.params_new is None else argparse.Namespace(**{**vars(args), "params": args.params_new})
    new = common.load(new_side, args.new)
    if args.latest:
        old, new = latest_only(old), latest_only(new)
    validator = None if args.no_validate else CaseValidator({**old.case_schemas, **new.case_schemas})
    report = diff_rulebooks(Evaluator(old, explain="missing", record_inputs=False),
                            Evaluator(new, explain="missing", record_inputs=False),
                            read_cases(args.cases, stdin=stdin), as_of=args.as_of, validator=validator)
    if args.format == "json":
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.text() + "\n")
    if not report.cases and not args.allow_empty:
        err.write(f"policy-eval diff: no case record found: {common.no_records(args.cases)} "
                  "(pass --allow-empty if that is expected)\n")
        return common.EXIT_VIOLATED
    if report.rejected:  # a rejected record was not compared: the "no change" it implies is unproven
        return common.EXIT_VIOLATED
    # --exit-code: 1 when the report lists any change, a remedy, severity or message as well as an outcome (a
    # revision that changes only the money owed has an impact; a gate must not pass it as "no change")
    return common.EXIT_VIOLATED if args.exit_code and report.changed else common.EXIT_OK

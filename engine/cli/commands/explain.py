"""``policy-eval explain``: one case, the version chosen for each policy and why each rule decided as it did."""

from __future__ import annotations

import argparse
import json
from typing import IO, Any

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.cli.output import one_line
from policy_eval.errors import PolicyError, printable


def register(sub: Subparsers) -> argparse.ArgumentParser:
    x = sub.add_parser("explain", parents=[options.plugin(), options.policies()],
                       formatter_class=options.FORMATTER,
                       help="one case: the version chosen and why each rule decided as it did",
                       description="Evaluate one case and show, per policy, the version chosen and why, and "
                                   "per rule the verdict with the value of every sub-expression.")
    x.add_argument("case", metavar="CASE",
                   help="a JSON file holding one case, - for stdin, or a policy test file (YAML; see --case)")
    x.add_argument("--case", dest="test_name", metavar="NAME",
                   help="with a policy test file: the test to explain, by name (needed when it holds several); "
                        "its as_of and params: apply unless --as-of or --params is given")
    options.rule(x)
    options.as_of(x)
    x.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of the case")
    x.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    return x


def _period(v: Any) -> str:
    until = v.effective_until.date().isoformat() if v.effective_until else "open"
    return f"[{v.effective_from.date().isoformat()} .. {until})"


def _policy_test(path: str, name: str | None) -> Any:
    """The test called ``name`` in a policy test file (the only one when ``name`` is None)."""
    from pathlib import Path

    from policy_eval.run.testing import load_tests

    tests = load_tests(Path(path))  # a malformed file is a PolicyError: reported with its position, exit 2
    if not tests:
        raise common.UsageError(f"{path} holds no policy test")
    if name is None:
        if len(tests) == 1:
            return tests[0]
        raise common.UsageError(f"{path} holds {len(tests)} tests; pick one with --case NAME, e.g. "
                                f"--case {tests[0].name!r}")
    for test in tests:
        if test.name == name:
            return test
    raise common.UsageError(f"no test named {name!r} in {path}{common.suggest(name, [t.name for t in tests])}")


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.errors import CaseError
    from policy_eval.plugins.reporters import remedy_text
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.validation import (
        CaseValidator,  # the validator eval uses, so both reject the same records
    )
    from policy_eval.run.evaluate import Evaluator
    from policy_eval.run.result import Outcome

    common.check_inputs([args.case])
    test = None
    failed: PolicyError | common.UsageError | None = None  # reported once the policies are known to load
    if args.case.endswith((".yaml", ".yml")):
        try:
            test = _policy_test(args.case, args.test_name)
        except (PolicyError, common.UsageError) as exc:
            failed = exc
    if test is not None and test.params is not None and not getattr(args, "params", None):
        # the deployment values the test file names (its params:), as `policy-eval test` runs it with
        rb = common.load(argparse.Namespace(**{**vars(args), "params": test.params}))
    else:
        rb = common.load(args)
    common.check_selectors(rb, args.rule, "--rule")
    if isinstance(failed, common.UsageError):
        raise failed
    if failed is not None:  # the policies loaded: the test file is at fault, not them
        common.print_errors(failed, err, args.command, failed=f"{printable(args.case)} was not read")
        return common.EXIT_USAGE
    if test is not None:
        records: list[Any] = [(test.file, test.line, test.case)]
        if args.as_of is None and test.as_of is not None:
            args.as_of = options.instant(test.as_of)
    elif args.test_name is not None:
        raise common.UsageError("--case NAME picks a test of a policy test file (YAML); "
                                f"{args.case} is a case file")
    else:
        records = list(read_cases([args.case], stdin=stdin))
    if len(records) != 1:
        raise common.UsageError(f"explain takes one case; {args.case} holds {len(records)} "
                         "(use `policy-eval eval` for several)")
    source, number, case = records[0]
    if isinstance(case, CaseError):
        out.write(f"REJECTED {printable(case)}\n")
        return common.EXIT_VIOLATED
    if not args.no_validate:
        problem = CaseValidator(rb.case_schemas).check(case, source, number)
        if problem is not None:
            out.write(f"REJECTED {printable(problem)}\n")
            return common.EXIT_VIOLATED
    result = Evaluator(rb, explain=True, only=args.rule).evaluate(case, as_of=args.as_of, source=source,
                                                                 record=number)
    comply, marks = _ahead(rb, case, result, args.as_of)
    if args.format == "json":
        doc = result.to_dict()
        for entry in doc.get("results", []):
            if entry.get("id") in comply:
                entry["comply"] = comply[entry["id"]]
        if marks:
            doc["timeline"] = [{"at": m.at.isoformat(), "kind": m.kind, "label": m.label} for m in marks]
        out.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
        return common.EXIT_VIOLATED if result.violated or result.error else common.EXIT_OK
    if result.error:
        out.write(printable(f"REJECTED {source}:{number}: {result.error['json_path']}: {result.error['message']}") + "\n")
        return common.EXIT_VIOLATED
    out.write(printable(f"{_case_name(result, source, number, test)} — rulebook {rb.digest[:19]}") + "\n")
    order = {Outcome.VIOLATED: 0, Outcome.UNDETERMINED: 1, Outcome.COMPLIED: 2, Outcome.NOT_APPLICABLE: 3}
    for history in rb.for_kind(result.kind or ""):
        mine = [r for r in result.results if r.policy == history.id]
        versions = ", ".join(f"{v.version} {_period(v)}" for v in history.versions)
        out.write(f"\npolicy {history.id} — versions {versions}\n")
        ref_expr = history.latest().reference_time.text.strip()
        level = [r for r in mine if r.rule is None]
        if level:  # no version chosen: reference time missing, or no version in force
            out.write(f"  no version chosen: {level[0].reason}\n")
            if level[0].missing:
                out.write(f"  missing: {', '.join(level[0].missing)}\n")
            continue
        if not mine:
            out.write("  (no rule selected)\n")
            continue
        chosen = next(v for v in history.versions if v.version == mine[0].version)
        how = (f"--as-of {args.as_of.isoformat()}" if args.as_of
               else f"reference_time `{ref_expr}` = {mine[0].reference_time}")
        out.write(f"  version {chosen.version} chosen: {how} is in {_period(chosen)}\n")
        for r in sorted(mine, key=lambda r: order[r.outcome]):
            out.write(f"\n  {r.outcome.value.upper():15} {r.full_id} ({r.clause or 'no clause'}, {r.severity})\n")
            out.write(f"      {one_line(r.message or r.reason)}\n")
            for step in r.explanation:
                witness = f"   ← {step['witness']}" if "witness" in step else ""
                out.write(f"        {one_line(step['expr'])}  =  {printable(step['value'])}{printable(witness)}\n")
            for rem in r.remedies:
                out.write(f"      remedy: {remedy_text(rem)}\n")
            if r.missing:
                out.write(f"      missing: {printable(', '.join(r.missing))}\n")
            for entry in comply.get(r.full_id, ()):
                # a change that would make the rule not apply is not "complying": said as what it is
                label = "would decide otherwise" if entry.get("outcome") not in (None, "complied") else "would comply"
                out.write(f"      {label}: {_comply_text(entry)}\n")
            if r.waiver:
                out.write(printable(f"      waiver: {r.waiver['id']} until {r.waiver['until']} ({r.waiver['reason']})") + "\n")
    if marks:
        from policy_eval.run.due.timeline import render_timeline

        out.write("\n" + "\n".join(render_timeline(marks)) + "\n")
    return common.EXIT_VIOLATED if result.violated else common.EXIT_OK


def _case_name(result: Any, source: str, number: int | None, test: Any) -> str:
    """The head line's name of the case: its id, else the policy test's name, else the record's file:line."""
    where = f"{source}:{number}" if number is not None else source
    if result.case_id:
        return f"case {result.case_id} ({result.kind}, {where})"
    if test is not None:
        return f"policy test {test.name!r} ({result.kind}, {where})"
    return f"case {where} ({result.kind})"


def _ahead(rb: Any, case: Any, result: Any, as_of: Any) -> tuple[dict[str, list[dict[str, Any]]], list[Any]]:
    """What would comply (per violated or undetermined rule) and the timeline (docs/due.md)."""
    from policy_eval.run.due import Forecaster
    from policy_eval.run.due.comply import Complier
    from policy_eval.run.due.timeline import timeline

    if result.error:
        return {}, []
    complier = Complier(rb)
    comply = {r.full_id: complier.explain(case, r, as_of=as_of) for r in result.results
              if r.rule is not None and r.outcome.value in ("violated", "undetermined")}
    forecast = Forecaster(rb).forecast(case, as_of=as_of)
    return {k: v for k, v in comply.items() if v}, timeline(rb, case, result, forecast)


def _comply_text(entry: dict[str, Any]) -> str:
    if "text" in entry:
        return str(entry["text"])
    if "note" in entry:
        return f"{entry['path']}: {entry['note']}"
    if "values" in entry:
        return f"{entry['path']}: " + "; ".join(f"{json.dumps(v['value'], ensure_ascii=False)} → {v['outcome']}"
                                                for v in entry["values"])
    if "ranges" in entry:
        parts = [f"{r['from'] or '…'} .. {r['to'] or '…'} → {r['outcome']}" for r in entry["ranges"]]
        return f"{entry['path']}: " + "; ".join(parts)
    return str(entry.get("path"))

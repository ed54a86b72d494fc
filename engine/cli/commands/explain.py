"""``policy-eval explain``: one case, the version chosen for each policy and why each rule decided as it did."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.cli.output import one_line, write_steps
from policy_eval.errors import PolicyError, printable, record_place


def register(sub: Subparsers) -> argparse.ArgumentParser:
    x = sub.add_parser("explain", parents=[options.plugin(), options.policies()],
                       formatter_class=options.FORMATTER,
                       help="one case: the version chosen and why each rule decided as it did",
                       description="Evaluate one case and show, per policy, the version chosen and why, and "
                                   "per rule the verdict with the value of every sub-expression.")
    x.add_argument("case", metavar="CASE",
                   help="a case file (JSON, JSON Lines), a folder of them, - for stdin, or a policy test file "
                        "(YAML); FILE:LINE "
                        "picks the record (or test) that starts at LINE, as eval names it "
                        "(examples/after_sales.jsonl:5; FILE:LINE [item N] for an item of a JSON array)")
    x.add_argument("--case", dest="pick", metavar="ID",
                   help="the case to explain when CASE holds several: in case files the record whose case_id "
                        "is ID; in a policy test file the test named ID (its as_of and params: apply unless "
                        "--as-of or --params is given)")
    options.rule(x)
    options.as_of(x)
    x.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of the case")
    x.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    return x


def _policy_test(path: str, name: str | None, line: int | None) -> Any:
    """The test called ``name`` in a policy test file, or the one that starts at ``line`` (the only one when
    neither is given)."""
    from policy_eval.run.testing import load_tests

    tests = load_tests(Path(path))  # a malformed file is a PolicyError: reported with its position, exit 2
    if not tests:
        raise common.UsageError(f"{path} holds no policy test")
    if line is not None:
        for test in tests:
            if test.line == line:
                return test
        raise common.UsageError(f"no test of {path} starts at line {line}; its tests start at lines "
                                f"{', '.join(str(t.line) for t in tests[:_SHOWN])}{', ...' if len(tests) > _SHOWN else ''}")
    if name is None:
        if len(tests) == 1:
            return tests[0]
        raise common.UsageError(f"{path} holds {len(tests)} tests; pick one with --case NAME, e.g. "
                                f"--case {tests[0].name!r}")
    for test in tests:
        if test.name == name:
            return test
    raise common.UsageError(f"no test named {name!r} in {path}{common.suggest(name, [t.name for t in tests])}")


_SHOWN = 5  # the records (tests) an error names
_PLACE = re.compile(r"(?P<file>.+):(?P<line>[0-9]+)(?: \[item (?P<item>[0-9]+)\])?")


def _place(arg: str) -> tuple[str, int | None, int | None]:
    """CASE as (file, line, item): ``FILE:LINE`` or ``FILE:LINE [item N]`` (as eval names a record) picks the
    record that starts at LINE; a path that exists as written is a path, whatever it ends with."""
    m = _PLACE.fullmatch(arg)
    if arg == "-" or m is None or Path(arg).exists():
        return arg, None, None
    file = m["file"]
    if Path(file).is_dir():
        raise common.UsageError(f"{arg}: FILE:LINE picks a record of a file; {file} is a folder "
                                "(pick a record by its case_id with --case ID)")
    return file, int(m["line"]), int(m["item"]) if m["item"] else None


def _named(source: str, number: Any, case: Any) -> str:
    """A record as an error lists it: its case_id (if any) and where it is, as eval names it."""
    where = record_place(source, number)
    case_id = case.get("case_id") if isinstance(case, dict) else None
    return f"{case_id} at {where}" if case_id is not None else where


def _records(count: int) -> str:
    return f"{count} record{'' if count == 1 else 's'}"


def _pick(records: Iterable[Any], path: str, case_id: str | None, line: int | None, item: int | None) -> Any:
    """The one record that CASE (``line``, ``item``) and ``--case`` (``case_id``) pick from ``records``, read
    once as they stream (kept: the record picked, and what an error names). Without either, CASE must hold
    one record. A record that cannot be read is given back when it is the one picked (or the input as a
    whole), to be reported as eval reports it."""
    from policy_eval.errors import CaseError, record_item, record_line

    picked: Any = None
    before: str | None = None  # for ``line``: the last record that starts before it
    also: list[str] = []  # further records with the case_id asked for
    shown: list[str] = []  # the first records, named
    ids: list[str] = []  # case ids seen (bounded), for a "did you mean"
    unread: list[Any] = []  # records that are errors (for --case ID: none of them has an id to match)
    count = 0
    for record in records:
        source, number, case = record
        if number is None and isinstance(case, CaseError) and picked is None:
            return record  # the input (or the rest of it) could not be read: that is the answer
        count += 1
        if len(shown) < _SHOWN:
            shown.append(_named(source, number, case))
        if line is not None:
            at = record_line(number)
            if at == line and (item is None or record_item(number) == item):
                return record  # (records come in line order: nothing after it is read)
            if at is not None and at < line:
                before = _named(source, number, case)
            continue
        if case_id is None:
            picked = picked or record
            continue
        if isinstance(case, CaseError):
            unread.append(case)
            continue
        found = case.get("case_id")
        if found is not None and str(found) == case_id:
            if picked is None:
                picked = record
            else:
                also.append(record_place(source, number))
        elif found is not None and len(ids) < 10_000:
            ids.append(str(found))
    what = "stdin" if path == "-" else path
    if count == 0:
        raise common.UsageError(f"explain takes one case; {what} holds no case record")
    listed = ", ".join(shown) + (", ..." if count > len(shown) else "")
    if line is not None:
        place = f"{line} [item {item}]" if item is not None else str(line)
        near = f"; the last one before line {line}: {before}" if before is not None and before not in shown else ""
        raise common.UsageError(f"no record of {what} starts at line {place}; its {_records(count)}: {listed}{near}")
    if case_id is None:
        if count == 1:
            return picked
        raise common.UsageError(f"explain takes one case; {what} holds {count}: {listed}; pick one with "
                                "--case ID or FILE:LINE (use `policy-eval eval` for several)")
    if picked is not None and also:
        first = record_place(picked[0], picked[1])
        raise common.UsageError(f"case_id {case_id!r} is held by {len(also) + 1} records of {what}: "
                                f"{', '.join([first, *also[:_SHOWN - 1]])}{', ...' if len(also) >= _SHOWN else ''}; "
                                "pick one by FILE:LINE")
    if picked is None:
        kind = "a folder of case files" if Path(path).is_dir() else "a case file"
        bad = (f"; {len(unread)} record(s) could not be read, e.g. {unread[0]}" if unread else "")
        raise common.UsageError(f"{what} is {kind} and none of its {_records(count)} has case_id {case_id!r}: "
                                f"{listed}{bad}{common.suggest(case_id, ids)}")
    return picked


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.errors import CaseError
    from policy_eval.plugins.reporters import remedy_text
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.validation import (
        CaseValidator,  # the validator eval uses, so both reject the same records
    )
    from policy_eval.run.evaluate import Evaluator
    from policy_eval.run.explaining import unknown_reads
    from policy_eval.run.result import Outcome

    path, line, item = _place(args.case)
    common.check_inputs([path])
    if line is not None and args.pick is not None:
        raise common.UsageError(f"{args.case} and --case {args.pick} both pick a case: give one")
    test = None
    failed: PolicyError | common.UsageError | None = None  # reported once the policies are known to load
    if path.endswith((".yaml", ".yml")):
        try:
            test = _policy_test(path, args.pick, line)
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
        common.print_errors(failed, err, args.command, failed=f"{printable(path)} was not read")
        return common.EXIT_USAGE
    if test is not None:
        source, number, case = test.file, test.line, test.case
        if args.as_of is None and test.as_of is not None:
            args.as_of = options.instant(test.as_of)
    else:
        source, number, case = _pick(read_cases([path], stdin=stdin), path, args.pick, line, item)
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
        out.write(printable(f"REJECTED {record_place(source, number)}: {result.error['json_path']}: "
                            f"{result.error['message']}") + "\n")
        return common.EXIT_VIOLATED
    out.write(printable(f"{_case_name(result, source, number, test)} — rulebook {rb.digest[:19]}") + "\n")
    order = {Outcome.VIOLATED: 0, Outcome.UNDETERMINED: 1, Outcome.COMPLIED: 2, Outcome.NOT_APPLICABLE: 3}
    for history in rb.for_kind(result.kind or ""):
        mine = [r for r in result.results if r.policy == history.id]
        versions = ", ".join(f"{v.version} {v.period()}" for v in history.versions)
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
        rules = {rule.id: rule for rule in chosen.rules}
        how = (f"--as-of {args.as_of.isoformat()}" if args.as_of
               else f"reference_time `{ref_expr}` = {mine[0].reference_time}")
        out.write(f"  version {chosen.version} chosen: {how} is in {chosen.period()}\n")
        for r in sorted(mine, key=lambda r: order[r.outcome]):
            out.write(f"\n  {r.outcome.value.upper():15} {r.full_id} ({r.clause or 'no clause'}, {r.severity})\n")
            out.write(f"      {one_line(r.message or r.reason)}\n")
            # an unknown read of the case says which unknown: left out (absent) or null (docs/language.md)
            reads = unknown_reads(rules[r.rule], case) if r.rule in rules else {}
            write_steps(out, r.explanation, reads, "        ")
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
    """The head line's name of the case: its id, else the policy test's name, else where the record is, as eval
    names it (``file:LINE``, ``file:LINE [item N]`` for an item of a JSON array)."""
    where = record_place(source, number)
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

"""The ``policy-eval`` command line: it only wires the stages together.

Exit codes: 0 nothing violated (and no record rejected); 1 something
violated, a record was rejected, or a policy test failed; 2 usage error or
invalid policies; 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from . import __version__
from .errors import ErrorList, PolicyError

__all__ = ["main", "run"]

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Interrupted(Exception):
    pass


def _instant(text: str) -> _dt.datetime:
    from .policy import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or datetime: {text!r} ({exc})") from None


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="load a plugin module (repeatable); installed plugins load automatically")
    pol = argparse.ArgumentParser(add_help=False)
    pol.add_argument("--policies", "-p", metavar="DIR", help="policy folder (default: the bundled rulebook)")
    pol.add_argument("--schemas", metavar="DIR", help="schema folder with cases/<kind>.schema.json")

    p = argparse.ArgumentParser(prog="policy-eval", description="Check case records against policies as data.")
    p.add_argument("--version", action="version", version=f"policy-eval {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", parents=[common], help="validate policy files (schema, conditions, types, versions)")
    c.add_argument("policy_dir", nargs="?", help="policy folder or file (default: bundled)")
    c.add_argument("--schemas", metavar="DIR")
    c.add_argument("--format", choices=["text", "json"], default="text")

    e = sub.add_parser("eval", parents=[common, pol], help="evaluate cases (JSON, JSON Lines, folders, -)")
    e.add_argument("cases", nargs="+", help="case files, folders, or - for stdin")
    e.add_argument("--as-of", type=_instant, help="force the version date instead of each case's reference time")
    e.add_argument("--format", "-f", default="text", help="text, json, jsonl, junit, sarif, or a plugin's format")
    e.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE atomically (default: stdout)")
    e.add_argument("--only", action="append", metavar="RULE", help="only these rules/policies (repeatable)")
    e.add_argument("--skip", action="append", default=[], metavar="RULE", help="skip these rules/policies")
    e.add_argument("--severity", default="info", choices=["info", "low", "medium", "high", "critical"],
                   help="report rules of at least this severity")
    e.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (default 1)")
    e.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    e.add_argument("--verbose", "-v", action="store_true", help="text: show complied and not-applicable rules too")
    e.add_argument("--explain", action="store_true", help="attach explanations to every verdict")
    e.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of cases")
    e.add_argument("--input-format", help="case loader to use (default: by file suffix; json/jsonl built in)")
    e.add_argument("--fail-on", choices=["violated", "undetermined", "never"], default="violated",
                   help="exit 1 on violations (default), also on undetermined verdicts, or never")

    x = sub.add_parser("explain", parents=[common, pol], help="one case, every rule's full explanation")
    x.add_argument("case", help="a JSON file holding one case (or - for stdin)")
    x.add_argument("--rule", action="append", help="only these rules")
    x.add_argument("--as-of", type=_instant)
    x.add_argument("--format", choices=["text", "json"], default="text")

    t = sub.add_parser("test", parents=[common, pol], help="run policy tests (YAML cases with expected outcomes)")
    t.add_argument("paths", nargs="*", help="test files or folders (default: the policy folder)")
    t.add_argument("--min-coverage", type=float, default=0.0, metavar="PCT",
                   help="fail unless this %% of rules have both a violated and a complied test")
    t.add_argument("--verbose", "-v", action="store_true")
    t.add_argument("--coverage", action="store_true", help="print per-rule outcome coverage")

    d = sub.add_parser("diff", parents=[common], help="which cases change outcome between two policy folders")
    d.add_argument("old", help="policy folder before the revision")
    d.add_argument("new", help="policy folder after the revision")
    d.add_argument("cases", nargs="+")
    d.add_argument("--schemas", metavar="DIR")
    d.add_argument("--as-of", type=_instant)
    d.add_argument("--latest", action="store_true",
                   help="compare the latest version of each policy on both sides, ignoring effective dates")
    d.add_argument("--format", choices=["text", "json"], default="text")

    r = sub.add_parser("rules", parents=[common, pol], help="list rules with clause and summary")
    r.add_argument("--policy", action="append", help="only these policy ids")
    r.add_argument("--at", type=_instant, help="only versions in force at this date")
    r.add_argument("--inputs", action="store_true", help="show the case fields each rule reads")
    r.add_argument("--format", choices=["text", "json", "markdown"], default="text")

    sub.add_parser("plugins", parents=[common], help="list loaded plugins, functions, loaders and reporters")
    return p


def _load(args: argparse.Namespace, policies: str | None = None) -> Any:
    from .plugin_manager import get_plugin_manager
    from .rulebook import load_rulebook

    pm = get_plugin_manager()
    for plugin in getattr(args, "plugin", []) or []:
        pm.add(plugin)
    return load_rulebook(policies if policies is not None else getattr(args, "policies", None),
                         schema_dir=getattr(args, "schemas", None), functions=pm.functions())


def _print_errors(exc: PolicyError, err: IO[str]) -> None:
    errors = exc.errors if isinstance(exc, ErrorList) else [exc]
    for e in errors:
        err.write(str(e) + "\n")
    err.write(f"{len(errors)} error(s)\n")


# --- check -----------------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    try:
        rb = _load(args, args.policy_dir)
    except PolicyError as exc:
        if args.format == "json":
            errors = exc.errors if isinstance(exc, ErrorList) else [exc]
            out.write(json.dumps({"ok": False, "errors": [e.to_dict() for e in errors]}, ensure_ascii=False) + "\n")
        else:
            _print_errors(exc, err)
        return EXIT_USAGE
    versions = list(rb.versions())
    n_rules = sum(len(v.rules) for v in versions)
    if args.format == "json":
        out.write(json.dumps({"ok": True, "policies": len(rb.policies), "versions": len(versions),
                              "rules": n_rules, "rulebook": rb.digest}) + "\n")
    else:
        out.write(f"ok: {len(rb.policies)} policies, {len(versions)} versions, {n_rules} rules ({rb.digest[:19]})\n")
    return EXIT_OK


# --- eval ------------------------------------------------------------------------------------------------
def _summary_counter() -> dict[str, Any]:
    return {"read": 0, "evaluated": 0, "rejected": 0, "cases_violating": 0, "cases_undetermined": 0,
            "outcomes": {"complied": 0, "violated": 0, "not_applicable": 0, "undetermined": 0},
            "interrupted": False}


def _records(args: argparse.Namespace, stdin: IO[bytes] | None) -> Any:
    from .cases import read_cases
    from .plugin_manager import get_plugin_manager

    fmt = args.input_format
    if fmt and fmt not in ("json", "jsonl"):
        loaders = get_plugin_manager().loaders()
        if fmt not in loaders:
            raise SystemExit(f"policy-eval: unknown --input-format {fmt!r} (available: json, jsonl, "
                             f"{', '.join(sorted(loaders))})")
        return _plugin_records(loaders[fmt], args.cases, stdin)
    return read_cases(args.cases, stdin=stdin, raw=True, fmt=fmt)


def _plugin_records(loader: Any, inputs: Sequence[str], stdin: IO[bytes] | None) -> Any:
    for item in inputs:
        if item == "-":
            yield from ((("<stdin>",) + tuple(r)) for r in loader(stdin or sys.stdin.buffer, source="<stdin>",
                                                                  options={}))
            continue
        with open(item, "rb") as fh:
            for number, case in loader(fh, source=item, options={}):
                yield item, number, case


class _AtomicOutput:
    """Write to a temp file beside the target and rename it into place when done."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent or ".")
        self.stream = os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.stream.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


def cmd_eval(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from .batch import BatchOptions, Processor, run_batch
    from .plugin_manager import get_plugin_manager
    from .progress import Progress

    try:
        rb = _load(args)
    except PolicyError as exc:
        _print_errors(exc, err)
        return EXIT_USAGE
    reporters = get_plugin_manager().reporters()
    if args.format not in reporters:
        err.write(f"policy-eval: unknown --format {args.format!r} (available: {', '.join(sorted(reporters))})\n")
        return EXIT_USAGE
    options = BatchOptions(policies=args.policies, schemas=args.schemas, as_of=args.as_of, only=args.only,
                           skip=args.skip, min_severity=args.severity, explain=args.explain,
                           validate=not args.no_validate, plugins=list(args.plugin))
    processor = Processor(options, rulebook=rb)
    sink = _AtomicOutput(args.output) if args.output else None
    stream = sink.stream if sink else out
    reporter = reporters[args.format](stream, {"verbose": args.verbose, "color": None if not sink else False})
    rules = [{"id": r.full_id, "title": r.title, "clause": r.clause, "severity": r.severity}
             for v in rb.versions() for r in v.rules]
    reporter.start({"rulebook": rb.digest, "rules": rules})
    summary = _summary_counter()
    total_bytes = _input_size(args.cases)
    progress = Progress(err, total_bytes, enabled=not args.quiet and hasattr(err, "isatty") and err.isatty())
    done_bytes = 0

    def on_signal(signum: int, frame: Any) -> None:
        raise _Interrupted()

    old_handlers = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old_handlers[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread (embedded use)
            pass
    try:
        records = _records(args, stdin)

        def counted() -> Any:
            nonlocal done_bytes
            for item in records:
                payload = item[2]
                if isinstance(payload, bytes):
                    done_bytes += len(payload)
                yield item

        for result in run_batch(counted(), options, jobs=max(1, args.jobs), processor=processor):
            summary["read"] += 1
            if result.error is not None:
                summary["rejected"] += 1
            else:
                summary["evaluated"] += 1
                counts = result.counts()
                for k, v in counts.items():
                    summary["outcomes"][k] += v
                summary["cases_violating"] += counts["violated"] > 0
                summary["cases_undetermined"] += counts["undetermined"] > 0
            reporter.case(result)
            progress.update(summary["read"], done_bytes)
    except _Interrupted:
        summary["interrupted"] = True
    finally:
        progress.close()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
    if summary["interrupted"] and args.format == "jsonl":
        stream.write(json.dumps({"format": "1", "status": "interrupted", "written": summary["read"]}) + "\n")
    reporter.finish(summary)
    if sink:
        sink.commit()
    if args.format != "text" or sink:
        o = summary["outcomes"]
        err.write(f"{summary['read']} read: {summary['evaluated']} evaluated, {summary['rejected']} rejected; "
                  f"{o['violated']} violated, {o['undetermined']} undetermined\n")
    if summary["interrupted"]:
        err.write(f"policy-eval: interrupted; {summary['read']} record(s) written"
                  f"{' to ' + args.output if args.output else ''}; the report says it is incomplete\n")
        return EXIT_INTERRUPTED
    if args.fail_on == "never":
        return EXIT_OK
    failed = summary["outcomes"]["violated"] > 0 or summary["rejected"] > 0
    if args.fail_on == "undetermined":
        failed = failed or summary["outcomes"]["undetermined"] > 0
    return EXIT_VIOLATED if failed else EXIT_OK


def _input_size(inputs: Sequence[str]) -> int | None:
    total = 0
    for item in inputs:
        if item == "-":
            return None
        p = Path(item)
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            return None
    return total or None


# --- explain ---------------------------------------------------------------------------------------------
def cmd_explain(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from .cases import read_cases
    from .evaluate import Evaluator

    try:
        rb = _load(args)
    except PolicyError as exc:
        _print_errors(exc, err)
        return EXIT_USAGE
    records = list(read_cases([args.case], stdin=stdin))
    if len(records) != 1:
        err.write(f"policy-eval explain: expected one case in {args.case}, found {len(records)}\n")
        return EXIT_USAGE
    source, number, case = records[0]
    if not isinstance(case, dict):
        err.write(f"{case}\n")
        return EXIT_VIOLATED
    result = Evaluator(rb, explain=True, only=args.rule).evaluate(case, as_of=args.as_of, source=source, record=number)
    if args.format == "json":
        out.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return EXIT_VIOLATED if result.violated or result.error else EXIT_OK
    if result.error:
        out.write(f"REJECTED {result.error}\n")
        return EXIT_VIOLATED
    out.write(f"case {result.case_id} ({result.kind}) — rulebook {rb.digest[:19]}\n")
    for history in rb.for_kind(result.kind or ""):
        versions = ", ".join(f"{v.version} [{v.effective_from.date()} .. "
                             f"{v.effective_until.date() if v.effective_until else 'open'})" for v in history.versions)
        ref = args.as_of.isoformat() if args.as_of else f"reference_time `{history.latest().reference_time.text}`"
        out.write(f"\npolicy {history.id}: versions {versions}; chosen by {ref}\n")
        for r in result.results:
            if r.policy != history.id:
                continue
            out.write(f"  {r.outcome.value.upper():15} {r.full_id} (version {r.version}, {r.clause or '-'})\n")
            out.write(f"      {r.message or r.reason}\n")
            if r.reference_time:
                out.write(f"      reference time: {r.reference_time}\n")
            for step in r.explanation:
                witness = f"   ← {step['witness']}" if "witness" in step else ""
                out.write(f"        {step['expr']}  =  {step['value']}{witness}\n")
            for rem in r.remedies:
                out.write(f"      remedy: {rem['kind']} {rem.get('amount_text', '')} {rem.get('form', '')}\n")
            if r.missing:
                out.write(f"      missing: {', '.join(r.missing)}\n")
    return EXIT_VIOLATED if result.violated else EXIT_OK


# --- test ------------------------------------------------------------------------------------------------
def cmd_test(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .cases import CaseValidator
    from .errors import PolicyError as PE
    from .evaluate import Evaluator
    from .testing import coverage, discover, load_tests, run_test

    try:
        rb = _load(args)
    except PolicyError as exc:
        _print_errors(exc, err)
        return EXIT_USAGE
    paths = [Path(p) for p in args.paths] or [rb.root]
    files = discover(paths)
    evaluator = Evaluator(rb)
    validator = CaseValidator(rb.case_schemas)
    outcomes = []
    load_errors = 0
    for f in files:
        try:
            tests = load_tests(f)
        except PE as exc:
            err.write(str(exc) + "\n")
            load_errors += 1
            continue
        marks = []
        for t in tests:
            o = run_test(t, evaluator, validator)
            outcomes.append(o)
            marks.append("." if o.passed else "F")
        out.write(f"{f} {''.join(marks)}\n")
        if args.verbose:
            for o in outcomes[-len(tests):]:
                out.write(f"    {'PASS' if o.passed else 'FAIL'} {o.test.name}\n")
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        out.write(f"\n___ {o.test.name} ___\n{o.test.file}:{o.test.line}\n")
        for f in o.failures:
            out.write(f"    {f}\n")
    cov = coverage(rb, [o for o in outcomes if o.passed])
    full = [r for r, outs in cov.items() if {"violated", "complied"} <= outs]
    pct = 100.0 * len(full) / len(cov) if cov else 100.0
    if args.coverage or args.verbose:
        out.write("\nrule coverage (outcomes with a passing test):\n")
        for rule_id, outs in sorted(cov.items()):
            marks = " ".join(o if o in outs else "-" * len(o) for o in ("violated", "complied", "not_applicable",
                                                                          "undetermined"))
            out.write(f"  {rule_id:60} {marks}\n")
    uncovered = sorted(r for r in cov if not cov[r] & {"violated", "complied"})
    out.write(f"\ncoverage: {len(full)}/{len(cov)} rules ({pct:.1f}%) have a violated and a complied test")
    out.write(f"; {len(uncovered)} rule(s) have neither\n" if uncovered else "\n")
    if not outcomes and not load_errors:
        out.write("no tests found\n")
        return EXIT_VIOLATED
    out.write(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed"
              + (f", {load_errors} file(s) with errors" if load_errors else "") + "\n")
    if failed or load_errors:
        return EXIT_VIOLATED
    if pct + 1e-9 < args.min_coverage:
        out.write(f"coverage {pct:.1f}% is below --min-coverage {args.min_coverage:.1f}%\n")
        return EXIT_VIOLATED
    return EXIT_OK


# --- diff ------------------------------------------------------------------------------------------------
def cmd_diff(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from .cases import read_cases
    from .diff import diff_rulebooks, latest_only
    from .evaluate import Evaluator

    try:
        old = _load(args, args.old)
        new = _load(args, args.new)
    except PolicyError as exc:
        _print_errors(exc, err)
        return EXIT_USAGE
    if args.latest:
        old, new = latest_only(old), latest_only(new)
    report = diff_rulebooks(Evaluator(old, record_inputs=False), Evaluator(new, record_inputs=False),
                            read_cases(args.cases, stdin=stdin), as_of=args.as_of)
    if args.format == "json":
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.text() + "\n")
    return EXIT_OK


# --- rules -----------------------------------------------------------------------------------------------
def cmd_rules(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    try:
        rb = _load(args)
    except PolicyError as exc:
        _print_errors(exc, err)
        return EXIT_USAGE
    rows = []
    for v in rb.versions():
        if args.policy and v.id not in args.policy:
            continue
        if args.at and not v.in_force(args.at):
            continue
        for r in v.rules:
            rows.append({"id": r.full_id, "policy": v.id, "version": v.version, "clause": r.clause,
                         "title": r.title, "severity": r.severity, "applies_to": v.applies_to,
                         "effective_from": v.effective_from.isoformat(),
                         "effective_until": v.effective_until.isoformat() if v.effective_until else None,
                         "inputs": r.inputs})
    if args.format == "json":
        out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif args.format == "markdown":
        out.write("| rule | version | clause | summary |\n|---|---|---|---|\n")
        for row in rows:
            out.write(f"| `{row['id']}` | {row['version']} | {row['clause']} | {row['title']} |\n")
    else:
        for row in rows:
            out.write(f"{row['id']:50} v{row['version']:6} {row['clause']:28} {row['title']}\n")
            if args.inputs:
                out.write(f"    reads: {', '.join(row['inputs'])}\n")
        out.write(f"{len(rows)} rule(s)\n")
    return EXIT_OK


# --- plugins ---------------------------------------------------------------------------------------------
def cmd_plugins(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .plugin_manager import get_plugin_manager

    pm = get_plugin_manager()
    for plugin in args.plugin:
        pm.add(plugin)
    out.write("plugins:\n")
    for row in pm.describe():
        out.write(f"  {row['name']:40} {row['version']}\n")
    out.write("functions:\n")
    for fn in sorted(pm.functions(), key=lambda f: f.name):
        out.write(f"  {fn.signature():70} [{fn.plugin}]\n")
    out.write(f"reporters: {', '.join(sorted(pm.reporters()))}\n")
    out.write(f"case loaders: json, jsonl{', ' if pm.loaders() else ''}{', '.join(sorted(pm.loaders()))}\n")
    return EXIT_OK


def run(argv: Sequence[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
        stdin: IO[bytes] | None = None) -> int:
    """Run the CLI with injectable streams; return the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    try:
        if args.command == "check":
            return cmd_check(args, out, err)
        if args.command == "eval":
            return cmd_eval(args, out, err, stdin)
        if args.command == "explain":
            return cmd_explain(args, out, err, stdin)
        if args.command == "test":
            return cmd_test(args, out, err)
        if args.command == "diff":
            return cmd_diff(args, out, err, stdin)
        if args.command == "rules":
            return cmd_rules(args, out, err)
        if args.command == "plugins":
            return cmd_plugins(args, out, err)
    except PolicyError as exc:
        _print_errors(exc, err)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except SystemExit as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    return EXIT_USAGE


def main() -> None:
    sys.exit(run())

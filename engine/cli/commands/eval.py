"""``policy-eval eval``: evaluate case records against the rulebook and report every verdict.

Reads cases lazily (files, folders, stdin, or a plugin's loader), evaluates them in this process, in
``--jobs`` worker processes or on a Dask cluster, and streams each result to the chosen reporter. A signal
ends the batch between two pieces of the report, so the report and the totals line always agree.

With the json and jsonl reporters, workers (``--jobs`` 2+, Dask) send back one block per task: its records'
JSON text, framed as the reporter frames a record, and their totals (:mod:`policy_eval.run.blocks`). This
process writes each block with one write and adds its totals, so that it does not become the bottleneck
of ``--jobs``. Other reporters, and the one-process run, get every result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import IO, Any, cast

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.cli.inputs import eval_records, input_size
from policy_eval.cli.output import AtomicOutput, BlockWriter, block_frame, isatty, stdout_binary
from policy_eval.cli.signals import Interrupted, Signals, Tally
from policy_eval.cli.streams import OutputFailed
from policy_eval.errors import printable
from policy_eval.lang.budget import DEFAULT_BUDGET
from policy_eval.run.blocks import TOTALS, Block, count
from policy_eval.run.runaway import DEFAULT_RECORD_LIMIT

_EVAL_EPILOG = """\
Cases are JSON (one object, an array of objects, or several objects one after another) or JSON Lines
(.jsonl/.ndjson, one object per line); a folder is read recursively; - reads stdin. A record that is
not valid JSON, not an object, or does not match its kind's schema (schemas/cases/) is REJECTED with
its line and JSON path; the other records are still evaluated. The last line accounts for every record:
read = evaluated + rejected.

formats: text (violations first; -v shows clean cases and every rule), json (one document),
jsonl (one result per line: findings, schemas/result-findings.schema.json; with --detail full every
verdict, schemas/result.schema.json), junit (XML for CI test reports: a test case per verdict, passing
ones included), sarif (SARIF 2.1.0), or a reporter added by a plugin (see `policy-eval plugins`).
A signal (exit 130) ends any report, even one of no record, saying it is incomplete (jsonl: a trailer).

examples:
  policy-eval eval examples/after_sales.jsonl
  policy-eval eval -f jsonl -o results.jsonl --jobs 2 big.jsonl
  cat case.json | policy-eval eval --rule after-sales --severity medium -
  policy-eval eval --as-of 2020-06-01 case.json      judge by the versions in force on that day
"""


def register(sub: Subparsers) -> argparse.ArgumentParser:
    e = sub.add_parser("eval", parents=[options.plugin(), options.policies(), options.cost()],
                       formatter_class=options.FORMATTER,
                       epilog=_EVAL_EPILOG,
                       help="evaluate cases (JSON, JSON Lines, folders, - for stdin)",
                       description="Evaluate case records against the rulebook and report every verdict.")
    e.add_argument("cases", nargs="+", metavar="CASES", help="case files, folders, or - for stdin")
    e.add_argument("--budget", type=options.count, default=DEFAULT_BUDGET, metavar="N",
                   help=f"items each rule may visit on one record (default {DEFAULT_BUDGET:,}); past it that "
                        "verdict is undetermined with 'budget exceeded' (docs/language.md, Cost)")
    e.add_argument("--record-limit", type=options.seconds_or_none, default=DEFAULT_RECORD_LIMIT, metavar="SECONDS",
                   help=f"CPU seconds one record may take (default {DEFAULT_RECORD_LIMIT:g}; 'none': no limit): a record "
                        "past it (a plugin function that never returns, say) is stopped and reported rejected, "
                        "and the run goes on")
    e.add_argument("--format", "-f", metavar="FORMAT",
                   help="text, json, jsonl, junit, sarif, or a plugin's format (default: by -o FILE's extension, else text)")
    e.add_argument("--output", "-o", type=options.output_file, metavar="FILE",
                   help="write the report to FILE (default: stdout), atomically: a temp file renamed into place, "
                        "so FILE appears complete or not at all, and a complete FILE is never replaced by an "
                        "incomplete one (an interrupted run writes its partial report to FILE only if FILE did "
                        "not exist, else to FILE.interrupted); a link is followed; devices and FIFOs are written "
                        "straight through; FILE must not be an input, and its folder must exist and be writable "
                        "(else a usage error, exit 2, before the run); FILE.gz is written gzip-compressed")
    options.as_of(e, help="pick policy versions in force at this date/datetime instead of each case's "
                          "reference time")
    options.rule(e, dest="only")
    skip = e.add_argument("--skip", action="append", default=[], metavar="RULE",
                          help="skip this rule or policy (repeatable)")
    vars(skip)["completer"] = options.rule_ids  # argcomplete reads it; argparse's Action does not declare it
    e.add_argument("--severity", default="info", choices=["info", "low", "medium", "high", "critical"],
                   help="only rules of at least this severity (default: info, i.e. all)")
    e.add_argument("--fail-on", choices=["violated", "undetermined", "never"], default="violated",
                   help="exit 1 on violations or rejected records (default), also on undetermined "
                        "verdicts, or never")
    e.add_argument("--jobs", "-j", type=options.jobs, default=1, metavar="N",
                   help="worker processes (default 1), or 'auto': one per CPU this process may use; "
                        "the output is the same for any N")
    e.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="local processes (default), or a Dask cluster (needs the [dask] extra); same output")
    e.add_argument("--scheduler", metavar="ADDR",
                   help="dask: scheduler address, e.g. tcp://host:8786 (default: a local cluster of --jobs "
                        "workers); the policy folder and JSON Lines case files (resolved to absolute paths here) "
                        "must be readable at those paths on the workers, which read the case files' byte ranges "
                        "themselves, and the workers must load the same rulebook")
    e.add_argument("--quiet", "-q", action="store_true", help="no progress line (it is shown only on a terminal)")
    e.add_argument("--verbose", "-v", action="store_true",
                   help="text: also show clean cases and complied / not-applicable rules")
    e.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                   help="text: colour on a terminal unless NO_COLOR is set (auto, default), always, never")
    e.add_argument("--explain", action="store_true",
                   help="attach the evaluated sub-expressions to every verdict, and to each violated or undetermined one what "
                        "would decide it otherwise (comply; docs/due.md) (json, jsonl; implies "
                        "--detail full)")
    e.add_argument("--detail", choices=["findings", "full"], default=None,
                   help="json, jsonl: findings (default: per case the violated, undetermined and waived verdicts "
                        "and the counts of the rest) or full (every verdict of every rule, with the inputs read); "
                        "text: full shows every verdict, as -v does; junit always lists every verdict (full), so "
                        "--detail findings with it is a usage error; sarif reports the same either way")
    e.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of cases")
    e.add_argument("--allow-empty", action="store_true",
                   help="exit 0 when the inputs hold no case record (default: that is an error, exit 1)")
    e.add_argument("--input-format", metavar="NAME",
                   help="read every input with this loader: json, jsonl, or a plugin's (default: by suffix)")
    return e


def _absolute(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None


def _same_rulebook(results: Any, digest: str, policies: str | None) -> Any:
    """Results from Dask workers, checked to come from the rulebook this client loaded: a worker that reads
    another copy of the policy folder (or cannot read it) is an error naming both sides."""
    from policy_eval.errors import PolicyError

    where = policies or "the bundled rulebook"
    try:
        for result in results:
            theirs = getattr(result, "rulebook", None)
            if theirs is not None and theirs != digest:
                raise common.UsageError(f"the Dask workers evaluate rulebook {theirs} but this client loaded "
                                        f"{digest} from {where}: give the workers the same policy folder")
            yield result
    except PolicyError as exc:
        raise common.UsageError(f"the Dask workers could not load the rulebook from {where}: {exc}") from None
    except Exception as exc:
        from policy_eval.run.distributed import CasesUnreadable

        if isinstance(exc, CasesUnreadable):
            raise common.UsageError(str(exc)) from None
        raise


def _summary_counter() -> dict[str, Any]:
    return {"read": 0, "evaluated": 0, "rejected": 0, "cases_violating": 0, "cases_undetermined": 0,
            "cases_clean": 0, "outcomes": {"complied": 0, "violated": 0, "not_applicable": 0, "undetermined": 0},
            "interrupted": False, "worker_deaths": 0, "internal": 0}


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    signals = Signals()
    signals.install()  # first thing: a signal while the rulebook loads must still end in "interrupted", 130
    try:
        return _cmd_eval(args, out, err, stdin, signals)
    finally:
        signals.restore()


def _cmd_eval(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None,
              signals: Signals) -> int:
    from policy_eval.plugin_manager import get_plugin_manager

    # Mistakes that need no rulebook are reported before the (slow) load.
    common.check_inputs(args.cases)
    args.format = args.format or options.format_of(args.output)  # (-o FILE's extension's, else text)
    if args.output:
        folders: list[tuple[Any, tuple[str, ...]]] = [(item, common.CASE_ENDINGS) for item in args.cases]
        if args.policies:
            folders.append((args.policies, (".yaml", ".yml")))
        AtomicOutput.check(args.output, inputs=[*args.cases, args.params or "", args.policies or ""],
                           folders=folders)
    detail = _detail(args)
    if args.scheduler and args.engine != "dask":
        raise common.UsageError("--scheduler goes with --engine dask")
    sink: AtomicOutput | None = None
    factory: Any = None
    began: list[bool] = []  # _eval began the report
    try:
        sink = AtomicOutput(args.output) if args.output else None  # (an unwritable folder: before the load)
        try:
            pm = get_plugin_manager()
            for plugin in args.plugin:
                pm.add(plugin)
            reporters = pm.reporters()
            if args.format not in reporters:
                raise common.UsageError(f"unknown --format {args.format!r} (available: {', '.join(sorted(reporters))})")
            factory = reporters[args.format]
            rb = common.load(args)
            signals.check()  # a signal whose exception the load lost (see Signals.check) still ends the run here
            common.settle_heap()
            common.check_selectors(rb, args.only, "--rule")
            common.check_selectors(rb, args.skip, "--skip")
            return _eval(args, rb, factory, sink, out, err, stdin, signals, began)
        except (Interrupted, KeyboardInterrupt):
            if began:  # (_eval ends its report on a signal: this one came in the instant before it held them)
                raise
            # Before the report began (plugins or the rulebook loading): the report of no record,
            # saying it is incomplete, as a signal between two records leaves; not no report at all.
            signals.enter()  # never left: the report is finished whatever arrives now
            from policy_eval.plugins.reporters import policy_eval_reporters

            builtin = policy_eval_reporters().get(args.format)  # (factory is None: the plugins were loading)
            if builtin is None or factory not in (None, builtin):  # a plugin's may need the rulebook's meta
                raise
            stream = sink.stream if sink else out
            reporter = builtin(stream, _reporter_options(args, sink))
            reporter.start({"rulebook": None, "rules": [], "detail": detail})
            return _conclude(args, detail, {**_summary_counter(), "interrupted": True}, reporter, sink, stream, err)
    except BaseException as exc:
        if sink:
            sink.abort()
            if isinstance(exc, OutputFailed) and sink.tmp is not None:
                exc.note = f"{args.output} was left as it was" if sink.existed else f"{args.output} was not created"
        raise


def _reporter_options(args: argparse.Namespace, sink: AtomicOutput | None) -> dict[str, Any]:
    """(text: --detail full shows every verdict, as -v does; colour in a file only with --color always)"""
    color = {"auto": None if sink is None else False, "always": True, "never": False}[args.color]
    return {"verbose": args.verbose or args.detail == "full", "color": color}


def _eval(args: argparse.Namespace, rb: Any, factory: Any, sink: AtomicOutput | None, out: IO[str],
          err: IO[str], stdin: IO[bytes] | None, signals: Signals, began: list[bool]) -> int:
    from policy_eval.cli.progress import Progress
    from policy_eval.rulebook.shards import Shard
    from policy_eval.run.batch import BatchOptions, Processor, run_batch

    # Paths are resolved here, on the client: Dask workers run in folders of their own.
    # Blocks when the reporter is one that writes blocks and results come from other processes, or in this
    # one from files (read ahead a chunk at a time; records from stdin are reported one by one as they come).
    frame = block_frame(factory) if args.jobs > 1 or args.engine == "dask" or "-" not in args.cases else None
    options = BatchOptions(policies=_absolute(args.policies), schemas=_absolute(args.schemas), params=_absolute(args.params),
                           as_of=args.as_of, only=args.only, skip=args.skip, min_severity=args.severity,
                           explain=True if args.explain else "missing",
                           validate=not args.no_validate, plugins=list(args.plugin),
                           transport="objects" if frame is None else "blocks",
                           frame=(frame[0], frame[1]) if frame is not None else ("", "\n"),
                           detail=_detail(args), budget=args.budget, max_cost=args.max_cost,
                           follow_links=args.follow_links, record_limit=args.record_limit)
    processor = Processor(options, rulebook=rb)
    stream = sink.stream if sink else out
    tally = Tally(cast(IO[str], stream), signals)
    reporter = factory(tally, _reporter_options(args, sink))
    rules = [{"id": r.full_id, "version": v.version, "title": r.title, "clause": r.clause,
              "severity": r.severity} for v in rb.versions() for r in v.rules]
    blocks = None if frame is None else BlockWriter(tally, frame, sink.binary() if sink else stdout_binary(out),
                                                    args.output or "stdout")
    summary = _summary_counter()
    # The progress line goes to a terminal's stderr, and only when the report does not go to that terminal.
    show_progress = not args.quiet and isatty(err) and (sink is not None or not isatty(out))
    progress = Progress(err, input_size(args.cases), enabled=show_progress)
    done_bytes = 0
    records = eval_records(args, stdin, options.transport == "blocks" and options.detail == "findings")

    def counted() -> Any:
        nonlocal done_bytes
        for item in records:
            if isinstance(item, Shard):  # counted when handed to a worker, as a chunk of records is
                done_bytes += item.end - item.start
            elif isinstance(item[2], bytes):
                done_bytes += len(item[2])
            yield item

    totals = [0] * len(TOTALS)  # the summary's numbers as they add up (see _summarise)

    def account(result: Any) -> None:
        if isinstance(result, Block):  # the worker has added up its records
            for i, n in enumerate(result.totals):
                totals[i] += n
        else:
            count(totals, result)

    # A signal ends the loop wherever it lands. A record counts as reported when its report has been
    # (at least partly) written: `current` and `mark` say which record was being reported, from where.
    def worker_died(message: str) -> None:
        summary["worker_deaths"] += 1
        err.write(f"policy-eval: warning: {printable(message)}\n")  # it names inputs: a case author's file names

    client = None
    batch: Any = None
    current: Any = None
    mark = 0
    signals.enter()  # the report's head is written whole; from here on a signal ends in the report's end
    began.append(True)
    reporter.start({"rulebook": rb.digest, "rules": rules, "detail": options.detail})
    try:
        signals.leave()
        if args.engine == "dask":  # (starting a local cluster takes seconds: a signal then is a report of 0)
            from policy_eval.run.distributed import connect, run_on_dask

            try:
                client = connect(args.scheduler, args.jobs)
            except RuntimeError as exc:  # the optional extra is missing
                raise common.UsageError(str(exc)) from None
            except OSError as exc:
                raise common.UsageError(f"cannot reach the Dask scheduler {args.scheduler}: {exc}") from None
            batch = _same_rulebook(run_on_dask(counted(), options, client=client, on_worker_death=worker_died),
                                   rb.digest, options.policies)
        else:
            batch = run_batch(counted(), options, jobs=args.jobs, processor=processor, on_worker_death=worker_died,
                              borrowed=True)  # (each block written before the next is asked for: run.slots)
        for result in batch:
            current, mark = result, tally.written
            # one critical section from the record's report to its count: a signal waits for both, so that
            # a reporter writing a record in pieces (junit's test cases, one per rule, spooled by suite; sarif's
            # results) never reports part of a record, nor one the counts leave out
            signals.enter()
            if isinstance(result, Block):
                assert blocks is not None
                blocks.write(result)
            else:
                reporter.case(result)
            account(result)
            current = None
            progress.update(totals[0], done_bytes)
            signals.leave()
    except (Interrupted, KeyboardInterrupt):
        summary["interrupted"] = True
    finally:
        signals.enter()  # never left: the report is finished whatever arrives now
        if current is not None and tally.written != mark:
            account(current)
        close = getattr(batch, "close", None)
        if close is not None:
            close()  # stops --jobs workers now, not when the generator is collected
        if client is not None:
            with contextlib.suppress(Exception):
                cluster = getattr(client, "cluster", None)
                client.close()
                if cluster is not None and args.scheduler in (None, "", "local"):
                    cluster.close()
        progress.close()
    _summarise(summary, totals)
    return _conclude(args, options.detail, summary, reporter, sink, stream, err)


def _conclude(args: argparse.Namespace, detail: str, summary: dict[str, Any], reporter: Any,
              sink: AtomicOutput | None, stream: Any, err: IO[str]) -> int:
    """End the report (a jsonl trailer if interrupted, the reporter's finish), put it in place, say how the
    run went on stderr, and return the exit code."""
    if summary["interrupted"] and args.format == "jsonl":
        fmt = "findings/1" if detail == "findings" else "1"
        stream.write(json.dumps({"format": fmt, "status": "interrupted", "written": summary["read"]}) + "\n")
    reporter.finish(summary)
    written = str(sink.commit(complete=not summary["interrupted"])) if sink else None
    if args.format != "text" or sink:
        from policy_eval.plugins.reporters import totals_line

        err.write(totals_line(summary) + (f" -> {written}" if written else "") + "\n")
    if summary["interrupted"]:
        kept = f" ({args.output} is kept as it was: a complete report is never replaced by an incomplete one)" \
            if written and written != args.output else ""
        err.write(f"policy-eval: interrupted; {summary['read']} record(s) reported"
                  f"{' in ' + written if written else ''}; the report says it is incomplete{kept}\n")
        return common.EXIT_INTERRUPTED
    if summary["internal"]:  # complete, but some records met a bug rather than a verdict
        err.write(f"policy-eval: {summary['internal']} record(s) rejected with an internal error (a bug in "
                  "policy-eval, or in a plugin the report names; see the report)\n")
        return common.EXIT_INTERNAL
    if summary["worker_deaths"]:  # the report is complete, but the run was not healthy
        err.write(f"policy-eval: {summary['worker_deaths']} worker failure(s); see the warnings above\n")
        return common.EXIT_WORKER
    if summary["read"] == 0 and not args.allow_empty:
        err.write(f"policy-eval eval: no case record found: {common.no_records(args.cases)} "
                  "(pass --allow-empty if that is expected)\n")
        return common.EXIT_VIOLATED
    if args.fail_on == "never":
        return common.EXIT_OK
    failed = summary["outcomes"]["violated"] > 0 or summary["rejected"] > 0
    if args.fail_on == "undetermined":
        failed = failed or summary["outcomes"]["undetermined"] > 0
    return common.EXIT_VIOLATED if failed else common.EXIT_OK


def _summarise(summary: dict[str, Any], totals: list[int]) -> None:
    """Put the added-up ``totals`` (in the order of blocks.TOTALS) into the summary the reporters are given."""
    for name, n in zip(TOTALS, totals, strict=True):
        if name in summary["outcomes"]:
            summary["outcomes"][name] = n
        else:
            summary[name] = n


def _detail(args: argparse.Namespace) -> str:
    """--detail, or what the report needs: findings, unless every verdict is shown (--explain, text -v,
    junit's passing test cases, a plugin's reporter, which may read any verdict)."""
    if args.detail == "findings" and args.explain:
        raise common.UsageError("--explain needs --detail full (findings carry no explanations)")
    if args.detail == "findings" and args.format == "junit":
        raise common.UsageError("--detail findings does not go with --format junit: junit lists every verdict "
                                "(full detail); --detail findings applies to text, json and jsonl")
    if args.detail:
        return str(args.detail)
    if args.explain or (args.format == "text" and args.verbose) or args.format not in ("text", "json", "jsonl",
                                                                                          "sarif"):
        return "full"
    return "findings"

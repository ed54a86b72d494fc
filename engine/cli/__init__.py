"""The ``policy-eval`` command line: it only wires the stages together.

Exit codes: 0 nothing violated (and no record rejected); 1 something
violated, a record was rejected, or a policy test failed; 2 usage error or
invalid policies; 130 interrupted.

:func:`run` takes its argument list and streams as parameters (``stdin`` is
binary) and returns the exit code, so the whole CLI can be driven from a test
or another program without a subprocess.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import difflib
import json
import os
import signal
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from policy_eval import __version__
from policy_eval.errors import ErrorList, PolicyError
from policy_eval.lang.budget import DEFAULT_BUDGET
from policy_eval.lang.cost import DEFAULT_CEILING

__all__ = ["main", "run", "EXIT_OK", "EXIT_VIOLATED", "EXIT_USAGE", "EXIT_INTERRUPTED"]

EXIT_OK, EXIT_VIOLATED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Interrupted(BaseException):
    """SIGINT/SIGTERM in ``eval``. A BaseException, like KeyboardInterrupt, so that no ``except Exception``
    safety net on the way (the per-record one in batch.Processor) can swallow it."""


class _Signals:
    """SIGINT/SIGTERM handling for ``eval``: the first signal ends the batch with :class:`_Interrupted`, except
    inside a *critical* section (nested :meth:`enter`/:meth:`leave`), where it waits until the section ends.
    Writing a piece of the report and tallying it is such a section, so the report and the counts agree."""

    def __init__(self) -> None:
        self.main_pid = os.getpid()
        self.depth = 0
        self.pending = False
        self.old: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.old[sig] = signal.signal(sig, self.handler)
            except ValueError:  # not the main thread (embedded use): leave the host's handlers alone
                pass

    def restore(self) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        self.old.clear()

    def handler(self, signum: int, frame: Any) -> None:
        if os.getpid() != self.main_pid:
            # A --jobs worker forked with this handler: it must die as by default (Pool.terminate sends it
            # SIGTERM), not raise into multiprocessing's loop, which can leave it waiting on a lock forever.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self.depth:
            self.pending = True
            return
        raise _Interrupted()

    def enter(self) -> None:
        self.depth += 1

    def leave(self) -> None:
        self.depth -= 1
        if not self.depth and self.pending:
            self.pending = False
            raise _Interrupted()


class _Tally:
    """The report stream, counting what has been written; each write is a critical section."""

    def __init__(self, stream: IO[str], signals: _Signals) -> None:
        self.stream = stream
        self.signals = signals
        self.written = 0

    def write(self, text: str) -> int:
        self.signals.enter()
        try:
            n = self.stream.write(text)
            self.written += len(text)
        finally:
            self.signals.leave()
        return n

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, ... of the real stream
        return getattr(self.stream, name)


class UsageError(Exception):
    """A mistake in the command line (exit 2); the message says what to do instead."""


# --- argument parsing ------------------------------------------------------------------------------------
def _instant(text: str) -> _dt.datetime:
    from policy_eval.rulebook.policy import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or datetime: {text!r} ({exc}); "
                                         "write e.g. 2021-01-01 or 2021-01-01T08:00:00+08:00") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, got {text}")
    return value


_MAIN_EPILOG = """\
exit codes:
  0    nothing violated and every record evaluated (test: every policy test passed)
  1    a rule was violated, a record was rejected, or a policy test failed
  2    usage error, or invalid policies (reported as file:line:column with the line and a caret)
  130  interrupted

examples:
  policy-eval check                                   validate the bundled rulebook
  policy-eval eval cases.jsonl                        what is violated, with clause, message and remedy
  policy-eval eval -f sarif -o report.sarif cases/    for code-scanning dashboards
  policy-eval explain case.json                       every rule's verdict with sub-expression values
  policy-eval test tests/golden --min-coverage 100    run the golden cases
  policy-eval diff old/ new/ cases.jsonl --latest     which cases a policy revision changes

environment:
  NO_COLOR   never colour the output (colour is used only on a terminal anyway)
"""

_EVAL_EPILOG = """\
Cases are JSON (one object, an array of objects, or several objects one after another) or JSON Lines
(.jsonl/.ndjson, one object per line); a folder is read recursively; - reads stdin. A record that is
not valid JSON, not an object, or does not match its kind's schema (schemas/cases/) is REJECTED with
its line and JSON path; the other records are still evaluated. The last line accounts for every record:
read = evaluated + rejected.

formats: text (violations first; -v shows clean cases and every rule), json (one document),
jsonl (one result per line, schemas/result.schema.json), junit (XML for CI test reports),
sarif (SARIF 2.1.0), or a reporter added by a plugin (see `policy-eval plugins`).

examples:
  policy-eval eval examples/after_sales.jsonl
  policy-eval eval -f jsonl -o results.jsonl --jobs 2 big.jsonl
  cat case.json | policy-eval eval --only after-sales --severity medium -
  policy-eval eval --as-of 2020-06-01 case.json      judge by the versions in force on that day
"""


def _count(text: str) -> int:
    """A positive whole number, with optional thousands separators (1_000_000 or 1,000,000)."""
    try:
        n = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return n


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="load a plugin module (repeatable); installed plugins load automatically")
    common.add_argument("--max-cost", type=_count, default=DEFAULT_CEILING, metavar="N",
                        help="refuse a condition whose static cost estimate is above N items "
                             "(default: no ceiling; docs/language.md, Cost)")
    pol = argparse.ArgumentParser(add_help=False)
    pol.add_argument("--policies", "-p", metavar="DIR", help="policy folder or file (default: the bundled rulebook)")
    pol.add_argument("--schemas", metavar="DIR",
                     help="folder holding cases/<kind>.schema.json (default: beside the policies, else bundled)")

    p = argparse.ArgumentParser(prog="policy-eval", formatter_class=fmt, epilog=_MAIN_EPILOG,
                                description="Check case records against policies written as data.")
    p.add_argument("--version", action="version", version=f"policy-eval {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", parents=[common], formatter_class=fmt,
                       help="validate policy files (schema, conditions, types, versions)",
                       description="Load and check every policy file: YAML shape, condition syntax and types, "
                                   "names, and that versions of one policy do not overlap. Every error is "
                                   "reported as file:line:column with the line and a caret.")
    c.add_argument("policy_dir", nargs="?", metavar="POLICIES", help="policy folder or file (default: bundled)")
    c.add_argument("--schemas", metavar="DIR", help="folder holding cases/<kind>.schema.json")
    c.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")

    e = sub.add_parser("eval", parents=[common, pol], formatter_class=fmt, epilog=_EVAL_EPILOG,
                       help="evaluate cases (JSON, JSON Lines, folders, - for stdin)",
                       description="Evaluate case records against the rulebook and report every verdict.")
    e.add_argument("cases", nargs="+", metavar="CASES", help="case files, folders, or - for stdin")
    e.add_argument("--budget", type=_count, default=DEFAULT_BUDGET, metavar="N",
                   help=f"items each rule may visit on one record (default {DEFAULT_BUDGET:,}); past it that "
                        "verdict is undetermined with 'budget exceeded' (docs/language.md, Cost)")
    e.add_argument("--format", "-f", default="text", metavar="FORMAT",
                   help="text (default), json, jsonl, junit, sarif, or a plugin's format")
    e.add_argument("--output", "-o", metavar="FILE",
                   help="write the report to FILE, atomically: FILE appears complete or not at all "
                        "(default: stdout)")
    e.add_argument("--as-of", type=_instant, metavar="WHEN",
                   help="pick policy versions in force at this date/datetime instead of each case's "
                        "reference time")
    e.add_argument("--only", action="append", metavar="RULE",
                   help="only this rule or policy (rule, policy/rule or policy id; repeatable)")
    e.add_argument("--skip", action="append", default=[], metavar="RULE",
                   help="skip this rule or policy (repeatable)")
    e.add_argument("--severity", default="info", choices=["info", "low", "medium", "high", "critical"],
                   help="only rules of at least this severity (default: info, i.e. all)")
    e.add_argument("--fail-on", choices=["violated", "undetermined", "never"], default="violated",
                   help="exit 1 on violations or rejected records (default), also on undetermined "
                        "verdicts, or never")
    e.add_argument("--jobs", "-j", type=_positive, default=1, metavar="N",
                   help="worker processes (default 1); the output is the same for any N")
    e.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="local processes (default), or a Dask cluster (needs the [dask] extra); same output")
    e.add_argument("--scheduler", metavar="ADDR",
                   help="dask: scheduler address, e.g. tcp://host:8786 (default: a local cluster of --jobs "
                        "workers); the policy folder must be readable on the workers")
    e.add_argument("--quiet", "-q", action="store_true", help="no progress line (it is shown only on a terminal)")
    e.add_argument("--verbose", "-v", action="store_true",
                   help="text: also show clean cases and complied / not-applicable rules")
    e.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                   help="text: colour on a terminal unless NO_COLOR is set (auto, default), always, never")
    e.add_argument("--explain", action="store_true",
                   help="attach the evaluated sub-expressions to every verdict (json, jsonl)")
    e.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of cases")
    e.add_argument("--input-format", metavar="NAME",
                   help="read every input with this loader: json, jsonl, or a plugin's (default: by suffix)")

    x = sub.add_parser("explain", parents=[common, pol], formatter_class=fmt,
                       help="one case: the version chosen and why each rule decided as it did",
                       description="Evaluate one case and show, per policy, the version chosen and why, and "
                                   "per rule the verdict with the value of every sub-expression.")
    x.add_argument("case", metavar="CASE", help="a JSON file holding one case, or - for stdin")
    x.add_argument("--rule", action="append", metavar="RULE", help="only this rule or policy (repeatable)")
    x.add_argument("--as-of", type=_instant, metavar="WHEN", help="pick versions in force at this date/datetime")
    x.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of the case")
    x.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")

    t = sub.add_parser("test", parents=[common, pol], formatter_class=fmt,
                       help="run policy tests (YAML cases with expected outcomes)",
                       description="Run policy tests: YAML files with a top-level 'tests:' list of cases and "
                                   "the outcome expected of each rule (docs/policies.md). Prints a dot per "
                                   "passing test, details of each failure with file:line, and rule coverage.")
    t.add_argument("paths", nargs="*", metavar="PATH", help="test files or folders (default: the policy folder)")
    t.add_argument("--min-coverage", type=_percent, default=0.0, metavar="PCT",
                   help="fail unless PCT%% of the rules have both a violated and a complied passing test")
    t.add_argument("--verbose", "-v", action="store_true", help="name every test and show per-rule coverage")
    t.add_argument("--coverage", action="store_true", help="show per-rule outcome coverage")

    d = sub.add_parser("diff", parents=[common], formatter_class=fmt,
                       help="which cases change outcome between two policy folders",
                       description="Evaluate the same cases with two rulebooks and list, per rule, the cases "
                                   "whose verdict changes (e.g. 'complied -> violated'). A rule missing on one "
                                   "side counts as not applicable there.")
    d.add_argument("old", metavar="OLD", help="policy folder before the revision")
    d.add_argument("new", metavar="NEW", help="policy folder after the revision")
    d.add_argument("cases", nargs="+", metavar="CASES", help="case files, folders, or - for stdin")
    d.add_argument("--schemas", metavar="DIR", help="folder holding cases/<kind>.schema.json")
    d.add_argument("--as-of", type=_instant, metavar="WHEN", help="pick versions in force at this date/datetime")
    d.add_argument("--latest", action="store_true",
                   help="compare the latest version of each policy on both sides, ignoring effective dates")
    d.add_argument("--no-validate", action="store_true", help="skip JSON Schema validation of cases")
    d.add_argument("--exit-code", action="store_true", help="exit 1 when some case changes outcome")
    d.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")

    r = sub.add_parser("rules", parents=[common, pol], formatter_class=fmt,
                       help="list rules with version, clause and title",
                       description="List the rules of the rulebook: id, version, clause, title; --inputs adds "
                                   "the case fields each rule reads.")
    r.add_argument("--policy", action="append", metavar="ID", help="only this policy (repeatable)")
    r.add_argument("--at", type=_instant, metavar="WHEN", help="only versions in force at this date/datetime")
    r.add_argument("--inputs", action="store_true", help="show the case fields each rule reads")
    r.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                   help="output format (default: text)")

    sub.add_parser("plugins", parents=[common], help="list loaded plugins, functions, loaders and reporters",
                   description="List the loaded plugins and what they provide.")
    return p


# --- shared helpers --------------------------------------------------------------------------------------
def _load(args: argparse.Namespace, policies: str | None = None) -> Any:
    from policy_eval.plugin_manager import get_plugin_manager
    from policy_eval.rulebook import load_rulebook

    pm = get_plugin_manager()
    for plugin in getattr(args, "plugin", []) or []:
        pm.add(plugin)
    return load_rulebook(policies if policies is not None else getattr(args, "policies", None),
                         schema_dir=getattr(args, "schemas", None), functions=pm.functions(),
                         max_cost=getattr(args, "max_cost", DEFAULT_CEILING))


def _print_errors(exc: PolicyError, err: IO[str]) -> None:
    errors = exc.errors if isinstance(exc, ErrorList) else [exc]
    for e in errors:
        err.write(str(e) + "\n")
    err.write(f"{len(errors)} error{'s' if len(errors) != 1 else ''}: the policies were not loaded\n")


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _check_selectors(rb: Any, names: Iterable[str] | None, option: str) -> None:
    """--only/--skip/--rule must name something: a typo would silently select nothing."""
    known: set[str] = set()
    for v in rb.versions():
        known.add(v.id)
        for rule in v.rules:
            known.update((rule.id, rule.full_id))
    for name in names or ():
        if name not in known:
            raise UsageError(f"{option} {name!r} is not a rule or policy of the rulebook{_suggest(name, known)} "
                             "(see `policy-eval rules`)")


def _check_inputs(paths: Sequence[str]) -> None:
    for item in paths:
        if item != "-" and not Path(item).exists():
            raise UsageError(f"no such file or folder: {item}")
    if list(paths).count("-") > 1:
        raise UsageError("- (stdin) can be given only once")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    """Left-justify to a terminal width, counting CJK characters as two cells."""
    return text + " " * max(0, width - _cells(text))


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- check -----------------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
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
        out.write(f"ok: {len(rb.policies)} policies, {len(versions)} versions, {n_rules} rules "
                  f"({rb.digest[:19]})\n")
        cost, where = _largest_cost(versions)
        if where:
            ceiling = f"{args.max_cost:,}" if args.max_cost is not None else "not set"
            out.write(f"largest cost estimate: {cost:,} items ({where}; ceiling {ceiling})\n")
    return EXIT_OK


def _largest_cost(versions: list[Any]) -> tuple[int, str]:
    """The largest static cost estimate of any condition (docs/language.md, Cost) and where it stands."""
    best, where = 0, ""
    for v in versions:
        for r in v.rules:
            for cond in (r.condition, r.when, *r.lets.values()):
                if cond is not None and cond.cost is not None and cond.cost.cost > best:
                    best, where = cond.cost.cost, f"{r.full_id} v{v.version}, line {cond.line}"
    return best, where


# --- eval ------------------------------------------------------------------------------------------------
def _summary_counter() -> dict[str, Any]:
    return {"read": 0, "evaluated": 0, "rejected": 0, "cases_violating": 0, "cases_undetermined": 0,
            "cases_clean": 0, "outcomes": {"complied": 0, "violated": 0, "not_applicable": 0, "undetermined": 0},
            "interrupted": False}


def _records(args: argparse.Namespace, stdin: IO[bytes] | None) -> Any:
    from policy_eval.plugin_manager import get_plugin_manager
    from policy_eval.rulebook.cases import read_cases

    fmt = args.input_format
    if fmt and fmt not in ("json", "jsonl"):
        loaders = get_plugin_manager().loaders()
        if fmt not in loaders:
            raise UsageError(f"unknown --input-format {fmt!r} (available: "
                             f"{', '.join(['json', 'jsonl', *sorted(loaders)])})")
        return _plugin_records(loaders[fmt], args.cases, stdin)
    return read_cases(args.cases, stdin=stdin, raw=True, fmt=fmt)


def _plugin_records(loader: Any, inputs: Sequence[str], stdin: IO[bytes] | None) -> Any:
    for item in inputs:
        if item == "-":
            stream = stdin or sys.stdin.buffer
            for number, case in loader(stream, source="<stdin>", options={}):
                yield "<stdin>", number, case
            continue
        with open(item, "rb") as fh:
            for number, case in loader(fh, source=item, options={}):
                yield item, number, case


class _AtomicOutput:
    """Write to a temp file beside the target and rename it into place when done.

    Readers of FILE never see a half-written report; on failure the temp file is removed and FILE is left
    as it was. The result gets the permissions a plain ``open(FILE, "w")`` would give it.
    """

    @staticmethod
    def check(path: str) -> None:
        target = Path(path)
        if target.is_dir():
            raise UsageError(f"--output {path}: is a folder")
        if not target.parent.is_dir():
            raise UsageError(f"--output {path}: no such folder {target.parent}")

    def __init__(self, path: str) -> None:
        self.check(path)
        self.path = Path(path)
        parent = self.path.parent
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=parent)
        except OSError as exc:
            raise UsageError(f"--output {path}: cannot write there ({exc.strerror})") from None
        # backslashreplace: a lone surrogate read from JSON ("\\ud800") is written back as that same escape,
        # which JSON readers take as the same value, instead of failing the whole report
        self.stream = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n")

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        try:
            mode = self.path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(self.tmp, mode)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


def cmd_eval(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    signals = _Signals()
    signals.install()  # first thing: a signal while the rulebook loads must still end in "interrupted", 130
    try:
        return _cmd_eval(args, out, err, stdin, signals)
    finally:
        signals.restore()


def _cmd_eval(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None,
              signals: _Signals) -> int:
    from policy_eval.plugin_manager import get_plugin_manager

    # Mistakes that need no rulebook are reported before the (slow) load.
    _check_inputs(args.cases)
    if args.output:
        _AtomicOutput.check(args.output)
    if args.scheduler and args.engine != "dask":
        raise UsageError("--scheduler goes with --engine dask")
    pm = get_plugin_manager()
    for plugin in args.plugin:
        pm.add(plugin)
    reporters = pm.reporters()
    if args.format not in reporters:
        raise UsageError(f"unknown --format {args.format!r} (available: {', '.join(sorted(reporters))})")
    rb = _load(args)
    _check_selectors(rb, args.only, "--only")
    _check_selectors(rb, args.skip, "--skip")
    sink = _AtomicOutput(args.output) if args.output else None
    try:
        return _eval(args, rb, reporters[args.format], sink, out, err, stdin, signals)
    except BaseException:
        if sink:
            sink.abort()
        raise


def _eval(args: argparse.Namespace, rb: Any, factory: Any, sink: _AtomicOutput | None, out: IO[str],
          err: IO[str], stdin: IO[bytes] | None, signals: _Signals) -> int:
    from policy_eval.cli.progress import Progress
    from policy_eval.run.batch import BatchOptions, Processor, run_batch

    options = BatchOptions(policies=args.policies, schemas=args.schemas, as_of=args.as_of, only=args.only,
                           skip=args.skip, min_severity=args.severity, explain=True if args.explain else "missing",
                           validate=not args.no_validate, plugins=list(args.plugin),
                           transport="json" if args.format in ("json", "jsonl") else "objects",
                           budget=args.budget, max_cost=args.max_cost)
    processor = Processor(options, rulebook=rb)
    stream = sink.stream if sink else out
    tally = _Tally(stream, signals)
    color = {"auto": None, "always": True, "never": False}[args.color]
    if sink and args.color == "auto":
        color = False
    reporter = factory(tally, {"verbose": args.verbose, "color": color})
    rules = [{"id": r.full_id, "title": r.title, "clause": r.clause, "severity": r.severity}
             for v in rb.versions() for r in v.rules]
    reporter.start({"rulebook": rb.digest, "rules": rules})
    summary = _summary_counter()
    # The progress line goes to a terminal's stderr, and only when the report does not go to that terminal.
    show_progress = not args.quiet and _isatty(err) and (sink is not None or not _isatty(out))
    progress = Progress(err, _input_size(args.cases), enabled=show_progress)
    done_bytes = 0
    records = _records(args, stdin)

    def counted() -> Any:
        nonlocal done_bytes
        for item in records:
            payload = item[2]
            if isinstance(payload, bytes):
                done_bytes += len(payload)
            yield item

    def account(result: Any) -> None:
        summary["read"] += 1
        if result.error is not None:
            summary["rejected"] += 1
            return
        summary["evaluated"] += 1
        counts = result.counts()
        for k, v in counts.items():
            summary["outcomes"][k] += v
        if counts["violated"]:
            summary["cases_violating"] += 1
        elif counts["undetermined"]:
            summary["cases_undetermined"] += 1
        else:
            summary["cases_clean"] += 1

    # A signal ends the loop wherever it lands. A record counts as reported when its report has been
    # (at least partly) written: `current` and `mark` say which record was being reported, from where.
    client = None
    if args.engine == "dask":
        from policy_eval.run.distributed import connect, run_on_dask

        try:
            client = connect(args.scheduler, args.jobs)
        except RuntimeError as exc:  # the optional extra is missing
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler {args.scheduler}: {exc}") from None
        batch = run_on_dask(counted(), options, client=client)
    else:
        batch = run_batch(counted(), options, jobs=args.jobs, processor=processor)
    current: Any = None
    mark = 0
    try:
        for result in batch:
            current, mark = result, tally.written
            reporter.case(result)
            signals.enter()
            account(result)
            current = None
            progress.update(summary["read"], done_bytes)
            signals.leave()
    except (_Interrupted, KeyboardInterrupt):
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
    if summary["interrupted"] and args.format == "jsonl":
        stream.write(json.dumps({"format": "1", "status": "interrupted", "written": summary["read"]}) + "\n")
    reporter.finish(summary)
    if sink:
        sink.commit()
    if args.format != "text" or sink:
        from policy_eval.plugins.reporters import totals_line

        err.write(totals_line(summary) + (f" -> {args.output}" if args.output else "") + "\n")
    if summary["interrupted"]:
        err.write(f"policy-eval: interrupted; {summary['read']} record(s) reported"
                  f"{' in ' + args.output if args.output else ''}; the report says it is incomplete\n")
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
def _period(v: Any) -> str:
    until = v.effective_until.date().isoformat() if v.effective_until else "open"
    return f"[{v.effective_from.date().isoformat()} .. {until})"


def cmd_explain(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.errors import CaseError
    from policy_eval.plugins.reporters import remedy_text
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.validation import (
        CaseValidator,  # the validator eval uses, so both reject the same records
    )
    from policy_eval.run.evaluate import Evaluator
    from policy_eval.run.result import Outcome

    _check_inputs([args.case])
    rb = _load(args)
    _check_selectors(rb, args.rule, "--rule")
    records = list(read_cases([args.case], stdin=stdin))
    if len(records) != 1:
        raise UsageError(f"explain takes one case; {args.case} holds {len(records)} "
                         "(use `policy-eval eval` for several)")
    source, number, case = records[0]
    if isinstance(case, CaseError):
        out.write(f"REJECTED {case}\n")
        return EXIT_VIOLATED
    if not args.no_validate:
        problem = CaseValidator(rb.case_schemas).check(case, source, number)
        if problem is not None:
            out.write(f"REJECTED {problem}\n")
            return EXIT_VIOLATED
    result = Evaluator(rb, explain=True, only=args.rule).evaluate(case, as_of=args.as_of, source=source,
                                                                 record=number)
    if args.format == "json":
        out.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return EXIT_VIOLATED if result.violated or result.error else EXIT_OK
    if result.error:
        out.write(f"REJECTED {source}:{number}: {result.error['json_path']}: {result.error['message']}\n")
        return EXIT_VIOLATED
    out.write(f"case {result.case_id} ({result.kind}, {source}:{number}) — rulebook {rb.digest[:19]}\n")
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
            out.write(f"      {_one_line(r.message or r.reason)}\n")
            for step in r.explanation:
                witness = f"   ← {step['witness']}" if "witness" in step else ""
                out.write(f"        {_one_line(step['expr'])}  =  {step['value']}{witness}\n")
            for rem in r.remedies:
                out.write(f"      remedy: {remedy_text(rem)}\n")
            if r.missing:
                out.write(f"      missing: {', '.join(r.missing)}\n")
            if r.waiver:
                out.write(f"      waiver: {r.waiver['id']} until {r.waiver['until']} ({r.waiver['reason']})\n")
    return EXIT_VIOLATED if result.violated else EXIT_OK


# --- test ------------------------------------------------------------------------------------------------
def cmd_test(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.rulebook.validation import CaseValidator
    from policy_eval.run.evaluate import Evaluator
    from policy_eval.run.testing import coverage, discover, load_tests, run_test

    _check_inputs(args.paths)
    if args.paths:  # look for tests before the (slow) rulebook load: "no tests" should be instant
        paths = [Path(p) for p in args.paths]
        files = discover(paths)
        rb = _load(args) if files else None
    else:
        rb = _load(args)
        paths = [rb.root]
        files = discover(paths)
    if not files or rb is None:
        where = ", ".join(str(p) for p in paths)
        out.write(f"no tests found in {where} (a policy test file is YAML with a top-level 'tests:' list; "
                  "see docs/policies.md)\n")
        return EXIT_VIOLATED
    evaluator = Evaluator(rb)
    validator = CaseValidator(rb.case_schemas)
    outcomes = []
    load_errors = 0
    for f in files:
        try:
            tests = load_tests(f)
        except PolicyError as exc:
            err.write(str(exc) + "\n")
            load_errors += 1
            continue
        results = [run_test(t, evaluator, validator) for t in tests]
        outcomes.extend(results)
        out.write(f"{f} {''.join('.' if o.passed else 'F' for o in results)}\n")
        if args.verbose:
            for o in results:
                out.write(f"    {'PASS' if o.passed else 'FAIL'} {o.test.name}\n")
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        out.write(f"\n___ {o.test.name} ___\n{o.test.file}:{o.test.line}\n")
        for failure in o.failures:
            out.write(f"    {failure}\n")
    cov = coverage(rb, [o for o in outcomes if o.passed])
    full = [r for r, outs in cov.items() if {"violated", "complied"} <= outs]
    pct = 100.0 * len(full) / len(cov) if cov else 100.0
    if args.coverage or args.verbose:
        out.write("\nrule coverage (outcomes with a passing test):\n")
        width = max((len(r) for r in cov), default=0)
        for rule_id, outs in sorted(cov.items()):
            marks = " ".join(o if o in outs else "-" * len(o) for o in ("violated", "complied", "not_applicable",
                                                                          "undetermined"))
            out.write(f"  {rule_id:{width}}  {marks}\n")
    uncovered = sorted(r for r in cov if not {"violated", "complied"} <= cov[r])
    out.write(f"\ncoverage: {len(full)}/{len(cov)} rules ({pct:.1f}%) have a violated and a complied test\n")
    code = EXIT_OK
    if failed or load_errors or not outcomes:
        code = EXIT_VIOLATED
    if pct + 1e-9 < args.min_coverage:
        shown = ", ".join(uncovered[:10]) + (f", … ({len(uncovered) - 10} more)" if len(uncovered) > 10 else "")
        out.write(f"coverage {pct:.1f}% is below --min-coverage {args.min_coverage:g}%; missing a violated or a "
                  f"complied test: {shown}\n")
        code = EXIT_VIOLATED
    if not outcomes and not load_errors:
        out.write(f"no tests found in {', '.join(str(f) for f in files)}\n")
    out.write(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed"
              + (f", {load_errors} file(s) with errors" if load_errors else "") + "\n")
    return code


# --- diff ------------------------------------------------------------------------------------------------
def cmd_diff(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.rulebook.cases import read_cases
    from policy_eval.rulebook.validation import (
        CaseValidator,  # the validator eval uses, so both reject the same records
    )
    from policy_eval.run.diff import diff_rulebooks, latest_only
    from policy_eval.run.evaluate import Evaluator

    for folder in (args.old, args.new):
        if not Path(folder).exists():
            raise UsageError(f"no such policy folder or file: {folder}")
    _check_inputs(args.cases)
    old = _load(args, args.old)
    new = _load(args, args.new)
    if args.latest:
        old, new = latest_only(old), latest_only(new)
    validator = None if args.no_validate else CaseValidator({**old.case_schemas, **new.case_schemas})
    report = diff_rulebooks(Evaluator(old, record_inputs=False), Evaluator(new, record_inputs=False),
                            read_cases(args.cases, stdin=stdin), as_of=args.as_of, validator=validator)
    if args.format == "json":
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.text() + "\n")
    return EXIT_VIOLATED if args.exit_code and report.changed_cases else EXIT_OK


# --- rules -----------------------------------------------------------------------------------------------
def cmd_rules(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    rb = _load(args)
    for pid in args.policy or ():
        if pid not in rb.policies:
            raise UsageError(f"--policy {pid!r} is not a policy of the rulebook{_suggest(pid, rb.policies)} "
                             f"(policies: {', '.join(sorted(rb.policies))})")
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
        def cell(text: Any) -> str:
            return str(text or "").replace("|", "\\|").replace("\n", " ")

        head = "| rule | version | severity | clause | title |" + (" reads |" if args.inputs else "")
        out.write(head + "\n|" + "---|" * (head.count("|") - 1) + "\n")
        for row in rows:
            reads = f" {cell(', '.join(row['inputs']))} |" if args.inputs else ""
            out.write(f"| `{row['id']}` | {cell(row['version'])} | {row['severity']} | {cell(row['clause'])} | "
                      f"{cell(row['title'])} |{reads}\n")
    else:
        id_w = max((len(r["id"]) for r in rows), default=0)
        ver_w = max((len(str(r["version"])) for r in rows), default=0) + 1
        clause_w = min(max((_cells(r["clause"] or "") for r in rows), default=0), 40)
        for row in rows:
            out.write(f"{row['id']:{id_w}}  v{row['version']:{ver_w}} {row['severity']:8}  "
                      f"{_pad(row['clause'] or '-', clause_w)}  {row['title']}\n")
            if args.inputs:
                out.write(f"    reads: {', '.join(row['inputs']) or '(no case field)'}\n")
        out.write(f"{len(rows)} rule{'s' if len(rows) != 1 else ''}\n")
    return EXIT_OK


# --- plugins ---------------------------------------------------------------------------------------------
def cmd_plugins(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.plugin_manager import get_plugin_manager

    pm = get_plugin_manager()
    for plugin in args.plugin:
        pm.add(plugin)
    out.write("plugins:\n")
    for row in pm.describe():
        out.write(f"  {row['name']:40} {row['version']}\n")
    functions = sorted(pm.functions(), key=lambda f: f.name)
    width = max((len(fn.signature()) for fn in functions), default=0)
    out.write("functions:\n")
    for fn in functions:
        out.write(f"  {fn.signature():{width}}  [{fn.plugin}]\n")
    out.write(f"reporters (eval --format): {', '.join(sorted(pm.reporters()))}\n")
    out.write(f"case loaders (eval --input-format): {', '.join(['json', 'jsonl', *sorted(pm.loaders())])}\n")
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str], IO[str], IO[bytes] | None], int]] = {
    "check": cmd_check, "eval": cmd_eval, "explain": cmd_explain, "test": cmd_test, "diff": cmd_diff,
    "rules": cmd_rules, "plugins": cmd_plugins,
}


def run(argv: Sequence[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
        stdin: IO[bytes] | None = None) -> int:
    """Run the CLI with injectable streams (``stdin`` binary); return the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # --help, usage errors
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
    try:
        return _COMMANDS[args.command](args, out, err, stdin)
    except PolicyError as exc:
        _print_errors(exc, err)
        return EXIT_USAGE
    except UsageError as exc:
        err.write(f"policy-eval {args.command}: error: {exc}\n")
        return EXIT_USAGE
    except (KeyboardInterrupt, _Interrupted):
        err.write("policy-eval: interrupted before any record was reported\n" if args.command == "eval"
                  else "policy-eval: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `policy-eval ... | head`: the reader has gone; nothing more to say
        return EXIT_OK


def main() -> None:
    for stream in (sys.stdout, sys.stderr):  # see _AtomicOutput: a lone surrogate must not end the run
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would complain about the unflushable stdout at exit; point it at /dev/null instead.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)

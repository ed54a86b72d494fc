"""The ``policy-eval`` command line: it only wires the stages together.

Exit codes (the table in README.md, Commands, and in ``policy-eval --help``):
0 nothing violated (and no record rejected); 1 something violated, a record
was rejected, or a policy test failed; 2 usage error or invalid policies;
3 a worker process died; 4 internal error (a bug in policy-eval); 5 the report
could not be written (disk full, I/O error); 130 interrupted; 141 the reader
of the output went away (broken pipe).

:func:`run` takes its argument list and streams as parameters (``stdin`` is
binary) and returns the exit code, so the whole CLI can be driven from a test
or another program without a subprocess.

Layout: ``commands/<name>.py`` is one command each (its options and its work);
``common.py`` holds exit codes, :class:`UsageError` and loading the rulebook;
``options.py`` the option groups and argument types several commands share;
``inputs.py`` where eval's records come from; ``output.py`` atomic report files
and terminal text; ``signals.py`` interrupt handling for ``eval``;
``progress.py`` the progress line.

Adding a command: write ``commands/<name>.py`` with ``register(sub)`` (add the
sub-parser and its options) and ``run(args, out, err, stdin) -> int``, then
add ``"<name>"`` on its own line to ``NAMES`` in ``commands/__init__.py``.
That is all: the parser, dispatch and error handling below pick it up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import IO, cast

from policy_eval import __version__
from policy_eval.cli import commands, common
from policy_eval.cli.common import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_PIPE,
    EXIT_USAGE,
    EXIT_VIOLATED,
    EXIT_WORKER,
    UsageError,
    plugin_modules,
    print_errors,
)
from policy_eval.cli.options import FORMATTER
from policy_eval.cli.signals import Interrupted, held
from policy_eval.cli.streams import Guarded, OutputFailed
from policy_eval.errors import PluginError, PolicyError, printable

__all__ = ["main", "run", "parser", "UsageError", "EXIT_OK", "EXIT_VIOLATED", "EXIT_USAGE", "EXIT_WORKER",
           "EXIT_INTERNAL", "EXIT_OUTPUT", "EXIT_INTERRUPTED", "EXIT_PIPE", "DEBUG_ENV"]

DEBUG_ENV = "POLICY_EVAL_TRACEBACK"  # set (to anything) to see an internal error's traceback

_MAIN_EPILOG = """\
exit codes:
  0    nothing violated and every record evaluated (test: every policy test passed)
  1    a rule was violated, a record was rejected, no case record was found, or a policy test failed
  2    usage error, or invalid policies (reported as file:line:column with the line and a caret)
  3    eval: a worker process died (its records were evaluated again; the report is complete)
  4    internal error: a bug in policy-eval (one line on stderr; POLICY_EVAL_TRACEBACK=1 shows where)
  5    the report could not be written (disk full, I/O error); an -o FILE is left as it was
  130  interrupted (SIGINT/SIGTERM)
  141  the reader of the output went away (broken pipe, e.g. `| head -1`): the run did not finish

examples:
  policy-eval check                                   validate the bundled rulebook
  policy-eval eval cases.jsonl                        what is violated, with clause, message and remedy
  policy-eval eval -f sarif -o report.sarif cases/    for code-scanning dashboards
  policy-eval explain case.json                       every rule's verdict with sub-expression values
  policy-eval test tests/golden --min-coverage 100    run the golden cases
  policy-eval diff old/ new/ cases.jsonl --latest     which cases a policy revision changes

environment:
  NO_COLOR   never colour the output (colour is used only on a terminal anyway)
  POLICY_EVAL_CALENDAR
             a YAML file of holidays for years chinesecalendar has no data for yet
             (docs/language.md, Business days)
"""


def parser() -> argparse.ArgumentParser:
    """The whole command line: every registered command's sub-parser, each knowing its handler."""
    p = argparse.ArgumentParser(prog="policy-eval", formatter_class=FORMATTER, epilog=_MAIN_EPILOG,
                                description="Check case records against policies written as data.")
    p.add_argument("--version", action="version", version=f"policy-eval {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in commands.modules():
        module.register(sub).set_defaults(handler=module.run)
    return p


def run(argv: Sequence[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
        stdin: IO[bytes] | None = None) -> int:
    """Run the CLI with injectable streams (``stdin`` binary); return the exit code."""
    out = Guarded(stdout or sys.stdout, "stdout")
    err = stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # --help, usage errors
            args = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
    handler: commands.Handler = args.handler
    try:
        if getattr(args, "plugin", None):
            args.plugin = plugin_modules(args.plugin)
        code = handler(args, cast(IO[str], out), err, stdin)
        out.flush()  # a full disk or a closed pipe may only say so now
        return code
    except OutputFailed as exc:
        if exc.broken_pipe:  # `policy-eval ... | head`: the reader has gone; the run did not finish
            return EXIT_PIPE
        _say(err, f"policy-eval {args.command}: error: cannot write the report to {printable(exc.target)}: {exc.reason()}"
                  + (f"; {exc.note}" if exc.note else "") + "\n")
        return EXIT_OUTPUT
    except PluginError as exc:  # name the plugin; the policies themselves are not at fault
        err.write(f"policy-eval {args.command}: error: {printable(exc.message)}\n")
        return EXIT_USAGE
    except PolicyError as exc:
        print_errors(exc, err, args.command)
        return EXIT_USAGE
    except UsageError as exc:
        err.write(f"policy-eval {args.command}: error: {printable(exc)}\n")
        return EXIT_USAGE
    except (KeyboardInterrupt, Interrupted):
        err.write("policy-eval: interrupted before any record was reported\n" if args.command == "eval"
                  else "policy-eval: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout written around the Guarded stream (print to sys.stdout)
        return EXIT_PIPE
    except Exception as exc:  # a bug: its own exit code, not 1 ("violated"), and no traceback unless asked
        if os.environ.get(DEBUG_ENV):
            _say(err, "".join(traceback.format_exception(exc)))
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        _say(err, f"policy-eval {args.command}: internal error: {printable(detail)} (a bug in policy-eval; "
                  f"{DEBUG_ENV}=1 shows where)\n")
        return EXIT_INTERNAL


def _say(err: IO[str], text: str) -> None:
    """Write to stderr, which may itself be full or closed: the exit code still tells."""
    with contextlib.suppress(OSError, ValueError):
        err.write(text)
        err.flush()


def main() -> None:
    for stream in (sys.stdout, sys.stderr):  # see output.AtomicOutput: a lone surrogate must not end the run
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    if "_ARGCOMPLETE" in os.environ:  # the shell asks what may follow (policy-eval completion SHELL)
        import argcomplete

        argcomplete.autocomplete(parser())  # answers and exits
    common.own_process()  # (see there and common.settle_heap)
    try:
        with held(signal.SIGINT):  # their initialisation cannot take a KeyboardInterrupt (see held)
            import msgspec  # noqa: F401
            import orjson  # noqa: F401
    except KeyboardInterrupt:
        _say(sys.stderr, "policy-eval: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    code = run()
    try:
        sys.stdout.flush()
    except OSError as exc:
        if code not in (EXIT_PIPE, EXIT_OUTPUT, EXIT_INTERRUPTED):
            code = EXIT_PIPE if isinstance(exc, BrokenPipeError) else EXIT_OUTPUT
            if code == EXIT_OUTPUT:
                _say(sys.stderr, f"policy-eval: error: cannot write the report to stdout: {exc.strerror or exc}\n")
        # Python would complain about the unflushable stdout at exit; point it at /dev/null instead.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except ValueError as exc:  # stdout was closed under the command (a bug; run() has told it if it met it)
        if code not in (EXIT_INTERNAL, EXIT_PIPE, EXIT_OUTPUT, EXIT_INTERRUPTED):
            code = EXIT_INTERNAL
            _say(sys.stderr, f"policy-eval: internal error: ValueError: {printable(str(exc))} (a bug in policy-eval; "
                             f"{DEBUG_ENV}=1 shows where)\n")
    if code == EXIT_INTERRUPTED:
        # The report is finished and flushed. A second SIGINT/SIGTERM now must not kill the process by the
        # default action (exit 143, not 130), and the interpreter's exit must not wait on --jobs workers a
        # signal killed mid-answer (their results' reader can block forever): ignore both, and leave now.
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, signal.SIG_IGN)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)

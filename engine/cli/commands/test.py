"""``policy-eval test``: run policy tests (YAML cases with the outcome expected of each rule) and report
rule coverage."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, Any

from policy_eval.cli import common, options
from policy_eval.cli.commands import Subparsers
from policy_eval.cli.output import write_steps
from policy_eval.errors import PolicyError, printable


def register(sub: Subparsers) -> argparse.ArgumentParser:
    t = sub.add_parser("test", parents=[options.plugin(), options.policies()],
                       formatter_class=options.FORMATTER,
                       help="run policy tests (YAML cases with expected outcomes)",
                       description="Run policy tests: YAML files with a top-level 'tests:' list of cases and "
                                   "the outcome expected of each rule (docs/policies.md). Prints a dot per "
                                   "passing test, details of each failure with file:line, and rule coverage.")
    t.add_argument("paths", nargs="*", metavar="PATH",
                   help="test files or folders (default: the policy folder; if it holds none, tests/golden "
                        "beside it; for the bundled rulebook, its own golden tests)")
    t.add_argument("--min-coverage", type=options.percent, default=0.0, metavar="PCT",
                   help="fail unless PCT%% of the rules have both a violated and a complied passing test")
    t.add_argument("--verbose", "-v", action="store_true", help="name every test and show per-rule coverage")
    t.add_argument("--coverage", action="store_true", help="show per-rule outcome coverage")
    t.add_argument("--watch", action="store_true",
                   help="after the first run, watch the policy folder and the tests: on each save, rerun the "
                        "tests affected (a changed test file; the tests expecting outcomes of a changed policy "
                        "or using a changed params overlay). Ctrl-C stops (exit 0). Needs the 'lsp' extra "
                        "(watchfiles)")
    return t


def _deciding_values(failed: Any, explainer: Any, validator: Any, out: IO[str]) -> None:
    """Under a failed test, the values that decided each rule whose outcome was not the expected one (as
    ``explain`` shows them): the test is run again with explanations, which only failures pay for."""
    from policy_eval.run.explaining import unknown_reads
    from policy_eval.run.testing import run_test

    wrong = [f.split(": expected ", 1)[0] for f in failed.failures if ": expected " in f]
    if not wrong:
        return
    again = run_test(failed.test, explainer, validator)
    if again.result is None:
        return
    for r in again.result.results:
        if r.full_id not in wrong and (r.rule or "") not in wrong:
            continue
        out.write(printable(f"    {r.full_id} ({r.outcome.value}) was decided by:") + "\n")
        rule = _rule_of(explainer.rulebook, r)
        write_steps(out, r.explanation, unknown_reads(rule, failed.test.case) if rule is not None else {}, "        ")
        if r.missing:
            out.write(f"        missing: {printable(', '.join(r.missing))}\n")


def _rule_of(rulebook: Any, verdict: Any) -> Any:
    """The rule a verdict is of (its policy's version by name), or None (a policy-level verdict)."""
    history = rulebook.policies.get(verdict.policy)
    for version in history.versions if history is not None and verdict.rule else ():
        if version.version == verdict.version:
            return next((rule for rule in version.rules if rule.id == verdict.rule), None)
    return None


def _beside(root: Path) -> list[Path]:
    """Where a policy folder's tests may sit when none are inside it: for the bundled rulebook (by default
    or given with -p), its golden tests as installed; for any folder, ``tests/golden`` beside it (the
    layout of this repository: policies/ and tests/golden/)."""
    from policy_eval.resources import bundled_policies, bundled_tests

    found = []
    if root.resolve() == bundled_policies().resolve():
        found.append(bundled_tests())
    golden = root.parent / "tests" / "golden"
    if golden.is_dir() and all(golden.resolve() != p.resolve() for p in found):
        found.append(golden)
    return found


def run(args: argparse.Namespace, out: IO[str], err: IO[str], stdin: IO[bytes] | None) -> int:
    from policy_eval.run.testing import discover

    common.check_inputs(args.paths)
    if args.watch:
        from policy_eval.cli.watching import watch_tests

        return watch_tests(args, out, err, run_files)
    if args.paths:  # look for tests before the (slow) rulebook load: "no tests" should be instant
        paths = [Path(p) for p in args.paths]
        files = discover(paths)
        rb = common.load(args) if files else None
    else:
        rb = common.load(args)
        paths = [rb.root]
        files = discover(paths)
        for beside in [] if files else _beside(Path(rb.root)):
            paths.append(beside)
            files = discover([beside])
            if files:
                break
    if not files or rb is None:
        where = printable(", ".join(str(p) for p in paths))
        out.write(f"no tests found in {where} (a policy test file is YAML with a top-level 'tests:' list; "
                  "see docs/policies.md)\n")
        return common.EXIT_VIOLATED
    # The rulebook lives as long as the run: frozen out of the cyclic collector, which walked it on every pass
    # while the test files' YAML was composed (their loading took twice as long). Not under --watch, which loads
    # a rulebook again after each change and must be able to free the old one.
    common.settle_heap()
    return run_files(args, rb, files, out, err)


def run_files(args: argparse.Namespace, rb: Any, files: list[Path], out: IO[str], err: IO[str], *,
              report_coverage: bool = True) -> int:
    """Run the tests of ``files`` on ``rb`` (a test file naming a params overlay gets the rulebook loaded with
    it) and print dots, failures with the values that decided them, coverage and the counts; the exit code.
    ``report_coverage=False`` (a rerun of some files under ``--watch``) leaves coverage out: it would be
    coverage by a part of the tests."""
    from policy_eval.rulebook.validation import CaseValidator
    from policy_eval.run.evaluate import Evaluator
    from policy_eval.run.testing import coverage, evaluator_for_tests, load_tests, run_test

    # a test file's params: loads its own rulebook, which its failures are explained with too
    books: dict[str | None, tuple[Any, Evaluator, CaseValidator]] = {
        None: (rb, evaluator_for_tests(rb), CaseValidator(rb.case_schemas))}
    outcomes = []
    load_errors = 0
    for f in files:
        try:
            tests = load_tests(f)
        except PolicyError as exc:  # every mistake of the file, located, in line order
            out.flush()  # the errors in their place in the report when both streams show on one terminal:
            err.write(str(exc) + "\n")  # after what stdout holds so far, and before the summary
            err.flush()
            load_errors += 1
            continue
        overlay = tests[0].params if tests else None
        if overlay not in books:
            try:
                book = common.load(argparse.Namespace(**{**vars(args), "params": overlay}))
            except PolicyError as exc:
                out.flush()  # (as above)
                err.write(printable(f"{f}: params {overlay}:") + "\n")
                common.print_errors(exc, err, args.command)
                err.flush()
                load_errors += 1
                continue
            books[overlay] = (book, evaluator_for_tests(book), CaseValidator(book.case_schemas))
        _, evaluator, validator = books[overlay]
        results = [run_test(t, evaluator, validator) for t in tests]
        outcomes.extend(results)
        out.write(f"{printable(f)} {''.join('.' if o.passed else 'F' for o in results)}\n")
        if args.verbose:
            for o in results:
                out.write(f"    {'PASS' if o.passed else 'FAIL'} {printable(o.test.name)}\n")
    failed = [o for o in outcomes if not o.passed]
    explainers: dict[str | None, Evaluator] = {}
    for o in failed:
        out.write(f"\n___ {printable(o.test.name)} ___\n{printable(o.test.file)}:{o.test.line}\n")
        for failure in o.failures:  # they quote case values and messages
            out.write(f"    {printable(failure)}\n")
        book, _, validator = books[o.test.params]  # the rulebook the test ran on (its file's params)
        if o.test.params not in explainers:
            explainers[o.test.params] = Evaluator(book, explain=True)
        _deciding_values(o, explainers[o.test.params], validator, out)
    code = common.EXIT_VIOLATED if failed or load_errors or not outcomes else common.EXIT_OK
    if not report_coverage:
        out.write(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed"
                  + (f", {load_errors} file(s) with errors" if load_errors else "") + "\n")
        return code
    cov = coverage(rb, [o for o in outcomes if o.passed])
    full = [r for r, outs in cov.items() if {"violated", "complied"} <= outs]
    pct = 100.0 * len(full) / len(cov) if cov else 100.0
    if args.coverage or args.verbose:
        out.write("\nrule coverage (outcomes with a passing test):\n")
        width = max((len(r) for r in cov), default=0)
        for rule_id, outs in sorted(cov.items()):
            marks = " ".join(o if o in outs else "-" * len(o) for o in ("violated", "complied", "not_applicable",
                                                                          "undetermined"))
            out.write(f"  {printable(rule_id):{width}}  {marks}\n")
    uncovered = sorted(r for r in cov if not {"violated", "complied"} <= cov[r])
    out.write(f"\ncoverage: {len(full)}/{len(cov)} rules ({pct:.1f}%) have a violated and a complied test\n")
    if pct + 1e-9 < args.min_coverage:
        shown = printable(", ".join(uncovered[:10])) + (f", … ({len(uncovered) - 10} more)" if len(uncovered) > 10 else "")
        out.write(f"coverage {pct:.1f}% is below --min-coverage {args.min_coverage:g}%; missing a violated or a "
                  f"complied test: {shown}\n")
        code = common.EXIT_VIOLATED
    if not outcomes and not load_errors:
        out.write(f"no tests found in {printable(', '.join(str(f) for f in files))}\n")
    out.write(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed"
              + (f", {load_errors} file(s) with errors" if load_errors else "") + "\n")
    return code

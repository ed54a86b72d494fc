"""Lint: named checks over a loaded rulebook and its policy tests, each finding located.

Input: policy files or folders (and, optionally, policy-test files, for the ``rule-untested`` check).
Output: :class:`Finding` objects, sorted by file and line, with in-file suppressions applied. The
checks themselves are in :mod:`policy_eval.authoring.lintchecks`; their list with ids and severities is
:data:`~policy_eval.authoring.findings.CHECKS` (documented in docs/lint.md).

Suppression: a YAML comment ``# lint: ignore[check-id] reason`` on the reported line or the line above
it. The reason is required: a suppression without one does not apply, and is itself reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from policy_eval.authoring.findings import CHECKS, Check, Finding, LintInput
from policy_eval.authoring.lintchecks import run_checks
from policy_eval.errors import ErrorList, PolicyError, PolicyLoadError
from policy_eval.lang.functions import FunctionRegistry
from policy_eval.rulebook import load_rulebook
from policy_eval.rulebook.yamlload import Positions, load_yaml

__all__ = ["Finding", "Check", "CHECKS", "LintInput", "lint", "lint_paths"]


_SUPPRESS = re.compile(r"#\s*lint:\s*ignore\[([a-z0-9,\s-]+)\](.*)$")


def _suppressions(file: str, lines: list[str]) -> tuple[dict[int, set[str]], list[Finding]]:
    by_line: dict[int, set[str]] = {}
    bad: list[Finding] = []
    for i, text in enumerate(lines, 1):
        m = _SUPPRESS.search(text)
        if m is None:
            continue
        ids = {x.strip() for x in m.group(1).split(",") if x.strip()}
        if not m.group(2).strip(" -—:"):
            bad.append(Finding("suppression-without-reason",
                               f"'lint: ignore[{', '.join(sorted(ids))}]' needs a reason after it; it is not applied",
                               file, i, m.start() + 1))
            continue
        for line in (i, i + 1):  # the line itself, or the line below a comment on a line of its own
            if line == i + 1 and text[: m.start()].strip():
                continue
            by_line.setdefault(line, set()).update(ids)
    return by_line, bad


def lint(data: LintInput) -> list[Finding]:
    """Run every check; apply the in-file suppressions; sort by place."""
    findings = list(run_checks(data))
    out: list[Finding] = []
    for file, (_, positions) in data.sources.items():
        allowed, bad = _suppressions(file, positions.lines)
        out += bad
        out += [f for f in findings if f.file == file and f.check not in allowed.get(f.line, set())]
    out += [f for f in findings if f.file not in data.sources]
    # (the message last: findings at one place, a revision's untested inherited rules say, in one order every run)
    return sorted(set(out), key=lambda f: (f.file, f.line, f.column, f.check, f.message))


def _has_top_key(path: Path, key: str) -> bool:
    """Whether a YAML file has ``key:`` at the start of a line (a top-level key), without parsing it."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return False
    return any(line.startswith(key + ":") for line in text.splitlines())


def _is_test_file(path: Path) -> bool:
    return _has_top_key(path, "tests")


def _is_policy_file(path: Path) -> bool:
    return _has_top_key(path, "policy")


def _yaml_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out += [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
    return out


def lint_paths(paths: Sequence[Path], schema_dir: Path | None = None,
               functions: FunctionRegistry | None = None, tests: Sequence[Path] | None = None) -> list[Finding]:
    """Lint policy files and folders. The ``rule-untested`` check reads the policy tests: those among
    ``paths`` (test files, or inside the policy folders given) and those under ``tests`` (files or folders);
    with no ``paths``, the bundled rulebook is linted with its own golden tests, as ``policy-eval test`` runs
    them.

    Raises :class:`~policy_eval.errors.ErrorList` when the policies do not load (lint runs on valid
    policies; ``check`` explains invalid ones).
    """
    from policy_eval.resources import bundled_policies, bundled_tests

    files = _yaml_files(paths or [bundled_policies()])
    given = list(tests if tests is not None else [] if paths else [bundled_tests()])
    test_files = [f for f in files if _is_test_file(f)]
    test_files += [f for f in _yaml_files(given) if _is_test_file(f) and f not in test_files]
    policy_roots = [p for p in (paths or [bundled_policies()]) if p.is_dir() or p not in test_files]
    findings: list[Finding] = []
    roots = [r for r in policy_roots if any(f not in test_files and _is_policy_file(f) for f in _yaml_files([r]))]
    if not roots:  # a wrong folder: "0 errors" would say the policies are fine
        for root in policy_roots:
            if root.is_dir():  # the loader's error, located at a YAML file that is not a policy
                load_rulebook(root, schema_dir=schema_dir, functions=functions)
        shown = ", ".join(str(p) for p in paths)
        raise PolicyLoadError(f"no policy files in {shown} (a policy file is YAML with a top-level 'policy:' "
                              "mapping; see docs/policies.md)", file=shown)
    for root in roots:
        rulebook = load_rulebook(root, schema_dir=schema_dir, functions=functions)
        sources: dict[str, tuple[Any, Positions]] = {}
        for version in rulebook.versions():
            try:
                sources[version.file] = load_yaml(Path(version.file).read_bytes(), version.file)
            except (OSError, PolicyError) as exc:  # pragma: no cover - the rulebook just loaded it
                raise ErrorList([PolicyError(str(exc), file=version.file)]) from None
        findings += lint(LintInput(rulebook, sources, test_files))
    return findings

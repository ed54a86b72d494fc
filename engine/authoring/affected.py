"""Which policy tests a change affects, for ``policy-eval test --watch``.

Input: the changed files, the test files with the policy ids their expectations name and the params overlay
they use, and the rulebook(s) that say which policy file defines which policy. Output: the test files to run
again. A test file is affected when it changed itself, when it expects an outcome of a policy defined (or
inherited from) a changed file, when its params overlay changed, or when a case file one of its tests reads
(``case: x.json``) changed. Nothing here watches or runs anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_eval.errors import PolicyError
from policy_eval.rulebook import Rulebook

__all__ = ["TestIndex", "policy_files", "index_tests", "affected"]


def _key(path: str | Path) -> Path:
    return Path(path).resolve()


def policy_files(rulebook: Rulebook | None) -> dict[Path, set[str]]:
    """Policy file → the ids of the policies whose versions it defines or lends rules to (a revision
    inherits rules from the file it revises, so a change there changes the revision's verdicts too)."""
    out: dict[Path, set[str]] = {}
    if rulebook is None:
        return out
    for version in rulebook.versions():
        out.setdefault(_key(version.file), set()).add(version.id)
        for rule in version.rules:
            if rule.file:
                out.setdefault(_key(rule.file), set()).add(version.id)
    return out


@dataclass
class TestIndex:
    """What each test file exercises: the policy ids its expectations name, its params overlay and the case
    files its tests read."""

    policies: dict[Path, set[str]] = field(default_factory=dict)
    overlays: dict[Path, Path] = field(default_factory=dict)
    cases: dict[Path, set[Path]] = field(default_factory=dict)

    def update(self, file: Path, tests: Iterable[Any]) -> None:
        ids: set[str] = set()
        self.overlays.pop(_key(file), None)
        case_files: set[Path] = set()
        for t in tests:
            ids.update(str(rule_id).split("/", 1)[0] for rule_id in t.expect)
            if t.params:
                self.overlays[_key(file)] = _key(t.params)
            if getattr(t, "case_file", None):
                case_files.add(_key(t.case_file))
        self.policies[_key(file)] = ids
        self.cases[_key(file)] = case_files

    def case_files(self) -> set[Path]:
        """Every case file a test reads (to be watched)."""
        return set().union(*self.cases.values()) if self.cases else set()

    def update_from(self, file: Path) -> None:
        """Read ``file`` again (a test file that does not load names nothing, yet: it reruns when it changes)."""
        from policy_eval.run.testing import load_tests

        try:
            self.update(file, load_tests(file))
        except (PolicyError, OSError):
            self.policies[_key(file)] = set()


def index_tests(files: Iterable[Path]) -> TestIndex:
    """Read each test file (see :meth:`TestIndex.update_from`)."""
    index = TestIndex()
    for f in files:
        index.update_from(f)
    return index


def affected(changed: Iterable[Path], test_files: Iterable[Path], index: TestIndex,
             before: Rulebook | None, after: Rulebook | None) -> list[Path]:
    """The test files (in ``test_files`` order) that a change of ``changed`` may turn: the changed test files
    themselves, those expecting outcomes of a policy that a changed file defines before or after the change
    (a rule may have moved in or out), those whose params overlay changed, and those with a test reading a
    changed case file."""
    changed_keys = {_key(c) for c in changed}
    touched: set[str] = set()
    for book in (before, after):
        for f, ids in policy_files(book).items():
            if f in changed_keys:
                touched |= ids
    out: list[Path] = []
    for t in test_files:
        k = _key(t)
        if (k in changed_keys or index.policies.get(k, set()) & touched or index.overlays.get(k) in changed_keys
                or index.cases.get(k, set()) & changed_keys):
            out.append(t)
    return out

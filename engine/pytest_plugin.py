"""pytest plugin: collect YAML policy test files as pytest items.

Installed through the ``pytest11`` entry point, so it is active wherever
policy-eval is installed (disable with ``-p no:policy_eval``). Files whose
name matches the ``policy_eval_test_glob`` ini option (default
``test_*.yaml``; several patterns may be given, separated by spaces) and
that hold a top-level ``tests:`` list become one pytest item per test case.
They run against the rulebook named by ``--policy-eval-policies`` or the
``policy_eval_policies`` ini option (relative to the rootdir; default: the
bundled rulebook), exactly as ``policy-eval test`` runs them: the case goes
through the plugins' enrichers and its schema, then the policies. Plugins that
are not installed as entry points are loaded with ``--policy-eval-plugin MODULE``
(repeatable) or the ``policy_eval_plugins`` ini option (module paths).

A failure reads like::

    policy test 'refund handled late' failed (tests/test_refunds.yaml:12)
      case R-1 (refund)
      refunds/handled-within-48h: expected complied, got violated — handled 72h after the request
"""

from __future__ import annotations

import fnmatch
import threading
from pathlib import Path
from typing import Any

import pytest

__all__ = ["pytest_addoption", "pytest_configure", "pytest_collect_file", "PolicyTestFile", "PolicyTestItem", "PolicyTestFailure"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("policy-eval", "policy-eval YAML policy tests")
    group.addoption("--policy-eval-policies", metavar="DIR", default=None,
                    help="policy folder that YAML policy tests run against (overrides the ini option)")
    parser.addini("policy_eval_policies", "policy folder that YAML policy tests run against (relative to rootdir)",
                  default="")
    parser.addini("policy_eval_test_glob", "file name pattern(s) of YAML policy test files", default="test_*.yaml")
    group.addoption("--policy-eval-plugin", metavar="MODULE", action="append", default=[],
                    help="load a policy-eval plugin module (repeatable; as `policy-eval test --plugin`), its "
                         "functions and enrichers known to the policies under test")
    parser.addini("policy_eval_plugins", "policy-eval plugin modules to load (space-separated module paths)",
                  default="")


def pytest_configure(config: pytest.Config) -> None:
    """Load the plugins named by ``--policy-eval-plugin`` and the ``policy_eval_plugins`` ini option into the
    process-wide plugin manager, as ``policy-eval test --plugin`` does, before any policy is loaded."""
    names = [*str(config.getini("policy_eval_plugins") or "").split(),
             *(config.getoption("policy_eval_plugin", default=None) or [])]
    if not names:
        return
    from policy_eval.errors import PluginError
    from policy_eval.plugin_manager import get_plugin_manager

    pm = get_plugin_manager()
    for name in names:
        try:
            pm.add(name)
        except PluginError as exc:
            raise pytest.UsageError(f"policy-eval plugin {name!r}: {exc}") from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    patterns = str(parent.config.getini("policy_eval_test_glob") or "test_*.yaml").split()
    if not any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return None
    try:
        text = file_path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return None
    if not any(line.startswith("tests:") for line in text.splitlines()):
        return None
    return PolicyTestFile.from_parent(parent, path=file_path)


class _Loaded:
    """The rulebook of one policy folder, loaded once per session (errors remembered, not retried)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._books: dict[str, Any] = {}

    def get(self, policies: str, params: str | None = None) -> Any:
        key = f"{policies}\0{params or ''}"
        with self._lock:
            if key not in self._books:
                from policy_eval.errors import PolicyError
                from policy_eval.rulebook import load_rulebook
                from policy_eval.rulebook.validation import CaseValidator
                from policy_eval.run.testing import evaluator_for_tests

                try:  # (with the process-wide plugins' functions: --policy-eval-plugin added to them, pytest_configure)
                    rb = load_rulebook(policies or None, params=params)
                    self._books[key] = (evaluator_for_tests(rb), CaseValidator(rb.case_schemas))
                except PolicyError as exc:
                    self._books[key] = exc
            return self._books[key]


_RULEBOOKS = _Loaded()


def _policies(config: pytest.Config) -> str:
    option = config.getoption("policy_eval_policies", default=None)
    if option:
        return str(Path(option).resolve())
    ini = config.getini("policy_eval_policies")
    return str(Path(config.rootpath) / ini) if ini else ""


class PolicyTestFile(pytest.File):
    """A YAML file of policy tests."""

    def collect(self) -> Any:
        from policy_eval.errors import PolicyError, printable
        from policy_eval.run.testing import load_tests

        try:
            tests = load_tests(self.path)
        except PolicyError as exc:
            raise self.CollectError(f"invalid policy test file:\n{exc}") from None
        seen: dict[str, int] = {}
        for test in tests:
            n = seen.get(test.name, 0) + 1
            seen[test.name] = n
            # printable(): a test name is YAML text; a newline or ESC in it must not forge report lines
            name = printable(test.name) if n == 1 else f"{printable(test.name)} [{n}]"
            yield PolicyTestItem.from_parent(self, name=name, test=test)


class PolicyTestFailure(AssertionError):
    """A policy test whose verdicts differ from its expectations."""


class PolicyRulebookError(Exception):
    """The policies under test do not load."""


class PolicyTestItem(pytest.Item):
    """One test case of a YAML policy test file."""

    def __init__(self, *, test: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.test = test

    def runtest(self) -> None:
        from policy_eval.errors import printable
        from policy_eval.run.testing import run_test

        loaded = _RULEBOOKS.get(_policies(self.config), self.test.params)
        if isinstance(loaded, Exception):
            raise PolicyRulebookError(str(loaded))
        evaluator, validator = loaded
        outcome = run_test(self.test, evaluator, validator)
        if not outcome.passed:
            result = outcome.result
            # the case by its id, else where the test is (a policy test's case often has no case_id)
            head = f"case {result.case_id or self._where()} ({result.kind})" if result is not None else "case"
            # one line each: the failures quote case values and messages
            raise PolicyTestFailure("\n".join(printable(line) for line in [head, *outcome.failures]))

    def _where(self) -> str:
        try:
            shown = self.path.relative_to(self.config.rootpath)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.test.line}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, PolicyTestFailure):
            body = str(excinfo.value).replace("\n", "\n  ")
            return f"policy test '{self.name}' failed ({self._where()})\n  {body}"
        if isinstance(excinfo.value, PolicyRulebookError):
            policies = _policies(self.config) or "the bundled rulebook"
            return f"the policies under test ({policies}) do not load:\n{excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.test.line - 1, f"policy test: {self.name}"

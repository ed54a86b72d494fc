"""pytest plugin: collect YAML policy test files as pytest items.

Installed through the ``pytest11`` entry point. Files matching the
``policy_eval_test_glob`` ini option (default ``test_*.yaml``) that hold a
top-level ``tests:`` list become one pytest item per test case, run against
the rulebook named by the ``policy_eval_policies`` ini option (relative to
the rootdir; default: the bundled rulebook). The same files run with
``policy-eval test``.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

__all__ = ["pytest_addoption", "pytest_collect_file", "PolicyTestFile", "PolicyTestItem"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("policy_eval_policies", "policy folder that YAML policy tests run against", default="")
    parser.addini("policy_eval_test_glob", "file name pattern of YAML policy test files", default="test_*.yaml")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    pattern = parent.config.getini("policy_eval_test_glob") or "test_*.yaml"
    if not fnmatch.fnmatch(file_path.name, pattern):
        return None
    try:
        text = file_path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return None
    if not any(line.startswith("tests:") for line in text.splitlines()):
        return None
    return PolicyTestFile.from_parent(parent, path=file_path)


@lru_cache(maxsize=8)
def _evaluator(policies: str) -> Any:
    from .cases import CaseValidator
    from .evaluate import Evaluator
    from .rulebook import load_rulebook

    rb = load_rulebook(policies or None)
    return Evaluator(rb), CaseValidator(rb.case_schemas)


class PolicyTestFile(pytest.File):
    def collect(self) -> Any:
        from .testing import load_tests

        for test in load_tests(self.path):
            yield PolicyTestItem.from_parent(self, name=test.name, test=test)


class PolicyTestFailure(AssertionError):
    pass


class PolicyTestItem(pytest.Item):
    def __init__(self, *, test: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.test = test

    def runtest(self) -> None:
        from .testing import run_test

        policies = self.config.getini("policy_eval_policies")
        if policies:
            policies = str(Path(self.config.rootpath) / policies)
        evaluator, validator = _evaluator(policies)
        outcome = run_test(self.test, evaluator, validator)
        if not outcome.passed:
            raise PolicyTestFailure("\n".join(outcome.failures))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, PolicyTestFailure):
            return f"policy test failed: {self.test.name}\n  " + str(excinfo.value).replace("\n", "\n  ")
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.test.line - 1, f"policy test: {self.test.name}"

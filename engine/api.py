"""The embedding API: load a rulebook once, evaluate cases, get typed results.

>>> from policy_eval.api import Rulebook
>>> book = Rulebook.load()                      # the bundled rulebook
>>> result = book.evaluate({"kind": "after_sale", ...})
>>> [r.full_id for r in result.violated]

A loaded :class:`Rulebook` is immutable and safe to share between threads.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .batch import BatchOptions, Processor, run_batch
from .cases import CaseValidator
from .errors import CaseError
from .evaluate import Evaluator
from .plugin_manager import PluginManager, get_plugin_manager
from .policy import Rule, parse_instant
from .result import CaseResult, Outcome, RuleResult
from .rulebook import Rulebook as _Book
from .rulebook import load_rulebook

__all__ = ["Rulebook", "CaseResult", "RuleResult", "Outcome", "register_plugin", "CaseError"]


def register_plugin(plugin: Any, name: str | None = None) -> None:
    """Register a plugin object or module (path) with the process-wide plugin manager."""
    get_plugin_manager().add(plugin, name=name)


def _instant(value: str | _dt.datetime | _dt.date | None) -> _dt.datetime | None:
    if value is None or isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return parse_instant(value.isoformat())
    return parse_instant(value)


class Rulebook:
    """A checked, compiled rulebook."""

    def __init__(self, book: _Book, *, validate: bool = True) -> None:
        self._book = book
        self._evaluator = Evaluator(book)
        self._explainer = Evaluator(book, explain=True)
        self._validator = CaseValidator(book.case_schemas) if validate else None

    @classmethod
    def load(cls, policies: str | Path | None = None, *, schemas: str | Path | None = None,
             plugins: Sequence[Any] = (), validate: bool = True,
             plugin_manager: PluginManager | None = None) -> Rulebook:
        """Load every policy under ``policies`` (default: bundled); raise a located PolicyError if invalid."""
        pm = plugin_manager or get_plugin_manager()
        for plugin in plugins:
            pm.add(plugin)
        return cls(load_rulebook(policies, schema_dir=schemas, functions=pm.functions()), validate=validate)

    @property
    def digest(self) -> str:
        return self._book.digest

    def rules(self) -> list[Rule]:
        return [r for v in self._book.versions() for r in v.rules]

    def inputs(self, rule_id: str) -> list[str]:
        """The case paths a rule reads (``policy/rule``), i.e. the evidence support staff should collect."""
        for r in self.rules():
            if r.full_id == rule_id:
                return list(r.inputs)
        raise KeyError(rule_id)

    def validate(self, case: Mapping[str, Any]) -> CaseError | None:
        return self._validator.check(dict(case), "<api>", 0) if self._validator else None

    def evaluate(self, case: Mapping[str, Any], *, as_of: str | _dt.datetime | None = None,
                 explain: bool = False) -> CaseResult:
        """Evaluate one case (a dict as JSON would give; use Decimal for non-integers)."""
        err = self.validate(case)
        if err is not None:
            return CaseResult(case_id=str(case.get("case_id")) if case.get("case_id") is not None else None,
                              kind=case.get("kind") if isinstance(case.get("kind"), str) else None, source=None,
                              record=None, rulebook=self.digest, error=err.to_dict())
        evaluator = self._explainer if explain else self._evaluator
        return evaluator.evaluate(case, as_of=_instant(as_of))

    def evaluate_many(self, cases: Iterable[Mapping[str, Any]], *, as_of: str | _dt.datetime | None = None,
                      jobs: int = 1) -> Iterator[CaseResult]:
        """Evaluate cases lazily, in order; with ``jobs > 1`` in worker processes (policies reloaded there)."""
        options = BatchOptions(policies=str(self._book.root), schemas=str(self._book.schema_dir),
                               as_of=_instant(as_of), validate=self._validator is not None)
        records = (("<api>", i, dict(c)) for i, c in enumerate(cases, 1))
        processor = Processor(options, rulebook=self._book) if jobs <= 1 else None
        return run_batch(records, options, jobs=jobs, processor=processor)

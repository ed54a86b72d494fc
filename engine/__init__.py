"""policy-eval: a declarative policy-as-data compliance checker.

Pipeline (one module per stage): :mod:`policy_eval.rulebook.yamlload` (YAML with
positions) → :mod:`policy_eval.lang.parser` (Lark → typed AST) →
:mod:`policy_eval.lang.checker` (names and types) → :mod:`policy_eval.lang.compiler`
(closures) → :mod:`policy_eval.run.evaluate` (verdicts) → reporters (plugins).
The embedding API lives in :mod:`policy_eval.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

"""policy-eval: a declarative policy-as-data compliance checker.

Pipeline (one module per stage): :mod:`policy_eval.yamlload` (YAML with
positions) → :mod:`policy_eval.parser` (Lark → typed AST) →
:mod:`policy_eval.checker` (names and types) → :mod:`policy_eval.compiler`
(closures) → :mod:`policy_eval.evaluate` (verdicts) → reporters (plugins).
The embedding API lives in :mod:`policy_eval.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

"""Stage 1, the condition language: text to a compiled, typed condition.

parse (``parser``, ``grammar.lark``, ``ast``) → check names and types
(``checker``, ``types``, ``functions``, ``ir``) → compile (``compiler`` closures,
``codegen`` generated Python) → run (``values``, ``ops``, ``readers``;
``timestamps`` the RFC 3339 reader of case timestamps; ``patterns`` RE2 regexes in
bounded caches; ``interpreter`` is the reference evaluator that also explains). Imports only from
:mod:`policy_eval.errors`; nothing here knows about policies, files or plugins.
"""

__all__: list[str] = []

"""Deprecation warnings for the module paths that moved when engine/ was grouped by stage (issue 11).

The old flat paths (``policy_eval.functions``, ``policy_eval.ltypes``, ``policy_eval.values``,
``policy_eval.result``, ``policy_eval.ruletable``) were documented for plugin authors; each is now a
thin alias module that re-exports its new home and calls :func:`warn_moved` once, on first import.
The aliases go in the next release.
"""

from __future__ import annotations

import warnings

__all__ = ["warn_moved"]


def warn_moved(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` moved to ``new``; called by the alias module ``old`` as it is first imported.

    ``stacklevel=3`` names the line that imported the alias (:func:`warnings.warn` skips importlib's own
    frames); 2 names the alias itself, for one run as ``python -m``, where Python shows it by default.
    """
    warnings.warn(f"{old} is deprecated and will be removed in the next release; import from {new} instead",
                  DeprecationWarning, stacklevel=stacklevel)

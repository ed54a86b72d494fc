"""Deprecation warnings for the module paths that moved when engine/ was grouped by stage (issue 11).

The old flat paths (``policy_eval.functions``, ``policy_eval.ltypes``, ``policy_eval.values``,
``policy_eval.result``, ``policy_eval.ruletable``) were documented for plugin authors; each is now a
thin alias module that re-exports its new home and calls :func:`warn_moved` once, on first import.
The aliases go in the next release.
"""

from __future__ import annotations

import sys
import warnings
from types import FrameType

__all__ = ["warn_moved"]

# Frames between the importing line and the alias module that are import machinery: importlib's own (which
# warnings.warn skips by itself) and an import hook's, e.g. pytest's assertion rewriting, which loads this
# package's modules when the package is installed as a pytest plugin (policy_eval.pytest_plugin).
_HOOKS = ("_pytest/assertion/rewrite.py", "_pytest\\assertion\\rewrite.py")


def _importer_level() -> int:
    """The stacklevel, for warnings.warn called here, of the line that imported the alias module."""
    frame: FrameType | None = sys._getframe(3)  # 0 this function, 1 warn_moved, 2 the alias, 3 its loader
    level = 3
    while frame is not None:
        name = frame.f_code.co_filename
        if "importlib" in name and "_bootstrap" in name:  # not counted by warnings.warn either
            frame = frame.f_back
            continue
        if not name.endswith(_HOOKS):
            return level
        frame, level = frame.f_back, level + 1
    return 3


def warn_moved(old: str, new: str, *, stacklevel: int | None = None) -> None:
    """Warn that ``old`` moved to ``new``; called by the alias module ``old`` as it is first imported.

    By default the warning names the line that imported the alias, past import hooks; ``stacklevel=2``
    names the alias itself, for one run as ``python -m``, where Python shows it by default.
    """
    warnings.warn(f"{old} is deprecated and will be removed in the next release; import from {new} instead",
                  DeprecationWarning, stacklevel=stacklevel if stacklevel is not None else _importer_level())

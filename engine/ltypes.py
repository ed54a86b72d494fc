"""Deprecated alias of :mod:`policy_eval.lang.types` (the path plugins imported before issue 11); removed in the next release."""

from __future__ import annotations

from policy_eval._moved import warn_moved
from policy_eval.lang.types import *  # noqa: F403
from policy_eval.lang.types import __all__ as __all__

warn_moved("policy_eval.ltypes", "policy_eval.lang.types")

"""Deprecated alias of :mod:`policy_eval.lang.values` (the path plugins imported before issue 11); removed in the next release."""

from __future__ import annotations

from policy_eval._moved import warn_moved
from policy_eval.lang.values import *  # noqa: F403
from policy_eval.lang.values import __all__ as __all__

warn_moved("policy_eval.values", "policy_eval.lang.values")

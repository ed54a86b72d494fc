"""Deprecated alias of :mod:`policy_eval.rulebook.ruletable` (``python -m policy_eval.ruletable`` before
issue 11); removed in the next release. ``python -m policy_eval.ruletable`` still writes the rule table."""

from __future__ import annotations

from policy_eval._moved import warn_moved
from policy_eval.rulebook.ruletable import *  # noqa: F403
from policy_eval.rulebook.ruletable import __all__ as __all__
from policy_eval.rulebook.ruletable import main

warn_moved("policy_eval.ruletable", "policy_eval.rulebook.ruletable", stacklevel=2 if __name__ == "__main__" else None)

if __name__ == "__main__":
    raise SystemExit(main())

"""Hook specifications: the extension points of policy-eval.

A plugin is a module or object with functions named like the hooks below,
decorated with ``policy_eval.plugins.hookspecs.hookimpl``. Register it by an
entry point in the ``policy_eval`` group::

    [project.entry-points.policy_eval]
    myplugin = "my_package.my_plugin"

or explicitly with ``policy-eval --plugin my_package.my_plugin`` or
``Rulebook.load(..., plugins=[...])``. Hooks are called with keyword
arguments; every hook returns a batch (list or mapping) that is merged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("policy_eval")
hookimpl = pluggy.HookimplMarker("policy_eval")

__all__ = ["hookspec", "hookimpl", "policy_eval_functions", "policy_eval_case_loaders",
           "policy_eval_reporters", "policy_eval_enrichers"]


@hookspec
def policy_eval_functions() -> list[Any]:
    """Return :class:`policy_eval.functions.Function` objects for the condition language.

    Each declares argument and result types, so calls are type-checked when a
    policy is loaded, exactly like the built-ins. A name defined by two
    plugins is an error.
    """


@hookspec
def policy_eval_case_loaders() -> dict[str, Callable[..., Iterator[Any]]]:
    """Return ``{format_name: loader}``.

    A loader is called as ``loader(stream, source=name, options=dict)`` with
    a binary stream and yields ``(record_number, case_dict_or_CaseError)``
    pairs lazily (streaming). The CLI picks a loader with ``--input-format``
    or by file suffix (the format name).
    """


@hookspec
def policy_eval_reporters() -> dict[str, Callable[..., Any]]:
    """Return ``{format_name: reporter_factory}``.

    ``reporter_factory(stream, options)`` returns an object with
    ``start(meta)``, ``case(case_result)``, ``error(case_error)`` and
    ``finish(summary)``; reporters write to ``stream`` (text).
    """


@hookspec
def policy_eval_enrichers() -> Iterable[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Return callables that add derived facts to a case before evaluation.

    An enricher receives the case dict and returns it (possibly a copy with
    more fields). Enrichers run in registration order, before validation.
    """

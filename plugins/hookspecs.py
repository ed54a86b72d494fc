"""Hook specifications: the extension points of policy-eval (see docs/plugins.md).

A plugin is a module (or any object) with functions named like the hooks
below, decorated with ``policy_eval.plugins.hookspecs.hookimpl``. It is found
by an entry point in the ``policy_eval`` group::

    [project.entry-points.policy_eval]
    myplugin = "my_package.my_plugin"

or named explicitly: ``policy-eval --plugin my_package.my_plugin`` on the
command line, ``Rulebook.load(..., plugins=[...])`` or
``policy_eval.api.register_plugin(...)`` in Python. Policy files never load
code. The built-in plugins (``policy_eval.plugins.core``, ``conduct``,
``workdays``, ``loaders``, ``reporters``) use exactly these hooks.

Every hook takes no arguments and returns a batch (a list or a mapping); the
engine calls each plugin's implementation once and merges the batches. A name
(function, loader format, reporter format) provided by two plugins is an
error, never a silent override.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import pluggy

PROJECT = "policy_eval"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookspec", "hookimpl", "policy_eval_functions", "policy_eval_case_loaders",
           "policy_eval_reporters", "policy_eval_enrichers", "CaseLoader", "ReporterFactory", "Enricher"]

#: ``loader(stream, source=name, options=dict)``: yields ``(record_number, case_dict_or_CaseError)``.
CaseLoader = Callable[..., Iterator[tuple[int, Any]]]
#: ``factory(stream, options)``: returns an object with ``start``, ``case`` and ``finish``.
ReporterFactory = Callable[[IO[str], dict[str, Any]], Any]
#: ``enricher(case)``: returns the case, usually a copy with more fields.
Enricher = Callable[[dict[str, Any]], dict[str, Any]]


@hookspec
def policy_eval_functions() -> Sequence[Any]:
    """Return :class:`policy_eval.lang.functions.Function` objects for the condition language.

    Each declares its argument and result types, so calls are type-checked
    when a policy is loaded, exactly like the built-ins; a wrong argument
    type is a located load-time error. A name defined by two plugins is an
    error. ``Function.plugin`` is filled in with the plugin's name when left
    at its default.
    """
    raise NotImplementedError


@hookspec
def policy_eval_case_loaders() -> Mapping[str, CaseLoader]:
    """Return ``{format_name: loader}`` (``policy-eval eval --input-format NAME``).

    A loader is called as ``loader(stream, source=name, options=dict)`` with
    a binary stream and yields ``(record_number, case_dict_or_CaseError)``
    pairs lazily, so inputs of any size stream in bounded memory. A record
    that cannot be converted is yielded as a
    :class:`policy_eval.errors.CaseError` (it is reported as rejected) and
    the loader goes on with the next one. ``json`` and ``jsonl`` are built
    into the engine and cannot be provided by a plugin.
    """
    raise NotImplementedError


@hookspec
def policy_eval_reporters() -> Mapping[str, ReporterFactory]:
    """Return ``{format_name: reporter_factory}`` (``policy-eval eval --format NAME``).

    ``reporter_factory(stream, options)`` returns an object with
    ``start(meta)``, ``case(case_result)`` and ``finish(summary)``;
    reporters write text to ``stream``. ``meta`` has ``rulebook`` (digest)
    and ``rules``; ``summary`` has the totals.
    """
    raise NotImplementedError


@hookspec
def policy_eval_enrichers() -> Iterable[Enricher]:
    """Return callables that add derived facts to a case before evaluation.

    An enricher receives the case dict (as read, before schema validation)
    and returns the case to evaluate: a copy with more fields, or the same
    dict untouched. It must not modify its argument, must leave cases of
    kinds it does not know alone, and may only add fields the case schema
    declares. Enrichers run in plugin registration order (built-ins, then
    entry points, then explicit plugins).
    """
    raise NotImplementedError

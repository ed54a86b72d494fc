"""Plugin discovery and the registries built from plugins.

Built-ins (:mod:`policy_eval.plugins.core`, ``conduct``, ``workdays``,
``loaders`` and ``reporters``) are registered exactly like third-party
plugins: as modules whose hook implementations are called through pluggy.
Third parties are found through the ``policy_eval`` entry-point group of
installed distributions, or named explicitly (``--plugin module.path``,
``Rulebook.load(plugins=...)``, :meth:`PluginManager.add`). Policy files
never load code.

Set ``POLICY_EVAL_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry points (only the
built-ins and explicitly named plugins load), e.g. to work around a broken
installed plugin.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from policy_eval.errors import PluginError
from policy_eval.lang.functions import Function, FunctionRegistry
from policy_eval.lang.parser import KEYWORDS
from policy_eval.lang.types import Type

__all__ = ["PluginManager", "get_plugin_manager", "BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "RESERVED_LOADERS",
           "AUTOLOAD_ENV"]

ENTRY_POINT_GROUP = "policy_eval"
AUTOLOAD_ENV = "POLICY_EVAL_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PLUGINS = (
    "policy_eval.plugins.core",
    "policy_eval.plugins.conduct",
    "policy_eval.plugins.workdays",
    "policy_eval.plugins.loaders",
    "policy_eval.plugins.reporters",
)
#: Input formats the engine reads itself (``policy_eval.rulebook.cases``); no plugin may claim them.
RESERVED_LOADERS = frozenset({"json", "jsonl"})
_HOOK_PREFIX = "policy_eval_"

BUILTIN, ENTRY_POINT, EXPLICIT = "builtin", "entry point", "explicit"


class PluginManager:
    """A pluggy manager plus the typed registries the engine asks for.

    The registries (functions, loaders, reporters, enrichers) are built once
    and cached until another plugin is added. Safe to share between threads.
    """

    def __init__(self, *, entry_points: bool = True, extra: Iterable[Any] = ()) -> None:
        from policy_eval.plugins import hookspecs

        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._lock = threading.RLock()
        self._sources: dict[str, str] = {}
        self._cache: dict[str, Any] = {}
        for name in BUILTIN_PLUGINS:
            self._register(importlib.import_module(name), name, BUILTIN)
        if entry_points:
            self._load_entry_points()
        for plugin in extra:
            self.add(plugin)

    # --- registration -----------------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        before = set(self.pm.get_plugins())
        try:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken third-party plugin must not look like our bug
            raise PluginError(_entry_point_failure(self.pm, exc)) from exc
        for plugin in set(self.pm.get_plugins()) - before:
            name = self.pm.get_name(plugin)
            if name is not None:
                self._sources[name] = ENTRY_POINT
                self._validate(plugin, name)

    def add(self, plugin: Any, name: str | None = None) -> None:
        """Register a plugin given as a module path (``"pkg.module"``), a module or any object.

        Adding a plugin that is already registered (e.g. both installed and
        named with ``--plugin``) does nothing.
        """
        if isinstance(plugin, str):
            path = plugin
            try:
                plugin = importlib.import_module(path)
            except ImportError as exc:
                raise PluginError(f"cannot import plugin {path!r}: {exc}") from None
            except Exception as exc:
                raise PluginError(f"importing plugin {path!r} failed: {type(exc).__name__}: {exc}") from exc
        with self._lock:
            if self.pm.is_registered(plugin):
                return
            name = name or _default_name(plugin, self.pm)
            self._register(plugin, name, EXPLICIT)
            if not self.pm.get_hookcallers(plugin):  # (loaded and listed, silently doing nothing)
                self.pm.unregister(plugin)
                self._sources.pop(name, None)
                raise PluginError(f"plugin {name!r} implements no policy-eval hook (module-level functions named "
                                  f"policy_eval_* decorated with @hookimpl; hooks inside a class need an instance "
                                  f"of it registered, not the module)")
            self._cache.clear()

    def _register(self, plugin: Any, name: str, source: str) -> None:
        try:
            self.pm.register(plugin, name=name)
        except ValueError as exc:  # the name is taken by another plugin
            raise PluginError(f"cannot register plugin {name!r}: {exc}") from None
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r} is invalid: {exc}") from None
        self._sources[name] = source
        self._validate(plugin, name)

    def _validate(self, plugin: Any, name: str) -> None:
        """Catch the usual mistakes: a misspelled hook, or a hook function without ``@hookimpl``."""
        impls = [impl.function for caller in self.pm.get_hookcallers(plugin) or []
                 for impl in caller.get_hookimpls() if impl.plugin is plugin]
        # the hooks with a specification (a decorated misspelt hook gets a caller of its own, without one)
        known = sorted(n for n, caller in vars(self.pm.hook).items()
                       if n.startswith(_HOOK_PREFIX) and getattr(caller, "spec", None) is not None)
        for attr in dir(plugin):
            if not attr.startswith(_HOOK_PREFIX):
                continue
            value = getattr(plugin, attr, None)
            if not callable(value) or (value in impls and attr in known):
                continue
            if attr in known:
                self.pm.unregister(plugin)
                self._sources.pop(name, None)
                raise PluginError(f"plugin {name!r}: {attr}() is not decorated with "
                                  f"@policy_eval.plugins.hookspecs.hookimpl")
            close = difflib.get_close_matches(attr, known, n=1)
            self.pm.unregister(plugin)
            self._sources.pop(name, None)
            hint = f"; did you mean {close[0]}?" if close else f" (hooks: {', '.join(known)})"
            raise PluginError(f"plugin {name!r}: {attr}() is not a policy-eval hook{hint}")
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(plugin)
            self._sources.pop(name, None)
            raise PluginError(f"plugin {name!r} is invalid: {exc}") from None

    # --- registries -------------------------------------------------------------------------------------
    def _batches(self, hook_name: str) -> list[tuple[str, Any]]:
        """Each plugin's answer to a hook, in registration order, as ``(plugin_name, batch)``."""
        out = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                batch = impl.function()
            except Exception as exc:
                raise PluginError(f"plugin {impl.plugin_name!r}: {hook_name}() failed: "
                                  f"{type(exc).__name__}: {exc}") from exc
            if batch is not None:
                out.append((impl.plugin_name, batch))
        return out

    def _cached(self, key: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def functions(self) -> FunctionRegistry:
        """Every plugin's functions; a name defined twice is a :class:`PluginError`."""
        registry: FunctionRegistry = self._cached("functions", self._build_functions)
        return registry

    def _build_functions(self) -> FunctionRegistry:
        registry = FunctionRegistry()
        for plugin_name, batch in self._batches("policy_eval_functions"):
            if isinstance(batch, (str, bytes, Mapping)) or not isinstance(batch, Iterable):
                raise PluginError(f"plugin {plugin_name!r}: policy_eval_functions() must return a list of "
                                  f"Function objects, got {type(batch).__name__}")
            for fn in batch:
                if not isinstance(fn, Function):
                    raise PluginError(f"plugin {plugin_name!r}: policy_eval_functions() must return "
                                      f"policy_eval.lang.functions.Function objects, got {fn!r}")
                problem = _function_problem(fn)
                if problem is not None:
                    raise PluginError(f"plugin {plugin_name!r}: policy_eval_functions(): {problem}")
                if fn.plugin == "core" and plugin_name != "policy_eval.plugins.core":
                    fn = dataclasses.replace(fn, plugin=self._short_name(plugin_name))
                try:
                    registry.add(fn)
                except ValueError as exc:
                    raise PluginError(str(exc)) from None
        return registry

    def _named(self, hook_name: str, what: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for plugin_name, batch in self._batches(hook_name):
            if not isinstance(batch, Mapping):
                raise PluginError(f"plugin {plugin_name!r}: {hook_name}() must return a mapping "
                                  f"{{format_name: callable}}, got {type(batch).__name__}")
            for fmt, factory in batch.items():
                if not isinstance(fmt, str) or not fmt or not callable(factory):
                    raise PluginError(f"plugin {plugin_name!r}: {hook_name}() returned an invalid entry "
                                      f"{fmt!r}: {factory!r}")
                if what == "case loader" and fmt in RESERVED_LOADERS:
                    raise PluginError(f"plugin {plugin_name!r}: the input format {fmt!r} is built in and "
                                      f"cannot be replaced by a plugin")
                if fmt in found:
                    raise PluginError(f"{what} {fmt!r} is provided by two plugins: {owner[fmt]!r} and "
                                      f"{plugin_name!r}")
                found[fmt] = factory
                owner[fmt] = plugin_name
        return found

    def reporters(self) -> dict[str, Any]:
        """Output format name → reporter factory."""
        return dict(self._cached("reporters", lambda: self._named("policy_eval_reporters", "output format")))

    def loaders(self) -> dict[str, Any]:
        """Input format name → case loader (``json``/``jsonl`` are the engine's own, not listed)."""
        return dict(self._cached("loaders", lambda: self._named("policy_eval_case_loaders", "case loader")))

    def enrichers(self) -> list[Any]:
        """Enrichers in registration order."""
        return list(self._cached("enrichers", self._build_enrichers))

    def _build_enrichers(self) -> list[Any]:
        out: list[Any] = []
        for plugin_name, batch in self._batches("policy_eval_enrichers"):
            if isinstance(batch, (str, bytes, Mapping)) or not isinstance(batch, Iterable):
                raise PluginError(f"plugin {plugin_name!r}: policy_eval_enrichers() must return a list of "
                                  f"callables, got {type(batch).__name__}")
            for enricher in batch:
                if not callable(enricher):
                    raise PluginError(f"plugin {plugin_name!r}: policy_eval_enrichers() returned {enricher!r}, "
                                      "which is not callable")
                out.append(enricher)
        return out

    # --- listing ----------------------------------------------------------------------------------------
    def _short_name(self, plugin_name: str) -> str:
        if plugin_name.startswith("policy_eval.plugins."):
            return plugin_name.rsplit(".", 1)[1]
        return plugin_name

    def plugin_names(self) -> list[str]:
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    def describe(self) -> list[dict[str, str]]:
        """One row per loaded plugin, in registration order.

        Keys: ``name``; ``module``; ``source`` (builtin, entry point or
        explicit); ``distribution`` and ``dist_version`` (the installed
        distribution that provides it, when known); ``version``, the text to
        show: ``builtin`` for ours, ``<distribution> <version>`` for entry
        points (from pluggy's ``list_plugin_distinfo``), and for explicit
        plugins the distribution owning the module, its ``__version__``, or
        ``unversioned``.
        """
        dists = {id(plugin): dist for plugin, dist in self.pm.list_plugin_distinfo()}
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:  # blocked
                continue
            module = _module_name(plugin)
            source = self._sources.get(name, EXPLICIT)
            dist_name = dist_version = ""
            if id(plugin) in dists:
                dist = dists[id(plugin)]
                dist_name, dist_version = str(dist.project_name), str(dist.version)
                source = ENTRY_POINT
            elif source != BUILTIN:
                dist_name, dist_version = _owning_distribution(module)
            if source == BUILTIN:
                version = "builtin"
            elif dist_name:
                version = f"{dist_name} {dist_version}"
            else:
                version = _own_version(plugin, module) or "unversioned"
            if source == EXPLICIT:
                version += " (explicit)"
            rows.append({"name": name, "module": module, "source": source, "distribution": dist_name,
                         "dist_version": dist_version, "version": version})
        return rows


def _module_name(plugin: Any) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    cls = plugin if isinstance(plugin, type) else type(plugin)
    return f"{cls.__module__}.{cls.__qualname__}"


def _default_name(plugin: Any, pm: pluggy.PluginManager) -> str:
    base = plugin.__name__ if isinstance(plugin, ModuleType) else _module_name(plugin)
    name, n = base, 1
    while pm.has_plugin(name):
        n += 1
        name = f"{base}#{n}"
    return name


def _own_version(plugin: Any, module: str) -> str:
    """``__version__`` of the plugin object or of its top-level package, if it has one."""
    import sys

    for candidate in (plugin, sys.modules.get(module), sys.modules.get(module.split(".")[0])):
        version = getattr(candidate, "__version__", None)
        if isinstance(version, str) and version:
            return version
    return ""


def _owning_distribution(module: str) -> tuple[str, str]:
    """The installed distribution whose files provide ``module`` (by its top-level package), if any."""
    top = module.split(".")[0]
    try:
        names = metadata.packages_distributions().get(top) or []
    except Exception:  # unusual metadata on the path must not break listing
        return "", ""
    for dist_name in names:
        try:
            return dist_name, metadata.version(dist_name)
        except metadata.PackageNotFoundError:
            continue
    return "", ""


def _entry_point_failure(pm: pluggy.PluginManager, exc: Exception) -> str:
    """Name the entry point that failed to load (pluggy's own error does not)."""
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.has_plugin(ep.name):
            continue
        dist = f" from {ep.dist.name} {ep.dist.version}" if ep.dist is not None else ""
        try:
            ep.load()
        except Exception as inner:
            return (f"cannot load plugin {ep.name!r} ({ep.value}){dist}, entry point group {ENTRY_POINT_GROUP!r}: "
                    f"{type(inner).__name__}: {inner}; fix or uninstall it, or set {AUTOLOAD_ENV}=1")
    return f"loading plugins from the {ENTRY_POINT_GROUP!r} entry points failed: {type(exc).__name__}: {exc}"


_DEFAULT: PluginManager | None = None
_DEFAULT_LOCK = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide manager: built-ins plus installed entry points (unless disabled by the environment)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = PluginManager(entry_points=not os.environ.get(AUTOLOAD_ENV))
        return _DEFAULT


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _function_problem(fn: Function) -> str | None:
    """What is wrong with a plugin's :class:`Function` declaration, found when the plugin is registered rather
    than as an internal error when a policy first calls it: a name conditions cannot write, a parameter or
    result type that is not a :class:`~policy_eval.lang.types.Type` (``"string"`` for ``STRING``), no
    implementation to call."""
    if not isinstance(fn.name, str) or not _NAME.fullmatch(fn.name) or fn.name in KEYWORDS:
        return f"function name {fn.name!r} cannot be called from a condition (a name: letters, digits, '_', " \
               f"not a keyword)"
    if not callable(fn.impl):
        return f"function {fn.name}(): its implementation {fn.impl!r} is not callable"
    if fn.typer is not None:
        return None if callable(fn.typer) else f"function {fn.name}(): its typer {fn.typer!r} is not callable"
    if not isinstance(fn.params, (tuple, list)):
        return f"function {fn.name}(): params must be a tuple of types, got {type(fn.params).__name__}"
    for i, param in enumerate(fn.params, 1):
        if not isinstance(param, Type):
            return (f"function {fn.name}(): parameter {i} is {param!r} ({type(param).__name__}), not a type of "
                    f"policy_eval.lang.types (STRING, INT, MONEY, list_of(...), ...)")
    if not isinstance(fn.result, Type):
        return (f"function {fn.name}(): its result type is {fn.result!r} ({type(fn.result).__name__}), not a type "
                f"of policy_eval.lang.types (STRING, INT, MONEY, list_of(...), ...)")
    return None

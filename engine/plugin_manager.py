"""Plugin discovery and the registries built from plugins.

Built-ins (:mod:`policy_eval.plugins.core`, ``conduct``, ``workdays`` and the
reporters) are registered exactly like third-party plugins; third parties are
found through the ``policy_eval`` entry-point group or named explicitly
(``--plugin module.path``). Policy files never load code.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib import metadata
from typing import Any

import pluggy

from .errors import PluginError
from .functions import Function, FunctionRegistry

__all__ = ["PluginManager", "get_plugin_manager", "BUILTIN_PLUGINS", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "policy_eval"
BUILTIN_PLUGINS = (
    "policy_eval.plugins.core",
    "policy_eval.plugins.conduct",
    "policy_eval.plugins.workdays",
    "policy_eval.plugins.loaders",
    "policy_eval.plugins.reporters",
)


class PluginManager:
    """A pluggy manager plus the typed registries the engine asks for."""

    def __init__(self, *, entry_points: bool = True, extra: Iterable[str] = ()) -> None:
        from .plugins import hookspecs

        self.pm = pluggy.PluginManager("policy_eval")
        self.pm.add_hookspecs(hookspecs)
        for name in BUILTIN_PLUGINS:
            try:
                self.pm.register(importlib.import_module(name), name=name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
        if entry_points:
            try:
                self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            except Exception as exc:  # a broken third-party plugin must not look like our bug
                raise PluginError(f"loading plugins from entry points failed: {exc}") from exc
        for module in extra:
            self.add(module)
        self._functions: FunctionRegistry | None = None

    def add(self, module_or_object: Any, name: str | None = None) -> None:
        """Register a plugin given as a module path or an object."""
        if isinstance(module_or_object, str):
            try:
                obj = importlib.import_module(module_or_object)
            except ImportError as exc:
                raise PluginError(f"cannot import plugin {module_or_object!r}: {exc}") from None
            name = name or module_or_object
        else:
            obj = module_or_object
        if self.pm.is_registered(obj):
            return
        self.pm.register(obj, name=name)
        self._functions = None

    def functions(self) -> FunctionRegistry:
        if self._functions is None:
            registry = FunctionRegistry()
            for impl, batch in zip(self.pm.hook.policy_eval_functions.get_hookimpls()[::-1],
                                   self.pm.hook.policy_eval_functions(), strict=False):
                _ = impl
                for fn in batch:
                    if not isinstance(fn, Function):
                        raise PluginError(f"policy_eval_functions must return Function objects, got {fn!r}")
                    try:
                        registry.add(fn)
                    except ValueError as exc:
                        raise PluginError(str(exc)) from None
            self._functions = registry
        return self._functions

    def reporters(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for batch in self.pm.hook.policy_eval_reporters():
            for name, factory in batch.items():
                found.setdefault(name, factory)
        return found

    def loaders(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for batch in self.pm.hook.policy_eval_case_loaders():
            for name, loader in batch.items():
                found.setdefault(name, loader)
        return found

    def enrichers(self) -> list[Any]:
        out: list[Any] = []
        for batch in self.pm.hook.policy_eval_enrichers():
            out.extend(batch)
        return out

    def describe(self) -> list[dict[str, str]]:
        rows = []
        dists = {}
        for dist, ep_list in _entry_point_dists().items():
            for ep in ep_list:
                dists[ep] = dist
        for name, plugin in self.pm.list_name_plugin():
            module = getattr(plugin, "__name__", type(plugin).__name__)
            dist = self.pm.get_plugin_distinfo() if False else None
            version = "builtin" if module.startswith("policy_eval.") else ""
            for d in self.pm.list_plugin_distinfo():
                if d[0] is plugin:
                    version = f"{d[1].project_name} {d[1].version}"
            rows.append({"name": name, "module": module, "version": version or (dist or "")})
        return rows


def _entry_point_dists() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        out.setdefault(ep.dist.name if ep.dist else "", []).append(ep.name)
    return out


_DEFAULT: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide manager (built-ins plus installed entry points)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PluginManager()
    return _DEFAULT

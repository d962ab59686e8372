"""The one typed registry of plugins, keyed by `type` (and its aliases).

Types resolve only through this static dict: nothing is ever imported from a type string found
in a flow (RELIABILITY.md §4 #7). Discovery imports the packages under `plugins/` and the modules
named by the `weir.plugins` entry-point group, and reads their `PLUGINS` lists.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import pkgutil
import threading
from collections.abc import Iterable
from importlib.metadata import entry_points

from apps.plugins.sdk import Plugin, PluginKind

log = logging.getLogger(__name__)


class DuplicatePlugin(Exception):
    """Two plugins claim the same type or alias."""


class Registry:
    """Plugins by canonical type; aliases map to canonical types."""

    def __init__(self) -> None:
        self._plugins: dict[str, type[Plugin]] = {}
        self._aliases: dict[str, str] = {}
        self.load_errors: list[str] = []
        self._loaded = False
        self._lock = threading.Lock()

    def register(self, plugin: type[Plugin]) -> type[Plugin]:
        """Add a plugin; raises `DuplicatePlugin` if its type or an alias is taken."""
        for name in (plugin.type, *plugin.aliases):
            if name in self._plugins or name in self._aliases:
                raise DuplicatePlugin(f"plugin type {name!r} is already registered")
        self._plugins[plugin.type] = plugin
        for alias in plugin.aliases:
            self._aliases[alias] = plugin.type
        return plugin

    def get(self, type_name: str) -> type[Plugin] | None:
        """The plugin for a type or alias, or None."""
        self.ensure_loaded()
        plugin = self._plugins.get(type_name)
        if plugin is None and type_name in self._aliases:
            plugin = self._plugins[self._aliases[type_name]]
        return plugin

    def canonical(self, type_name: str) -> str | None:
        plugin = self.get(type_name)
        return plugin.type if plugin else None

    def all(self, kind: PluginKind | None = None) -> list[type[Plugin]]:
        self.ensure_loaded()
        return sorted(
            (p for p in self._plugins.values() if kind is None or p.kind == kind), key=lambda p: p.type
        )

    def names(self, kinds: Iterable[PluginKind] | None = None) -> list[str]:
        """Every type and alias of the given kinds."""
        self.ensure_loaded()
        wanted = set(kinds) if kinds is not None else None
        out = [t for t, p in self._plugins.items() if wanted is None or p.kind in wanted]
        out += [a for a, t in self._aliases.items() if wanted is None or self._plugins[t].kind in wanted]
        return out

    def suggest(self, type_name: str, kinds: Iterable[PluginKind] | None = None, n: int = 3) -> list[str]:
        """Near matches for an unknown type: on the whole name, then on its last segment."""
        candidates = [t for t in self.names(kinds) if t in self._plugins]
        close = difflib.get_close_matches(type_name, candidates, n=n, cutoff=0.75)
        if not close:
            short = type_name.rsplit(".", 1)[-1].lower()
            by_short = {c.rsplit(".", 1)[-1].lower(): c for c in candidates}
            close = [by_short[m] for m in difflib.get_close_matches(short, list(by_short), n=n, cutoff=0.7)]
        return close

    def mistaken(self, type_name: str) -> str | None:
        """What to use instead of a type no Kestra version has (a tutorial's invention)."""
        from apps.plugins.families import MISTAKES

        return MISTAKES.get(type_name)

    def missing_family(self, type_name: str) -> str | None:
        """The Kestra plugin family an unknown type belongs to, when Weir provides none of it."""
        from apps.plugins.families import missing_family

        return missing_family(type_name, self.names())

    def ensure_loaded(self) -> None:
        """Run discovery once per process (thread-safe)."""
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self.load_errors = discover(self)


def _register_module(reg: Registry, module_name: str) -> None:
    module = importlib.import_module(module_name)
    plugins = getattr(module, "PLUGINS", None)
    if plugins is None:
        raise ImportError(f"{module_name} has no PLUGINS list")
    for plugin in plugins:
        reg.register(plugin)


def discover(reg: Registry) -> list[str]:
    """Import every plugin package; return one message per package that failed (never raise)."""
    errors: list[str] = []
    import plugins as plugins_pkg

    for info in sorted(pkgutil.iter_modules(plugins_pkg.__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        name = f"plugins.{info.name}"
        try:
            _register_module(reg, name)
        except Exception as exc:  # a broken plugin is reported, not fatal
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            log.warning("plugin package %s failed to load: %s", name, exc)
    for ep in entry_points(group="weir.plugins"):
        try:
            _register_module(reg, ep.value)
        except Exception as exc:
            errors.append(f"entry point {ep.name} ({ep.value}): {type(exc).__name__}: {exc}")
    return errors


registry = Registry()

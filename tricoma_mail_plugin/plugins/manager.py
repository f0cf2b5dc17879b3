"""The plugin manager: built-in plugins, entry-point plugins, and hook calls through the enabled
subset.

Every plugin stays registered for the life of the app. Which plugins are switched off is data
(:class:`PluginState` rows), read when a hook is called, so a toggle in one process is seen by
every other process at its next request.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Iterable

import pluggy

from .. import hookspecs
from ..errors import SendVetoed

log = logging.getLogger(__name__)

ENTRYPOINT_GROUP = "tricoma_mail"
HOOK_PREFIX = "tricoma_mail_"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "tricoma_mail_plugin.plugins.defaults.folder_rules",
    "tricoma_mail_plugin.plugins.defaults.core_rights",
    "tricoma_mail_plugin.web.core_pages_plugin",
    "tricoma_mail_plugin.plugins.defaults.reply_links",
    "tricoma_mail_plugin.plugins.defaults.refused_recipients",
    "tricoma_mail_plugin.web.app_compose_plugin",
    "tricoma_mail_plugin.web.mail_client_plugin",
    "tricoma_mail_plugin.web.team_plugin",
    "tricoma_mail_plugin.web.team_notes_plugin",
    "tricoma_mail_plugin.web.tags_plugin",
)

# Errors that a hook raises on purpose and that must reach the caller.
DELIBERATE_ERRORS: tuple[type[BaseException], ...] = (SendVetoed,)


@dataclass(frozen=True)
class PluginInfo:
    """What the admin's plugin page shows about one plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool
    broken: str | None = None  # the import error of a plugin that failed to load
    summary: str | None = None  # what it does: its distribution's summary, else its docstring's first paragraph

    @property
    def switchable(self) -> bool:
        return not self.builtin and self.broken is None


@dataclass
class HookFailure:
    """One exception a plugin's hook raised, handed to the failure recorder."""

    plugin: str
    hook: str
    error: BaseException
    formatted: str = field(repr=False, default="")


def make_plugin_manager(
    load_entrypoints: bool, extra_plugins: Iterable[str] = ()
) -> tuple[pluggy.PluginManager, dict[str, PluginInfo]]:
    """Build a new plugin manager with core's hookspecs, the built-in plugins, the plugins named
    in ``extra_plugins`` and, if asked, every entry point of group ``tricoma_mail``.

    Returns the manager and a :class:`PluginInfo` per plugin name, including plugins that
    failed to import (those are listed as broken and not registered).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for dotted in DEFAULT_PLUGINS:
        module = importlib.import_module(dotted)
        pm.register(module, name=dotted)
        infos[dotted] = _info(pm, dotted, module, None, builtin=True)
    for dotted in extra_plugins:
        module = importlib.import_module(dotted)
        pm.register(module, name=dotted)
        infos[dotted] = _info(pm, dotted, module, None, builtin=False)
    if load_entrypoints:
        for entry_point in importlib.metadata.entry_points(group=ENTRYPOINT_GROUP):
            infos[entry_point.name] = _load_entry_point(pm, entry_point)
    return pm, infos


def _load_entry_point(pm: pluggy.PluginManager, entry_point) -> PluginInfo:
    dist = entry_point.dist
    dist_name = dist.metadata["Name"] if dist else None
    version = dist.version if dist else None
    try:
        module = entry_point.load()
        pm.register(module, name=entry_point.name)
    except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the app
        log.exception("plugin %s failed to load", entry_point.name)
        return PluginInfo(
            entry_point.name, dist_name, version, (), builtin=False, broken=_one_line(error),
            summary=_summary(None, dist),
        )
    return _info(pm, entry_point.name, module, dist, builtin=False)


def _info(pm, name: str, module: ModuleType, dist, builtin: bool) -> PluginInfo:
    hooks = tuple(
        sorted(caller.name.removeprefix(HOOK_PREFIX) for caller in pm.get_hookcallers(module) or ())
    )
    distribution = dist.metadata["Name"] if dist else None
    version = dist.version if dist else getattr(module, "__version__", None)
    summary = None if builtin else _summary(module, dist)
    return PluginInfo(name, distribution, version, hooks, builtin, summary=summary)


def _summary(module: ModuleType | None, dist) -> str | None:
    """The distribution's one-line description, else the first paragraph of the module's
    docstring on one line (a plugin module that is not installed as a distribution)."""
    summary = dist.metadata.get("Summary") if dist else None
    if summary == "UNKNOWN":  # what older setuptools write for a distribution without one
        summary = None
    if not summary and module is not None and module.__doc__:
        summary = " ".join(module.__doc__.strip().split("\n\n")[0].split())
    return summary or None


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0][:500]


class HookCaller:
    """Calls hooks of the enabled plugins, one implementation at a time, isolating failures.

    ``disabled_names`` returns the names of the plugins switched off right now; ``on_failure``
    records a hook that raised. Both are supplied by the extension, which knows the database.
    """

    def __init__(
        self,
        pm: pluggy.PluginManager,
        disabled_names: Callable[[], frozenset[str]],
        on_failure: Callable[[HookFailure], None],
    ) -> None:
        self._pm = pm
        self._disabled_names = disabled_names
        self._on_failure = on_failure

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call hook ``tricoma_mail_<hook_name>`` with ``kwargs`` on every enabled plugin.

        Returns the list of non-``None`` results (in pluggy's call order) for collecting hooks,
        or the first non-``None`` result (or ``None``) for ``firstresult`` hooks.
        """
        caller = getattr(self._pm.hook, HOOK_PREFIX + hook_name)
        firstresult = bool(caller.spec and caller.spec.opts.get("firstresult"))
        disabled = self._disabled_names()
        results = []
        # get_hookimpls() lists implementations in reverse call order.
        for impl in reversed(caller.get_hookimpls()):
            if impl.plugin_name in disabled:
                continue
            try:
                result = impl.function(*(kwargs[arg] for arg in impl.argnames))
            except DELIBERATE_ERRORS:
                raise
            except Exception as error:  # noqa: BLE001 - isolation is the point
                log.exception("plugin %s failed in hook %s", impl.plugin_name, hook_name)
                self._on_failure(
                    HookFailure(impl.plugin_name, hook_name, error, traceback.format_exc())
                )
                continue
            if result is None:
                continue
            if firstresult:
                return result
            results.append(result)
        return None if firstresult else results

    def implemented(self, hook_name: str) -> bool:
        """Whether an enabled plugin implements ``tricoma_mail_<hook_name>``: a caller with a
        costly argument to build (one per synced message, say) can skip building it."""
        disabled = self._disabled_names()
        caller = getattr(self._pm.hook, HOOK_PREFIX + hook_name)
        return any(impl.plugin_name not in disabled for impl in caller.get_hookimpls())

    def collect(self, hook_name: str, **kwargs: Any) -> list:
        """Call a collecting hook whose implementations return lists, and flatten them."""
        return [item for result in self.call(hook_name, **kwargs) for item in result]

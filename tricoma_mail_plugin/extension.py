"""The Flask extension: ``TricomaMail(db).init_app(app)``.

All state of one app lives in ``app.extensions["tricoma_mail"]`` (a :class:`MailState`); the
extension object itself holds only the database handle, so one extension can serve several apps.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, replace

from flask import Blueprint, Flask, abort, current_app, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFProtect

from . import config
from ._i18n import use_translator
from ._state import EXTENSION_KEY, mail_state
from .cli import mail_cli
from .jobs.background import start_background_work
from .models import Base
from .plugins.manager import HookCaller, PluginInfo, make_plugin_manager
from .plugins.state import PluginStateStore
from .rights.directory import EmptyDirectory
from .sending import flask_mail_bridge
from .team import tables as _team_tables  # noqa: F401 - team mail's tables join core's metadata

log = logging.getLogger(__name__)

_BACKGROUND_LOCK = threading.Lock()
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass
class MailState:
    """Everything the extension keeps for one app."""

    db: object
    plugin_manager: object
    plugins: dict[str, PluginInfo]
    hooks: HookCaller
    plugin_states: PluginStateStore
    blueprint_owners: dict[str, str]  # blueprint name -> plugin name
    directory: object = None
    migration_sets: list = field(default_factory=list)
    background: list | None = None  # the background threads, started at the first request

    def is_enabled(self, plugin_name: str) -> bool:
        return plugin_name not in self.plugin_states.disabled_names()


class TricomaMail:
    """The tricoma mail Flask extension.

    ``db`` is the host's Flask-SQLAlchemy object; core's tables use its engine and session.
    ``directory`` tells core the host's users and groups (see :mod:`directory`).
    """

    def __init__(self, db, app: Flask | None = None, directory=None) -> None:
        self.db = db
        self.directory = directory or EmptyDirectory()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("tricoma mail is already initialised on this app")
        config.apply_defaults(app.config)
        use_translator(gettext)
        plugin_manager, plugins = make_plugin_manager(
            load_entrypoints=app.config["TRICOMA_MAIL_LOAD_ENTRYPOINTS"],
            extra_plugins=app.config["TRICOMA_MAIL_EXTRA_PLUGINS"],
        )
        store = PluginStateStore(self.db, app.config["TRICOMA_MAIL_PLUGIN_ERRORS_KEPT"])
        state = MailState(
            db=self.db,
            plugin_manager=plugin_manager,
            plugins=plugins,
            hooks=HookCaller(plugin_manager, store.disabled_names, store.record_failure),
            plugin_states=store,
            blueprint_owners={},
            directory=self.directory,
        )
        app.extensions[EXTENSION_KEY] = state
        if "csrf" not in app.extensions:
            CSRFProtect(app)
        _add_translations(app, os.path.join(PACKAGE_DIR, "translations"))
        _register_blueprints(app, state)
        state.migration_sets = _collect_migration_sets(state)
        app.before_request(_refuse_disabled_plugin_pages)
        app.before_request(_start_background_work)
        app.cli.add_command(mail_cli)
        app.context_processor(_template_globals)
        # The host's Flask-Mail, if it has one, sends through the outbox from now on.
        flask_mail_bridge.install(app)



def _add_translations(app: Flask, directory: str) -> None:
    babel = app.extensions.get("babel")
    if babel is not None:
        babel.translation_directories.append(directory)
    else:
        existing = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations")
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = f"{existing};{directory}"


def _register_blueprints(app: Flask, state: MailState) -> None:
    """Register every plugin's blueprints, enabled or not; Flask cannot add routes later."""
    caller = state.plugin_manager.hook.tricoma_mail_register_blueprints
    for impl in caller.get_hookimpls():
        try:
            blueprints = list(impl.function() or ())
            if not all(isinstance(blueprint, Blueprint) for blueprint in blueprints):
                raise TypeError("register_blueprints must return Blueprint objects")
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the app
            log.exception("plugin %s failed to register its blueprints", impl.plugin_name)
            state.plugins[impl.plugin_name] = replace(
                state.plugins[impl.plugin_name], broken=f"{type(error).__name__}: {error}"[:500]
            )
            # A broken plugin takes no further part: none of its hooks is called.
            state.plugin_manager.unregister(name=impl.plugin_name)
            continue
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
            state.blueprint_owners[blueprint.name] = impl.plugin_name


@dataclass(frozen=True)
class MigrationSet:
    """A plugin's tables (``metadata``) and the folder of its Alembic versions."""

    metadata: object
    versions_directory: str


def _collect_migration_sets(state: MailState) -> list[MigrationSet]:
    """Every installed plugin's migration sets, enabled or not: switching a plugin off keeps
    its tables."""
    sets = []
    for impl in state.plugin_manager.hook.tricoma_mail_register_migrations.get_hookimpls():
        try:
            sets.extend(impl.function() or ())
        except Exception:  # noqa: BLE001 - a broken plugin must not stop the app
            log.exception("plugin %s failed to register its migrations", impl.plugin_name)
    return sets


def _refuse_disabled_plugin_pages():
    state = current_app.extensions[EXTENSION_KEY]
    for name in request.blueprints:
        owner = state.blueprint_owners.get(name)
        if owner is not None and not state.is_enabled(owner):
            abort(404)
    return None


def _start_background_work() -> None:
    """Start the in-process background work once, in the process that serves requests (not in
    CLI commands, and not in tests, where TESTING is set)."""
    state = current_app.extensions[EXTENSION_KEY]
    if state.background is not None or current_app.testing:
        return
    with _BACKGROUND_LOCK:
        if state.background is None:
            state.background = start_background_work(current_app._get_current_object())


def _template_globals() -> dict:
    return {"tricoma_mail_base_template": current_app.config["TRICOMA_MAIL_BASE_TEMPLATE"]}


def migration_metadata() -> list:
    """The table metadata of core and of every plugin with tables, for the host's Alembic
    environment: list it beside the host's own metadata as ``target_metadata``."""
    return [Base.metadata, *(migration_set.metadata for migration_set in mail_state().migration_sets)]


UNMANAGED_TABLE_PREFIXES = ("tricoma_mail_fts", "tricoma_mail_search", "tricoma_mail_cache_version")


def migration_include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's ``include_object``: leave out the full-text tables, which the migrations
    create per database dialect and the models do not describe, and the cache versions
    (``cache_versions.py``), kept out of the models so that emptying every table leaves them."""
    return not (type_ == "table" and name and name.startswith(UNMANAGED_TABLE_PREFIXES))


def migration_directories() -> list[str]:
    """The Alembic version folders of core and of every plugin with tables (each with its own
    branch label), for the host's ``version_locations``. Upgrade to ``heads`` to apply them all."""
    return [os.path.join(PACKAGE_DIR, "migrations", "versions"),
            *(migration_set.versions_directory for migration_set in mail_state().migration_sets)]

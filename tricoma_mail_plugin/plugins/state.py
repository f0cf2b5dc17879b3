"""Plugin on/off state and hook failures, kept in the database so every process sees them."""
from __future__ import annotations

import logging
import time

from flask import g, has_app_context, has_request_context
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from ..cache_versions import forget_versions, versioned_cache
from ..models import PluginFailure, PluginState, utcnow
from .manager import HookFailure

log = logging.getLogger(__name__)

_REQUEST_CACHE = "_tricoma_mail_disabled_plugins"
_JOB_CACHE_SECONDS = 1.0
_DISABLED = select(PluginState.name).where(PluginState.enabled.is_(False))


class PluginStateStore:
    """Reads and writes :class:`PluginState` and :class:`PluginFailure` rows through ``db``."""

    def __init__(self, db, failures_kept: int) -> None:
        self._db = db
        self._failures_kept = failures_kept

    def disabled_names(self) -> frozenset[str]:
        """Names of the plugins switched off: once per request; outside a request (jobs, CLI)
        at most once a second, so a sync calling a hook per message does not query per message
        and still sees a toggle within a second. Each process remembers the answer under the
        version of the plugin states (``cache_versions``): a request asks only the versions,
        which a toggle in any process moves."""
        if has_app_context() and _REQUEST_CACHE in g:
            read_at, names = g.get(_REQUEST_CACHE)
            if has_request_context() or time.monotonic() - read_at < _JOB_CACHE_SECONDS:
                return names
        if has_app_context():
            names = versioned_cache().get_or_load("plugins", "disabled", self._read_disabled)
            setattr(g, _REQUEST_CACHE, (time.monotonic(), names))
            return names
        return self._read_disabled()

    def _read_disabled(self) -> frozenset[str]:
        return frozenset(self._db.session.execute(_DISABLED).scalars())

    def set_enabled(self, name: str, enabled: bool, changed_by: str | None) -> None:
        state = self._db.session.get(PluginState, name) or PluginState(name=name)
        state.enabled = enabled
        state.changed_at = utcnow()
        state.changed_by = changed_by
        self._db.session.add(state)
        self._db.session.commit()
        forget_versions()
        if has_request_context():
            g.pop(_REQUEST_CACHE, None)

    def record_failure(self, failure: HookFailure) -> None:
        """Store a hook failure on its own connection, so the caller's transaction is untouched."""
        message = f"{type(failure.error).__name__}: {failure.error}".splitlines()[0][:500]
        try:
            with self._db.engine.begin() as connection:
                connection.execute(
                    insert(PluginFailure).values(
                        plugin=failure.plugin,
                        hook=failure.hook,
                        message=message,
                        traceback=failure.formatted[-10000:],
                        occurred_at=utcnow(),
                    )
                )
                keep = (
                    select(PluginFailure.id)
                    .where(PluginFailure.plugin == failure.plugin)
                    .order_by(PluginFailure.id.desc())
                    .limit(self._failures_kept)
                )
                connection.execute(
                    delete(PluginFailure).where(
                        PluginFailure.plugin == failure.plugin,
                        PluginFailure.id.not_in(keep.scalar_subquery()),
                    )
                )
        except SQLAlchemyError:
            log.exception("could not record the failure of plugin %s", failure.plugin)

    def recent_failures(self, plugin: str, limit: int = 5) -> list[PluginFailure]:
        rows = self._db.session.execute(
            select(PluginFailure)
            .where(PluginFailure.plugin == plugin)
            .order_by(PluginFailure.id.desc())
            .limit(limit)
        )
        return list(rows.scalars())

"""Core's tables. They live on the host's database (through the ``db`` handed to
:class:`TricomaMail`) but on core's own metadata, so the host's migrations include them by
listing :data:`Base.metadata` and core never needs the host's model classes.

Every table name starts with ``tricoma_mail_``.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PluginState(Base):
    """Whether an installed plugin is switched on. No row means on."""

    __tablename__ = "tricoma_mail_plugin_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(200))


class PluginFailure(Base):
    """A hook of a plugin raised; kept for the admin's plugin page."""

    __tablename__ = "tricoma_mail_plugin_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(200), index=True)
    hook: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(500))
    traceback: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

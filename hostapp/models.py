"""The host's own tables: users, groups, the failed-login throttle and the login sessions. Names
start with ``hostapp_``."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    delete,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


group_members = Table(
    "hostapp_group_member",
    db.metadata,
    Column("group_id", ForeignKey("hostapp_group.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("hostapp_user.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "hostapp_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    groups: Mapped[list["Group"]] = relationship(
        secondary=group_members, back_populates="members", order_by="Group.name"
    )

    def set_password(self, password: str) -> None:
        """Set a new password. Every login session of an existing user ends with it (committed
        with the password): whoever knew the old one is signed out everywhere."""
        method = current_app.config["HOSTAPP_PASSWORD_HASH_METHOD"]
        self.password_hash = generate_password_hash(password, method=method)
        if self.id is not None:
            db.session.execute(delete(LoginSession).where(LoginSession.user_id == self.id))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def group_ids(self) -> frozenset[int]:
        """The ids of the user's groups: what tricoma mail's rights are granted to."""
        # The request's login query reads the ids with the user (login_sessions.py); once the
        # groups themselves are loaded or assigned, or the user is expired by a commit, they answer.
        read = self.__dict__.get(_GROUP_IDS_READ)
        if read is not None and "groups" not in self.__dict__:
            return read
        return frozenset(group.id for group in self.groups)

    def keep_group_ids_read(self, group_ids: frozenset[int]) -> None:
        """Remember ``group_ids`` as read with this user (until the user is expired)."""
        self.__dict__[_GROUP_IDS_READ] = group_ids

    @property
    def name(self) -> str:
        return self.display_name or self.username


_GROUP_IDS_READ = "_hostapp_group_ids_read"


@event.listens_for(User, "expire")
def _forget_group_ids_read(user: User, attributes) -> None:
    user.__dict__.pop(_GROUP_IDS_READ, None)


class Group(db.Model):
    __tablename__ = "hostapp_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    members: Mapped[list[User]] = relationship(
        secondary=group_members, back_populates="groups", order_by=User.username
    )


class LoginThrottle(db.Model):
    """Failed logins per key (see :mod:`hostapp.login_throttle`), when the last one came and
    until when the key waits."""

    __tablename__ = "hostapp_login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class LoginSession(db.Model):
    """A signed-in browser, known to the server: ending the row ends the session at once
    (see :mod:`hostapp.login_sessions`). Only a hash of the session's token is stored."""

    __tablename__ = "hostapp_login_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hostapp_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

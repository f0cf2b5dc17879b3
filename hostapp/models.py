"""The host's own tables: users, groups and the failed-login throttle. Names start with ``hostapp_``."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table
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
        method = current_app.config["HOSTAPP_PASSWORD_HASH_METHOD"]
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def group_ids(self) -> frozenset[int]:
        """The ids of the user's groups: what tricoma mail's rights are granted to."""
        return frozenset(group.id for group in self.groups)

    @property
    def name(self) -> str:
        return self.display_name or self.username


class Group(db.Model):
    __tablename__ = "hostapp_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    members: Mapped[list[User]] = relationship(
        secondary=group_members, back_populates="groups", order_by=User.username
    )


class LoginThrottle(db.Model):
    """Failed logins per key (a user name or a client address) and until when the key waits."""

    __tablename__ = "hostapp_login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

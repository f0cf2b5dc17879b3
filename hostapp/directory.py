"""The host's users and groups as tricoma mail sees them (its ``Directory``)."""
from __future__ import annotations

from sqlalchemy import func, select

from tricoma_mail_plugin import Principal

from .extensions import db
from .models import Group, User


def _user(user: User) -> Principal:
    return Principal("user", str(user.id), user.username, user.name)


def _group(group: Group) -> Principal:
    return Principal("group", str(group.id), group.name, group.name)


class HostDirectory:
    def users(self) -> list[Principal]:
        return [_user(u) for u in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))]

    def groups(self) -> list[Principal]:
        return [_group(g) for g in db.session.scalars(select(Group).order_by(Group.name))]

    def find(self, kind: str, key: str) -> Principal | None:
        model, name_column, make = (User, User.username, _user) if kind == "user" else (Group, Group.name, _group)
        key = str(key)
        found = db.session.get(model, int(key)) if key.isdigit() and len(key) < 18 else None
        if found is None:
            found = db.session.scalar(select(model).where(func.lower(name_column) == key.lower()))
        return make(found) if found is not None else None

    def load_user(self, user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if str(user_id).isdigit() else None

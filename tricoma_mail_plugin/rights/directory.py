"""What core needs to know about the host's users and groups: their ids and names.

The host hands a :class:`Directory` to the extension (``TricomaMail(db, directory=…)``); core
never imports the host's models. Rights are granted to principals by id.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class Principal:
    """A user or a group of the host."""

    kind: str  # "user" or "group"
    id: str
    name: str  # the login or group name
    label: str  # what to show (a user's full name)


class Directory(Protocol):
    def users(self) -> list[Principal]:
        """Every active user, by name."""

    def groups(self) -> list[Principal]:
        """Every group, by name."""

    def find(self, kind: str, key: str) -> Principal | None:
        """A user or group by id or by name, or ``None``."""

    def load_user(self, user_id: str):
        """The host's user object (with ``get_id()``, ``is_admin``, ``group_ids``) or ``None``."""


class EmptyDirectory:
    """The directory of a host that tells nothing: no users, no groups."""

    def users(self) -> list[Principal]:
        return []

    def groups(self) -> list[Principal]:
        return []

    def find(self, kind: str, key: str) -> Principal | None:
        return None

    def load_user(self, user_id: str):
        return None


def directory() -> Directory:
    return current_app.extensions["tricoma_mail"].directory


def resolve_principal(kind: str, key: str) -> Principal | None:
    if kind not in ("user", "group"):
        return None
    return directory().find(kind, key)

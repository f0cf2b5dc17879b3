"""Folders of one mailbox on its server: list, resolve roles (Sent, Trash…), map, create,
rename, delete. Names are validated here, so nothing can smuggle a line break or a wildcard into
an IMAP command."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from .._state import all_or_nothing, mail_state
from ..errors import FolderNotFound, InvalidSettings
from ..models import Mailbox
from .backend import MailboxBackend
from .folders import ROLES, Folder, FolderMapping, resolve_folder
from .service import backend_for

DEFAULT_NAMES = {"sent": "Sent", "trash": "Trash", "drafts": "Drafts", "junk": "Junk", "archive": "Archive"}
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f*%]")


@dataclass(frozen=True)
class RoleResolution:
    role: str
    folder: str | None
    chosen_by_admin: bool


def validate_folder_name(name: str, delimiter: str | None = None) -> str:
    """A folder name safe to send: no control characters, no wildcards, not empty, not too long."""
    name = (name or "").strip()
    if not name:
        raise InvalidSettings(_("Enter a folder name."), field="name")
    if _FORBIDDEN.search(name) or len(name) > 500:
        raise InvalidSettings(
            _("A folder name must not contain line breaks, control characters, * or %."), field="name")
    if delimiter and (name.startswith(delimiter) or name.endswith(delimiter) or delimiter * 2 in name):
        raise InvalidSettings(_("The folder name has an empty part."), field="name")
    return name


def personal_prefix(folders: list[Folder]) -> str:
    """``"INBOX."`` when the server keeps every folder below INBOX (Courier style), else ``""``."""
    others = [folder for folder in folders if folder.name.upper() != "INBOX"]
    if not others:
        return ""
    delimiter = others[0].delimiter or ""
    prefix = f"INBOX{delimiter}"
    if delimiter and all(folder.name.upper().startswith(prefix.upper()) for folder in others):
        return prefix
    return ""


def resolve_roles(mailbox: Mailbox, folders: list[Folder]) -> list[RoleResolution]:
    mapping = FolderMapping.of(mailbox)
    return [RoleResolution(role, resolve_folder(mailbox, role, folders), mapping.get(role) is not None)
            for role in ROLES]


def folder_for_role(mailbox: Mailbox, backend: MailboxBackend, role: str, create: bool = True) -> str:
    """The server folder for ``role``; created (and subscribed) when nothing resolves."""
    folders = backend.list_folders()
    name = resolve_folder(mailbox, role, folders)
    if name is not None:
        return name
    if not create:
        raise FolderNotFound()
    name = personal_prefix(folders) + DEFAULT_NAMES[role]
    backend.create_folder(name)
    return name


def set_mapping(mailbox: Mailbox, choices: dict[str, str | None], folders: list[Folder]) -> None:
    """Store the admin's choice per role (``None`` or ``""``: detect automatically). Commits."""
    known = {folder.name for folder in folders}
    mapping = dict(mailbox.folder_roles or {})
    for role, name in choices.items():
        if role not in ROLES:
            raise InvalidSettings(_("Unknown folder role."), field=role)
        if not name:
            mapping.pop(role, None)
        elif name not in known:
            raise InvalidSettings(_("The folder %(name)s does not exist.", name=name), field=role)
        else:
            mapping[role] = name
    mailbox.folder_roles = mapping
    mail_state().db.session.commit()


def create_folder(backend: MailboxBackend, name: str, parent: str | None = None) -> str:
    folders = backend.list_folders()
    delimiter = next((f.delimiter for f in folders if f.delimiter), "/")
    name = validate_folder_name(name)
    if delimiter in name:
        raise InvalidSettings(_("A folder name must not contain %(delimiter)s.", delimiter=delimiter), field="name")
    if parent:
        if parent not in {f.name for f in folders}:
            raise FolderNotFound()
        full = f"{parent}{delimiter}{name}"
    else:
        full = personal_prefix(folders) + name
    if full in {f.name for f in folders}:
        raise InvalidSettings(_("A folder of that name exists already."), field="name")
    backend.create_folder(full)
    return full


def rename_folder(mailbox: Mailbox, backend: MailboxBackend, old: str, new_leaf: str) -> str:
    """Rename a folder (not INBOX); a role mapped to it follows it to the new name."""
    folders = {f.name: f for f in backend.list_folders()}
    folder = folders.get(old)
    if folder is None:
        raise FolderNotFound()
    if old.upper() == "INBOX":
        raise InvalidSettings(_("The inbox cannot be renamed."), field="name")
    delimiter = folder.delimiter or ""
    leaf = validate_folder_name(new_leaf)
    if delimiter and delimiter in leaf:
        raise InvalidSettings(_("A folder name must not contain %(delimiter)s.", delimiter=delimiter), field="name")
    parent = old.rsplit(delimiter, 1)[0] + delimiter if delimiter and delimiter in old else ""
    new = parent + leaf
    if new in folders:
        raise InvalidSettings(_("A folder of that name exists already."), field="name")
    backend.rename_folder(old, new)
    mapping = dict(mailbox.folder_roles or {})
    if old in mapping.values():
        mailbox.folder_roles = {role: (new if name == old else name) for role, name in mapping.items()}
        mail_state().db.session.commit()
    return new


def delete_folder(mailbox: Mailbox, backend: MailboxBackend, name: str) -> list[str]:
    """Delete a folder that plays no role, as Thunderbird does. One that holds mail or subfolders
    goes into the Trash with them (deleting moves to Trash, always): returns the names it and its
    subfolders have there, its own first. One in the Trash, or an empty one, is deleted, its
    subfolders first (a server deletes a parent only in name while it has children: it stays
    listed, unselectable): returns ``[]``."""
    folders = backend.list_folders(with_counts=True)
    folder = next((f for f in folders if f.name == name), None)
    if folder is None:
        raise FolderNotFound()
    roles = resolve_roles(mailbox, folders)
    in_use = {r.folder for r in roles if r.folder}
    delimiter = folder.delimiter or ""
    inside = [f for f in folders if delimiter and f.name.startswith(name + delimiter)]
    if name.upper() == "INBOX" or name in in_use or any(f.name in in_use for f in inside):
        raise InvalidSettings(_("This folder is in use (inbox, Sent, Trash…) and cannot be deleted."), field="name")
    trash = next((r.folder for r in roles if r.role == "trash" and r.folder), None)
    in_trash = trash is not None and delimiter != "" and name.startswith(trash + delimiter)
    if (folder.messages or inside) and not in_trash:
        if trash is None or not delimiter:
            raise InvalidSettings(_("Move or delete the mail in this folder first."), field="name")
        target = _free_name(trash + delimiter + name.rsplit(delimiter, 1)[-1], {f.name for f in folders})
        backend.rename_folder(name, target)  # the server renames the subfolders with it
        return [target] + [target + f.name[len(name):] for f in inside]
    for inner in sorted(inside, key=lambda f: f.name.count(delimiter), reverse=True):
        backend.delete_folder(inner.name)
    backend.delete_folder(name)
    return []


def _free_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or with " 2", " 3"… when a folder of that name exists (a second "Projekte"
    deleted into the Trash)."""
    name, number = wanted, 1
    while name in taken:
        number += 1
        name = f"{wanted} {number}"
    return name


# -- the folder page's operations: each opens the server, does one thing, keeps nothing half-done


@dataclass(frozen=True)
class FolderOverview:
    """A mailbox's folders on the server (with counts), the folder each role resolves to, and
    the admin's mapping."""

    folders: list[Folder]
    roles: list[RoleResolution]
    mapping: FolderMapping


def folder_overview(mailbox: Mailbox) -> FolderOverview:
    with backend_for(mailbox) as backend:
        listed = backend.list_folders(with_counts=True)
    return FolderOverview(listed, resolve_roles(mailbox, listed), FolderMapping.of(mailbox))


def map_roles(mailbox: Mailbox, choices: dict[str, str | None]) -> None:
    """Store the admin's folder per role, checked against the server's folder list."""
    with all_or_nothing(), backend_for(mailbox) as backend:
        set_mapping(mailbox, choices, backend.list_folders())


def create_folder_in(mailbox: Mailbox, name: str, parent: str | None = None) -> str:
    with all_or_nothing(), backend_for(mailbox) as backend:
        return create_folder(backend, name, parent)


def rename_folder_in(mailbox: Mailbox, old: str, new_leaf: str) -> str:
    with all_or_nothing(), backend_for(mailbox) as backend:
        return rename_folder(mailbox, backend, old, new_leaf)


def delete_folder_in(mailbox: Mailbox, name: str, confirmed: bool) -> list[str]:
    """:func:`delete_folder` once confirmed: the names in the Trash, or ``[]``."""
    if not confirmed:
        raise InvalidSettings(_("Tick the box to confirm that the folder is to be deleted."), field="confirm")
    with all_or_nothing(), backend_for(mailbox) as backend:
        return delete_folder(mailbox, backend, name)

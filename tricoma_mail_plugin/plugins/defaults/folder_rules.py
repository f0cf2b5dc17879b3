"""Core's folder rules, asked last: SPECIAL-USE, then well-known names. (The admin's mapping is
not a rule: :func:`resolve_folder` applies it before any plugin is asked.)"""
from __future__ import annotations

from ...hookspecs import hookimpl
from ...mailboxes.folders import (
    SPECIAL_USE_BY_ROLE,
    WELL_KNOWN_NAMES,
    Folder,
    name_below_namespace,
)


@hookimpl(trylast=True)
def tricoma_mail_resolve_folder(mailbox, role, folders):
    selectable = [folder for folder in folders if folder.selectable]
    return _by_special_use(role, selectable) or _by_well_known_name(role, selectable)


def _by_special_use(role: str, folders: list[Folder]) -> str | None:
    wanted = SPECIAL_USE_BY_ROLE[role].lower()
    for folder in folders:
        flags = {flag.lower() for flag in folder.flags}
        if (folder.special_use or "").lower() == wanted or wanted in flags:
            return folder.name
    return None


def _by_well_known_name(role: str, folders: list[Folder]) -> str | None:
    short_names: dict[str, Folder] = {}
    for folder in sorted(folders, key=lambda f: f.name.count(f.delimiter or "\0")):
        short_names.setdefault(name_below_namespace(folder).casefold(), folder)
        short_names.setdefault(folder.name.casefold(), folder)
    for candidate in WELL_KNOWN_NAMES[role]:
        folder = short_names.get(candidate.casefold())
        if folder is not None:
            return folder.name
    return None

"""Which target folder each source folder goes to: a folder playing a role (Sent, Drafts, Trash,
Junk, Archive: by the mailbox's folder mapping, SPECIAL-USE or well-known name, such as an
external "Gesendet" without SPECIAL-USE) goes to the target's folder of that role, also when
another source folder plays that role too; every other folder to the folder of the same name."""
from __future__ import annotations

from dataclasses import dataclass

from imapclient import IMAPClient

from tricoma_mail_plugin import FOLDER_ROLES, Folder, resolve_folder


@dataclass(frozen=True)
class FolderPair:
    source: str
    target: str
    role: str | None  # "inbox", a role of FOLDER_ROLES, or None


def server_folders(client: IMAPClient) -> list[Folder]:
    folders = []
    for flags, delimiter, name in client.list_folders():
        flag_texts = tuple(f.decode() if isinstance(f, bytes) else str(f) for f in flags)
        special = next((f for f in flag_texts if f in ("\\Sent", "\\Trash", "\\Drafts", "\\Junk", "\\Archive")), None)
        delimiter_text = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
        folders.append(Folder(name=name, delimiter=delimiter_text, flags=flag_texts, special_use=special))
    return folders


def roles_of(mailbox, folders: list[Folder]) -> dict[str, str]:
    """``{folder name: role}`` for the folders that play a role (and the inbox)."""
    found = {"INBOX": "inbox"}
    for role in FOLDER_ROLES:
        name = resolve_folder(mailbox, role, folders)
        if name and name not in found:
            found[name] = role
    return found


def plan(source_mailbox, source_folders: list[Folder], target_mailbox, target_folders: list[Folder]) -> list[FolderPair]:
    source_roles = roles_of(source_mailbox, source_folders)
    target_by_role = {role: name for name, role in roles_of(target_mailbox, target_folders).items()}
    target_delimiter = next((f.delimiter for f in target_folders if f.delimiter), "/")
    others = [f.name for f in target_folders if f.name.upper() != "INBOX"]
    target_prefix = f"INBOX{target_delimiter}" if others and all(
        name.upper().startswith(f"INBOX{target_delimiter}") for name in others) else ""
    pairs = []
    for folder in source_folders:
        if not folder.selectable:
            continue
        role = source_roles.get(folder.name) or _own_role(source_mailbox, folder)
        target = target_by_role.get(role) if role else None
        if target is None:
            target = _same_name(folder, target_prefix, target_delimiter)
        pairs.append(FolderPair(folder.name, target, role))
    return pairs


def _own_role(mailbox, folder: Folder) -> str | None:
    """The role ``folder`` would play on its own (SPECIAL-USE, a well-known name such as
    "Gesendet") where another folder plays it already: a source with both "Sent Mails" and
    "Gesendet" (one client's and another's) has its sent mail in both, and both go to the
    target's Sent."""
    return next((role for role in FOLDER_ROLES if resolve_folder(mailbox, role, [folder]) == folder.name), None)


def _same_name(folder: Folder, prefix: str, delimiter: str) -> str:
    """The source folder's name below its namespace, in the target's namespace and delimiter."""
    name, source_delimiter = folder.name, folder.delimiter or ""
    if name.upper() == "INBOX":
        return "INBOX"
    if source_delimiter and name.upper().startswith(f"INBOX{source_delimiter}"):
        name = name[len(source_delimiter) + 5:]
    if source_delimiter and source_delimiter != delimiter:
        name = name.replace(source_delimiter, delimiter)
    return prefix + name

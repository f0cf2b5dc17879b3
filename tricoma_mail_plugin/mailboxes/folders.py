"""Server folders as values, the roles a folder can play, and role resolution.

Which folder is Sent, Trash, Drafts, Junk or Archive: the admin's mapping first (it wins over
every plugin, SPEC M5), then the ``resolve_folder`` hook, where core's own rules (SPECIAL-USE →
well-known names) are the built-in plugin ``plugins.defaults.folder_rules``, asked last; when
nothing resolves, the caller creates the folder.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from .._state import mail_state
from .info import MailboxInfo

ROLES: tuple[str, ...] = ("sent", "trash", "drafts", "junk", "archive")

#: What each role (and the inbox) is called on the pages.
ROLE_LABELS = {
    "inbox": _l("Inbox"),
    "drafts": _l("Drafts"),
    "sent": _l("Sent"),
    "trash": _l("Trash"),
    "junk": _l("Junk"),
    "archive": _l("Archive"),
}

SPECIAL_USE_BY_ROLE: dict[str, str] = {
    "sent": "\\Sent",
    "trash": "\\Trash",
    "drafts": "\\Drafts",
    "junk": "\\Junk",
    "archive": "\\Archive",
}

# Folder names seen at providers and in clients, in English, German, French, Spanish, Italian,
# Dutch, Polish, Swedish, Danish and Norwegian, as a user or server may have created them.
# Compared case-insensitively with the folder name below the personal namespace ("INBOX.").
WELL_KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "sent": (
        "Sent", "Sent Items", "Sent Mail", "Sent Mails", "Sent Messages", "[Gmail]/Sent Mail",
        "Gesendet", "Gesendete Objekte", "Gesendete Elemente", "Gesendete Nachrichten",
        "[Google Mail]/Gesendet", "Envoyés", "Éléments envoyés", "Messages envoyés", "Enviados",
        "Elementos enviados", "Posta inviata", "Inviati", "Verzonden", "Verzonden items",
        "Wysłane", "Elementy wysłane", "Skickat", "Skickade objekt", "Sendt", "Sendte elementer",
    ),
    "trash": (
        "Trash", "Deleted Items", "Deleted Messages", "Deleted", "Bin", "[Gmail]/Trash",
        "[Gmail]/Bin", "Papierkorb", "Gelöschte Objekte", "Gelöschte Elemente",
        "[Google Mail]/Papierkorb", "Corbeille", "Éléments supprimés", "Papelera",
        "Elementos eliminados", "Cestino", "Posta eliminata", "Prullenbak", "Verwijderde items",
        "Kosz", "Elementy usunięte", "Papperskorgen", "Borttaget", "Papirkurv", "Slettet",
    ),
    "drafts": (
        "Drafts", "Draft", "[Gmail]/Drafts", "Entwürfe", "Entwurf", "[Google Mail]/Entwürfe",
        "Brouillons", "Borradores", "Bozze", "Concepten", "Kopie robocze", "Utkast", "Kladder",
        "Kladd",
    ),
    "junk": (
        "Junk", "Junk E-mail", "Junk Email", "Junk Mail", "Spam", "Bulk Mail", "[Gmail]/Spam",
        "Junk-E-Mail", "Spamverdacht", "Unerwünscht", "[Google Mail]/Spam",
        "Courrier indésirable", "Indésirables", "Correo no deseado", "Posta indesiderata",
        "Ongewenste e-mail", "Wiadomości-śmieci", "Skräppost", "Uønsket e-post",
    ),
    "archive": (
        "Archive", "Archives", "Archiv", "Archivo", "Archivio", "Archief", "Archiwum", "Arkiv",
    ),
}


@dataclass(frozen=True)
class Folder:
    """A folder as the server lists it."""

    name: str
    delimiter: str | None = "/"
    flags: tuple[str, ...] = ()
    special_use: str | None = None  # e.g. "\\Sent" (RFC 6154)
    messages: int | None = None
    unseen: int | None = None

    @property
    def selectable(self) -> bool:
        return not any(flag.lower() == "\\noselect" for flag in self.flags)


@dataclass(frozen=True)
class FolderMapping:
    """An admin's explicit choice of folder per role; it always wins over detection."""

    by_role: dict[str, str] = field(default_factory=dict)

    def get(self, role: str) -> str | None:
        return self.by_role.get(role)

    @classmethod
    def of(cls, mailbox) -> "FolderMapping":
        """The mapping stored on a mailbox row (``folder_roles``)."""
        return cls(dict(getattr(mailbox, "folder_roles", None) or {}))


def name_below_namespace(folder: Folder) -> str:
    """The folder's name without a leading personal namespace such as ``INBOX.`` or ``INBOX/``."""
    delimiter = folder.delimiter or ""
    prefix = f"INBOX{delimiter}"
    if delimiter and folder.name.upper().startswith(prefix.upper()):
        return folder.name[len(prefix):]
    return folder.name


def resolve_folder(mailbox, role: str, folders: list[Folder]) -> str | None:
    """The folder that plays ``role`` in ``mailbox`` (a mailbox row or a :class:`MailboxInfo`):
    the admin's mapping when it names a selectable folder (SPEC M5: it wins over every plugin),
    else the first answer of the enabled plugins' ``resolve_folder``; ``None`` means none does
    yet."""
    if role not in ROLES:
        raise ValueError(f"unknown folder role {role!r}")
    mapped = FolderMapping.of(mailbox).get(role)
    if mapped and any(folder.name == mapped and folder.selectable for folder in folders):
        return mapped
    return mail_state().hooks.call("resolve_folder", mailbox=MailboxInfo.of(mailbox), role=role,
                                   folders=folders)

"""Core's per-mailbox rights."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...hookspecs import hookimpl
from ...rights.catalogue import Right

CORE_RIGHTS: tuple[Right, ...] = (
    Right("read", _l("Read"), _l("List and read the mailbox's mail.")),
    Right("write", _l("Write"), _l("Set flags, move and file mail.")),
    Right("delete", _l("Delete"), _l("Move mail to Trash and empty Trash.")),
    Right("send", _l("Send"), _l("Write mail from this mailbox.")),
    Right("send_from_apps", _l("Send from apps"), _l("Send from other apps, such as invoices.")),
    Right("manage", _l("Manage"), _l("Change settings, folders and rights.")),
)

CORE_RIGHT_KEYS: tuple[str, ...] = tuple(right.key for right in CORE_RIGHTS)


@hookimpl(trylast=True)
def tricoma_mail_register_rights():
    return list(CORE_RIGHTS)

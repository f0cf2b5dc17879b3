"""A test plugin with a folder rule of its own: Sent is always "Plugin Sent" when the server has
such a folder."""
from __future__ import annotations

from tricoma_mail_plugin import hookimpl


@hookimpl
def tricoma_mail_resolve_folder(mailbox, role, folders):
    if role == "sent" and any(folder.name == "Plugin Sent" for folder in folders):
        return "Plugin Sent"
    return None

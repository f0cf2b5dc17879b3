"""Core's per-mailbox rights, offered through the same hook as a plugin's."""
from __future__ import annotations

from ...hookspecs import hookimpl
from ...rights.catalogue import CORE_RIGHTS


@hookimpl(trylast=True)
def tricoma_mail_register_rights():
    return list(CORE_RIGHTS)

"""Core's reply linking: a synced message that answers a mail linked to a record is linked too."""
from __future__ import annotations

from ...hookspecs import hookimpl
from ...records.mail_links import link_replies


@hookimpl(trylast=True)
def tricoma_mail_messages_received(mailbox, folder, summaries):
    link_replies(mailbox.id, summaries)

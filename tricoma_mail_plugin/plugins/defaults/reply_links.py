"""Core's reply linking: a synced message that answers a mail linked to a record is linked too."""
from __future__ import annotations

from ...hookspecs import hookimpl
from ...records.mail_links import link_reply


@hookimpl(trylast=True)
def tricoma_mail_messages_received(mailbox, folder, summaries):
    for summary in summaries:
        link_reply(mailbox.id, summary.message_id, summary.in_reply_to, summary.references, summary.subject,
                   summary.from_)

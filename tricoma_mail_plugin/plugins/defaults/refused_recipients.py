"""Core's word to the sender when the mail server refused some recipients of a mail it took for
the others: the compose page said "Sent", and only the outbox showed the refusal."""
from __future__ import annotations

from flask import current_app

from ..._state import mail_state
from ...hookspecs import hookimpl
from ...models import OutboxItem
from ...notices import notice_text, notify

REFUSED_NOTICE = notice_text("The mail server refused %(addresses)s: “%(subject)s” did not go to them.")


@hookimpl
def tricoma_mail_message_sent(outbox_item, reference):
    refused = [result.address for result in outbox_item.recipient_results if not result.accepted]
    if not refused:
        return
    row = mail_state().db.session.get(OutboxItem, outbox_item.id)
    if row is None or not row.created_by:  # system mail, or an app's without a user: the outbox shows it
        return
    notify(row.created_by, "recipients_refused", REFUSED_NOTICE,
           {"addresses": ", ".join(refused)[:500], "subject": outbox_item.subject[:200] or "—"},
           link=_outbox_page(outbox_item.id), mailbox_id=outbox_item.mailbox_id)


def _outbox_page(item_id: int) -> str:
    """The item's page in the outbox; built without a request (the outbox runs in a job)."""
    urls = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return urls.build("tricoma_mail_outbox.detail", {"item_id": item_id})

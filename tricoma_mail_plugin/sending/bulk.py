"""Bulk mail from apps (a newsletter, a notice to every customer): one mail per recipient, each
with its own one-click unsubscribe link (``List-Unsubscribe`` and ``List-Unsubscribe-Post``,
RFC 8058), leaving out everyone who unsubscribed from the list before. Each mail goes through
``send_on_behalf`` like any other an app sends, so rights, ``before_send``, record links, the
audit and the mailbox's send rate apply."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from flask_babel import gettext as _

from ..errors import InvalidSettings
from ..mime.build import OutgoingMessage, parse_address
from ..models import Mailbox
from ..records.references import Reference
from .on_behalf import send_on_behalf
from .opt_outs import MAX_LIST_KEY, Subscription, is_opted_out, unsubscribe_url


@dataclass(frozen=True)
class BulkResult:
    """The outbox ids of the mails queued, and the recipients left out because they unsubscribed."""

    queued: tuple[int, ...]
    opted_out: tuple[str, ...]


def send_bulk_on_behalf(user, mailbox: Mailbox, message: OutgoingMessage, recipients: Sequence[str], *,
                        list_key: str, reference: Reference | None = None,
                        idempotency_key: str | None = None) -> BulkResult:
    """Queue ``message`` once for each of ``recipients`` (its own To and nothing else), from
    ``mailbox`` for ``user``, as mail of the list ``list_key`` (a name the app chooses, such as
    ``"newsletter"``; unsubscribing is per mailbox and list). The same ``idempotency_key`` again
    queues nothing twice."""
    list_key = (list_key or "").strip()
    if not list_key or len(list_key) > MAX_LIST_KEY:
        raise InvalidSettings(_("Name the list this mail belongs to."), field="list_key")
    # Every address is checked before the first mail is queued: a bad one queues none.
    addresses = {recipient: parse_address(recipient, "to").addr_spec.lower() for recipient in recipients}
    queued, left_out = [], []
    for recipient, address in addresses.items():
        if is_opted_out(mailbox.id, list_key, address):
            left_out.append(address)
            continue
        single = replace(message, to=(recipient,), cc=(), bcc=(),
                         list_unsubscribe=unsubscribe_url(Subscription(mailbox.id, list_key, address)))
        key = f"{idempotency_key}:{address}" if idempotency_key else None
        queued.append(send_on_behalf(user, mailbox, single, reference=reference, idempotency_key=key))
    return BulkResult(tuple(queued), tuple(left_out))

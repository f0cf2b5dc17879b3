"""Send rates per mailbox: at most so many mails an hour leave through one mailbox (its own
setting, else ``TRICOMA_MAIL_SEND_RATE_PER_HOUR``). Mail beyond the limit stays queued and is
due again when the oldest send of the last hour is an hour old: it waits instead of being
refused by the provider, and nothing is lost. Several workers may together overshoot the limit
by the number of workers."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from .._state import mail_state
from ..models import Mailbox, OutboxItem, utcnow

WINDOW = timedelta(hours=1)
_DUE = ("queued", "retry")


def limit_for(mailbox: Mailbox) -> int | None:
    """Mails per hour ``mailbox`` may send, or ``None`` for no limit."""
    if mailbox.send_rate_per_hour is not None:
        return mailbox.send_rate_per_hour
    return current_app.config.get("TRICOMA_MAIL_SEND_RATE_PER_HOUR")


def hold_back_over_limit(now: datetime | None = None) -> int:
    """Postpone the due mail of each mailbox that has sent its hourly number; returns how many
    items now wait. Called before a worker takes the next item."""
    session = mail_state().db.session
    now = now or utcnow()
    limited = Mailbox.send_rate_per_hour.is_not(None)
    if current_app.config.get("TRICOMA_MAIL_SEND_RATE_PER_HOUR") is not None:
        limited = Mailbox.deleted_at.is_(None)
    mailbox_ids = list(session.scalars(
        select(Mailbox.id).join(OutboxItem, OutboxItem.mailbox_id == Mailbox.id)
        .where(OutboxItem.state.in_(_DUE), OutboxItem.not_before <= now, limited).distinct()))
    held = 0
    for mailbox in (session.get(Mailbox, mailbox_id) for mailbox_id in mailbox_ids):
        limit = limit_for(mailbox)
        if limit is None:
            continue
        recent = (OutboxItem.mailbox_id == mailbox.id,
                  or_(OutboxItem.smtp_accepted_at >= now - WINDOW, OutboxItem.state == "sending"))
        if session.scalar(select(func.count(OutboxItem.id)).where(*recent)) < limit:
            continue
        oldest = session.scalar(select(func.min(OutboxItem.smtp_accepted_at)).where(*recent))
        until = (oldest or now) + WINDOW
        note = _("This mailbox sends at most %(limit)d mails an hour: the mail waits in the outbox until %(time)s.",
                 limit=limit, time=format_datetime(until, "short"))
        held += session.execute(
            update(OutboxItem).where(OutboxItem.mailbox_id == mailbox.id, OutboxItem.state.in_(_DUE),
                                     OutboxItem.not_before <= now)
            .values(not_before=until, last_error=note[:1000]).execution_options(synchronize_session=False)).rowcount
    session.commit()
    return held

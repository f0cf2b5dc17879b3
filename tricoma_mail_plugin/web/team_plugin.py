"""Team mail (assignee, status, who is answering, snooze, follow-ups) as one of core's built-in
plugins: its JSON routes, and a reply that sync stores cancels the follow-up reminders of its
conversation."""
from __future__ import annotations

import time

from flask import g
from sqlalchemy import select

from .._state import db_session
from ..hookspecs import hookimpl
from ..team.reminders import cancel_on_reply
from ..team.tables import TeamReminder
from . import team_api

_PENDING_CACHE = "_tricoma_mail_team_pending"
_PENDING_SECONDS = 5.0


@hookimpl(trylast=True)
def tricoma_mail_register_blueprints():
    return [team_api.blueprint]


@hookimpl(trylast=True)
def tricoma_mail_messages_received(mailbox, folder, summaries):
    for summary in summaries:
        if mailbox.id not in _mailboxes_with_pending():
            return  # the usual case: one set lookup per batch, no query
        if cancel_on_reply(mailbox.id, folder, summary.message_id or "", summary.in_reply_to or "",
                           summary.references or "", summary.from_ or "", summary.internal_date):
            g.pop(_PENDING_CACHE, None)


def _mailboxes_with_pending() -> frozenset[int]:
    """The mailboxes with pending follow-up reminders, cached for a few seconds per app context
    (a sync delivers one ``received`` event per new message)."""
    cached = g.get(_PENDING_CACHE)
    now = time.monotonic()
    if cached is None or now - cached[0] > _PENDING_SECONDS:
        ids = frozenset(db_session().scalars(select(TeamReminder.mailbox_id).where(TeamReminder.state == "pending")
                                             .distinct()))
        cached = (now, ids)
        setattr(g, _PENDING_CACHE, cached)
    return cached[1]

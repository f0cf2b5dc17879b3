"""The ``flask mail`` command group and what its commands share."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .._state import mail_state
from ..models import Mailbox

mail_cli = AppGroup("mail", help="tricoma mail: mailboxes, folders, sync.")


def _mailbox(mailbox_id: int) -> Mailbox:
    mailbox = mail_state().db.session.get(Mailbox, mailbox_id)
    if mailbox is None or mailbox.deleted_at is not None:
        raise click.ClickException(f"there is no mailbox {mailbox_id}")
    return mailbox

"""Flask-Mail through the outbox: a host's ``mail.send(Message(...))`` is queued as system mail.

Flask-Mail documents two ways to keep a message from going straight to SMTP: the setting
``MAIL_SUPPRESS_SEND`` (Flask-Mail then opens no connection) and the ``email_dispatched``
signal, sent for every message it dispatches, suppressed or not (its own ``record_messages``
listens to it). The bridge uses both: it switches Flask-Mail's own SMTP off and queues each
dispatched message in the outbox (scope "system"), where the worker sends it with the Mailversand
settings and retries it for as long as the server is away or answers "try again later".

What is queued is the message exactly as Flask-Mail would have sent it: the bytes of
``message.as_bytes()`` and the envelope Flask-Mail builds (the sender, and To, Cc and Bcc as
recipients). Flask-Mail has checked the message (recipients, sender, header injection) and fixed
its Date and Message-ID before it sends the signal. A message that cannot be queued makes
``mail.send`` raise, so nothing is lost silently; the same message sent twice is queued once
(its Message-ID is the idempotency key).

Not carried: the ``envelope_from`` argument of ``Connection.send`` (the signal does not pass it)
and a message's ``mail_options``/``rcpt_options`` (the outbox's SMTP transport sets its own).

flask-mail is an optional extra of this distribution; without it there is nothing to bridge.
"""
from __future__ import annotations

import logging
from email.utils import parseaddr

from flask import Flask

from ..models import OutboxItem
from .outbox import store_raw

try:
    import flask_mail
except ImportError:  # the extra "flask-mail" is not installed: no host can be using it
    flask_mail = None

log = logging.getLogger(__name__)

SCOPE = "system"
KEY_LENGTH = 200  # the outbox's idempotency key column


def install(app: Flask) -> bool:
    """Queue the sends of the Flask-Mail set up on ``app`` in the outbox. Returns whether there
    was one to take over: Flask-Mail must be initialised on ``app`` before tricoma mail, and
    ``TRICOMA_MAIL_FLASK_MAIL_OUTBOX`` on."""
    if flask_mail is None or not app.config["TRICOMA_MAIL_FLASK_MAIL_OUTBOX"]:
        return False
    # Flask-Mail keeps its settings of an app in app.extensions["mail"], an instance of _Mail
    # (the class has been called so since 0.9); another extension may use the same key.
    state = app.extensions.get("mail")
    if not isinstance(state, flask_mail._Mail):
        return False
    if app.config.get("MAIL_SUPPRESS_SEND") is True:
        # The host asked for no mail at all (tests, a development set-up): so be it.
        log.info("MAIL_SUPPRESS_SEND is set: Flask-Mail's messages are not queued in the outbox")
        return False
    state.suppress = True  # what MAIL_SUPPRESS_SEND sets: Flask-Mail opens no SMTP connection
    flask_mail.email_dispatched.connect(queue_message, sender=app)
    return True


def queue_message(app: Flask, message, **_signal_extra) -> OutboxItem:
    """Queue one dispatched Flask-Mail ``Message``; the receiver of ``email_dispatched``."""
    key = message.msgId if len(message.msgId) <= KEY_LENGTH else None
    charset = message.charset or "utf-8"
    # Flask-Mail's own envelope: sanitize_address encodes names and international domains, and
    # SMTP takes the bare address of each, as smtplib's sendmail does with them.
    sender = parseaddr(flask_mail.sanitize_address(message.sender, charset))[1]
    listed = [*message.recipients, *message.cc, *message.bcc]
    recipients = [parseaddr(address)[1] for address in flask_mail.sanitize_addresses(listed, charset)]
    return store_raw(SCOPE, None, message.as_bytes(), message_id=message.msgId, sender=sender,
                     recipients=list(dict.fromkeys(recipients)), subject=str(message.subject or ""),
                     key=key, sent_copy="skipped")

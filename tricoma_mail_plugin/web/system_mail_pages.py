"""Admin → System mail (Mailversand, SPEC S1): the SMTP settings of the host's own mail, a test
send with a typed answer, and the recent system mails of the outbox.

Admins only. The password is never sent back to the browser: an empty password field keeps the
stored one.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from .._state import mail_state
from ..errors import InvalidSettings, MailboxAuthError, MailError
from ..mailboxes.backend import SECURITY_MODES
from ..mailboxes.connection_steps import CODE_MESSAGES
from ..mime.build import InvalidMessage, parse_address
from ..sending import outbox, system_mail, system_settings, user_outbox
from .access import admin_required
from .mailbox_settings import SECURITY_LABELS, FieldError
from .outbox_pages import sent_copy_text, state_text

blueprint = Blueprint(
    "tricoma_mail_system_mail",
    __name__,
    url_prefix="/mail/admin/system-mail",
    template_folder="../templates",
)

TEXT_FIELDS = ("host", "port", "security", "username", "sender_name", "sender_address", "reply_to")
RECENT_ITEMS = 20


@blueprint.get("/")
@admin_required
def index():
    return _render(_stored_values())


@blueprint.post("/")
@admin_required
def save():
    values = {name: request.form.get(name, "").strip() for name in TEXT_FIELDS}
    try:
        _check_addresses(values)
        system_settings.update_system_settings({**values, "password": request.form.get("password", "")})
    except InvalidSettings as error:
        mail_state().db.session.rollback()  # nothing of a refused form is kept
        return _render(values, error=FieldError(error.field, error.user_message),
                       password_typed=bool(request.form.get("password"))), 400
    flash(_("The system mail settings are saved. Send a test mail to check them."), "success")
    return redirect(url_for(".index"))


@blueprint.post("/test")
@admin_required
def send_test():
    to = request.form.get("to", "").strip()
    try:
        parse_address(to, "to")
    except MailError as error:
        error = FieldError("to", error.user_message if to else _("Enter the recipient's address."), form="test")
        return _render(_stored_values(), test_to=to, error=error), 400
    try:
        system_mail.send_test_mail(to, current_app.config["TRICOMA_MAIL_TEST_MIN_INTERVAL"])
    except InvalidMessage as error:  # the stored sender: nothing was sent
        mail_state().db.session.rollback()
        flash(_("The sender address of system mail is missing or not valid: %(error)s",
                error=error.user_message) if error.field == "from" else error.user_message, "error")
        return _render(_stored_values(), test_to=to), 400
    except MailError as error:
        mail_state().db.session.rollback()
        flash(describe_send_error(error), "error")
        return _render(_stored_values(), test_to=to), 400
    flash(_("The test mail to %(address)s was sent. Check that it arrived.", address=to), "success")
    return redirect(url_for(".index"))


def describe_send_error(error: MailError) -> str:
    """The error in words an admin can act on, with the server's own words where they help."""
    if isinstance(error, MailboxAuthError):
        return str(CODE_MESSAGES["wrong_password"])
    code = _connection_code(error.__cause__)
    if code is None:
        return error.user_message
    return f"{CODE_MESSAGES[code]} ({error.user_message})"


def _connection_code(cause: BaseException | None) -> str | None:
    if cause is None:
        return None
    if isinstance(cause, socket.gaierror):
        return "cannot_resolve"
    if isinstance(cause, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return "certificate_invalid"
    if isinstance(cause, ssl.SSLError):
        return "tls_failed"
    if isinstance(cause, smtplib.SMTPNotSupportedError):
        return "starttls_not_offered"
    if isinstance(cause, (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)):
        return "connection_lost"
    if isinstance(cause, OSError):
        return "connection_failed"
    return None


def _check_addresses(values: dict[str, str]) -> None:
    """Refuse a sender or reply-to that no mail could be sent with, at once rather than at the
    first password reset."""
    for name in ("sender_address", "reply_to"):
        if values[name]:
            try:
                parse_address(values[name], name)
            except MailError as error:
                raise InvalidSettings(error.user_message, field=name) from None


def _stored_values() -> dict[str, Any]:
    settings = system_settings.system_settings()
    return {name: getattr(settings, name) for name in TEXT_FIELDS}


def _render(values: dict[str, Any], *, error: FieldError | None = None, test_to: str = "",
            password_typed: bool = False) -> str:
    settings = system_settings.system_settings()
    return render_template(
        "tricoma_mail/admin/system_mail.html",
        settings=settings,
        form=values,
        error=error,
        test_to=test_to,
        passwords_typed=password_typed,
        password_stored=bool(settings.secrets),
        security_modes=SECURITY_MODES,
        security_labels=SECURITY_LABELS,
        recent=outbox.items(scope="system", limit=RECENT_ITEMS),
        state_text=state_text,
        sent_copy_text=sent_copy_text,
        cancellable=user_outbox.CANCELLABLE_STATES,
        resendable=user_outbox.RESENDABLE_STATES,
    )

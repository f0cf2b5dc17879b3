"""The compose dialog other apps open to send from a record ("Send by e-mail", SPEC S2).

An app links to ``/mail/compose/app?reference=invoice:42&next=/invoices/42`` (endpoint
``tricoma_mail_app_compose.dialog``). The dialog asks the enabled plugins for the record's
``compose_context``, freezes its attachments with their hash, and offers only the mailboxes
where the user holds *send from apps*. Everything stays editable; an attachment can be left out.
Sending calls :func:`send_on_behalf` with an idempotency key made when the dialog opened, so a
double submit queues one mail, and returns to ``next`` with a way to undo.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from .._state import mail_state
from ..errors import InvalidSettings, MailboxNotFound, MailError, NotAllowed, SendVetoed
from ..mime.build import InvalidMessage, OutgoingMessage
from ..mime.html_text import html_to_plain_text
from ..models import Mailbox, OutboxItem, is_row_id
from ..plugins.ui import sign_in_required
from ..records.references import Reference, describe_reference, reference_types
from ..rights import access
from ..sending import outbox
from ..sending.on_behalf import (
    app_mailboxes,
    compose_context,
    freeze,
    frozen_attachment,
    send_on_behalf,
    thawed,
)
from .redirects import safe_next
from .sender_choice import from_label

blueprint = Blueprint(
    "tricoma_mail_app_compose",
    __name__,
    url_prefix="/mail/compose/app",
    template_folder="../templates",
)

#: Content types a browser would render or run; such attachments are served as plain bytes.
_ACTIVE_TYPES = ("html", "xml", "javascript", "ecmascript", "svg")


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


@dataclass(frozen=True)
class ShownAttachment:
    token: str
    filename: str
    size: int
    sha256: str
    left_out: bool = False


sign_in_required(blueprint)


@blueprint.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"size_text": _size_text, "from_label": from_label}


def _size_text(size: int) -> str:
    if size < 1024:
        return _("%(size)s bytes", size=format_decimal(size))
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_decimal(round(size / 1024, 1)))
    return _("%(size)s MB", size=format_decimal(round(size / 1024 / 1024, 1)))


def _reference(text: str | None) -> Reference:
    try:
        return Reference.parse(text or "")
    except ValueError:
        abort(400)


def _record(reference: Reference):
    """The record's title and page; 404 when no enabled plugin knows it (or it is gone)."""
    if reference.kind not in reference_types():
        abort(404)
    record = describe_reference(reference)
    if record is None:
        abort(404)
    return record


def _return_to(record) -> str:
    return safe_next(request.values.get("next")) or safe_next(record.url) or "/"


def _refused():
    return render_template("tricoma_mail/app_compose/refused.html"), 403


# -- the dialog ------------------------------------------------------------------------------


@blueprint.get("/")
def dialog():
    reference = _reference(request.args.get("reference"))
    mailboxes = app_mailboxes(current_user)
    if not mailboxes:
        return _refused()
    record = _record(reference)
    context = compose_context(reference, current_user)
    frozen = freeze(current_user, reference, context.attachments)
    text = context.text if context.text is not None else (html_to_plain_text(context.html) if context.html else "")
    form = {
        "mailbox": str(mailboxes[0].id),
        "to": ", ".join(context.to), "cc": ", ".join(context.cc), "bcc": ", ".join(context.bcc),
        "subject": context.subject or "", "text": text,
    }
    attachments = [ShownAttachment(row.token, row.filename, len(row.data), row.sha256) for row in frozen]
    return _render(reference, record, mailboxes, form, attachments, context.notes, secrets.token_urlsafe(24),
                   _return_to(record))


@blueprint.post("/")
def send():
    reference = _reference(request.form.get("reference"))
    mailboxes = app_mailboxes(current_user)
    if not mailboxes:
        return _refused()
    record = _record(reference)
    key = request.form.get("key", "")
    if not key or len(key) > 100:
        abort(400)
    form = {name: request.form.get(name, "") for name in ("mailbox", "to", "cc", "bcc", "subject", "text")}
    tokens = list(dict.fromkeys(request.form.getlist("attachment")))
    left_out = set(request.form.getlist("leave_out"))
    notes = tuple(request.form.getlist("note"))[:10]
    return_to = _return_to(record)

    def again(error: FieldError):
        return _render(reference, record, mailboxes, form, _shown(tokens, left_out), notes, key, return_to,
                       error), 400

    mailbox = next((m for m in mailboxes if str(m.id) == form["mailbox"]), None)
    if mailbox is None:
        return again(FieldError("mailbox", _("Choose a mailbox you may send from.")))
    message = OutgoingMessage(
        to=_addresses(form["to"]), cc=_addresses(form["cc"]), bcc=_addresses(form["bcc"]),
        subject=form["subject"], text=form["text"],
    )
    try:
        attachments = thawed(current_user, [token for token in tokens if token not in left_out])
    except MailError as error:  # gone after a day, or changed since the dialog showed it
        return again(FieldError("attachments", error.user_message))
    idempotency_key = f"app-compose:{key}"
    if outbox.find_by_key(mailbox, idempotency_key) is not None:
        return redirect(return_to)  # a double click: the first request queued the mail and said so
    try:
        item_id = send_on_behalf(current_user, mailbox, replace(message, attachments=attachments), reference,
                                 idempotency_key=idempotency_key)
    except (InvalidMessage, InvalidSettings) as error:
        mail_state().db.session.rollback()
        return again(FieldError(error.field if error.field in _FIELDS else None, error.user_message))
    except SendVetoed as error:
        mail_state().db.session.rollback()
        return again(FieldError(None, error.user_message))
    except (MailboxNotFound, NotAllowed):
        mail_state().db.session.rollback()
        return again(FieldError("mailbox", _("You may not send mail from apps through this mailbox.")))
    flash(_queued_message(item_id, return_to), "success")
    return redirect(return_to)


_FIELDS = ("mailbox", "to", "cc", "bcc", "subject", "text", "attachments")


def _addresses(text: str) -> tuple[str, ...]:
    return (text,) if text.strip() else ()


def _shown(tokens: list[str], left_out: set[str]) -> list[ShownAttachment]:
    """The dialog's attachments again, after an error: each token the user still owns."""
    shown = []
    for token in tokens:
        try:
            row = frozen_attachment(current_user, token)
        except MailError:
            continue
        shown.append(ShownAttachment(row.token, row.filename, len(row.data), row.sha256, token in left_out))
    return shown


def _render(reference, record, mailboxes, form, attachments, notes, key, return_to,
            error: FieldError | None = None) -> str:
    return render_template(
        "tricoma_mail/app_compose/dialog.html", reference=reference, record=record, mailboxes=mailboxes,
        form=form, attachments=attachments, notes=notes, key=key, return_to=return_to, error=error,
        app_bcc={mailbox.id: mailbox.app_bcc for mailbox in mailboxes if (mailbox.app_bcc or "").strip()},
    )


def _queued_message(item_id: int, return_to: str) -> Markup:
    seconds = current_app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"]
    undo = url_for(".queued", item_id=item_id, next=return_to)
    if seconds > 0:
        text = _("The mail is queued and leaves in %(seconds)s seconds; until then you can undo it.",
                 seconds=seconds)
        return Markup('{} <a href="{}" class="undo-send">{}</a>').format(text, undo, _("Undo"))
    return Markup("{}").format(_("The mail is queued and leaves shortly."))


# -- attachments -----------------------------------------------------------------------------


@blueprint.get("/attachment/<token>")
def attachment(token: str):
    """The exact frozen bytes, as a download, to the user who opened the dialog only."""
    try:
        row = frozen_attachment(current_user, token)
    except MailboxNotFound:
        abort(404)
    except InvalidSettings:
        abort(409)
    content_type = (row.content_type or "").lower()
    if "/" not in content_type or any(kind in content_type for kind in _ACTIVE_TYPES):
        content_type = "application/octet-stream"
    response = send_file(BytesIO(row.data), mimetype=content_type, as_attachment=True,
                         download_name=row.filename or "attachment", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- undo ------------------------------------------------------------------------------------


def _own_item(item_id: int) -> OutboxItem:
    """An item this user queued from an app, on a mailbox where they still may send from apps."""
    item = mail_state().db.session.get(OutboxItem, item_id) if is_row_id(item_id) else None
    if item is None or item.created_by != str(current_user.get_id()) or item.mailbox_id is None:
        abort(404)
    try:
        access.require(current_user, item.mailbox_id, "send_from_apps")
    except (MailboxNotFound, NotAllowed):
        abort(404)
    return item


@blueprint.get("/queued/<int:item_id>")
def queued(item_id: int):
    item = _own_item(item_id)
    return render_template("tricoma_mail/app_compose/queued.html", item=item,
                           mailbox=mail_state().db.session.get(Mailbox, item.mailbox_id),
                           cancellable=item.state in outbox.DUE_STATES,
                           return_to=safe_next(request.args.get("next")) or "/")


@blueprint.post("/queued/<int:item_id>/undo")
def undo(item_id: int):
    item = _own_item(item_id)
    return_to = safe_next(request.form.get("next")) or "/"
    try:
        outbox.cancel(item)
    except NotAllowed as error:
        flash(error.user_message, "error")
        return redirect(url_for(".queued", item_id=item.id, next=return_to))
    flash(_("The mail is stopped and will not be sent."), "success")
    return redirect(return_to)


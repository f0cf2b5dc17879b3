"""Mail → Outbox: the current user's outgoing mail, its state and per-recipient results; undo
send, and send again after an explicit confirmation (SPEC S4).

The views parse the request and call :mod:`user_outbox`, which checks the *send* right on the
item's mailbox for every page and action. An item the user may not see answers 404 and shows
nothing of it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .._state import mail_state
from ..errors import MessageNotFound, NotAllowed
from ..models import Mailbox, OutboxItem, is_row_id, utcnow
from ..plugins.ui import sign_in_required
from ..sending import user_outbox
from .mail_views import folder_shown
from .mailbox_rights import principal_text
from .redirects import safe_next

blueprint = Blueprint(
    "tricoma_mail_outbox",
    __name__,
    url_prefix="/mail/outbox",
    template_folder="../templates",
)

PAGE_SIZE = 100

#: The state filter's choices: what a list of items in that state is called.
FILTER_LABELS = {
    "queued": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "retry": _l("Will retry"),
    "waiting_sign_in": _l("Waiting for sign-in"),
    "failed": _l("Failed"),
    "uncertain": _l("Uncertain"),
    "cancelled": _l("Cancelled"),
}

STATE_HELP = {
    "queued": _l("The mail waits to leave; you can still stop it."),
    "sending": _l("The mail is being handed to the mail server right now."),
    "sent": _l("The mail server accepted the mail."),
    "retry": _l("The mail server could not be used for now; the mail is tried again automatically."),
    "waiting_sign_in": _l("The mailbox needs a new sign-in with its provider. The mail leaves once someone "
                          "who manages the mailbox has signed in again."),
    "failed": _l("The mail could not be sent. Check the reason, correct it and send the mail again."),
    "uncertain": _l("The final dot of the mail was sent, but the server's answer never arrived: the "
                    "server may have accepted the mail. It is never sent again automatically; check "
                    "with the recipient before you send it again."),
    "cancelled": _l("The mail was stopped and will not be sent."),
}


sign_in_required(blueprint)


@blueprint.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"state_text": state_text, "state_help": STATE_HELP, "sent_copy_text": sent_copy_text,
            "size_text": size_text, "cancellable": user_outbox.CANCELLABLE_STATES,
            "resendable": user_outbox.RESENDABLE_STATES, "attempt_lines": user_outbox.attempt_lines,
            "stage_text": stage_text, "outcome_text": outcome_text, "precise_time": _precise_time}


#: How far an attempt got, in words.
STAGE_LABELS = {
    "connecting": _l("connecting (connection, encryption, login, envelope)"),
    "data": _l("before the message data"),
    "final_dot": _l("final dot sent, no answer"),
    "handed_over": _l("handed to the server, no answer"),
}


def stage_text(stage: str | None) -> str:
    return str(STAGE_LABELS.get(stage, stage or "—"))


def outcome_text(line: user_outbox.AttemptLine) -> str:
    """What an attempt ended with, and why when a worker vanished or the Sent folder told."""
    if line.resolved == "found_in_sent":
        return _("found in the Sent folder: sent")
    if line.resolved == "confirmed_arrived":
        return _("arrived, as %(name)s confirmed: sent", name=principal_text("user", line.resolved_by or ""))
    if line.worker_vanished and line.outcome == "retry":
        return _("the sending process stopped before the server could accept it: sent again automatically")
    if line.worker_vanished and line.outcome == "uncertain":
        return _("the sending process stopped after the final dot: uncertain")
    labels = {"sent": _("sent"), "retry": _("will retry"), "failed": _("failed"),
              "uncertain": _("uncertain"), "waiting_sign_in": _("waiting for sign-in")}
    return labels.get(line.outcome, line.outcome)


def state_text(item: OutboxItem) -> str:
    """The item's state in words, with the time where one matters (waiting, retry, sent)."""
    if item.state == "queued":
        if item.not_before and item.not_before > utcnow():
            return _("waiting, leaves at %(time)s", time=_time(item.not_before))
        return _("waiting")
    if item.state == "retry":
        return _("will retry at %(time)s", time=_time(item.not_before))
    if item.state == "sent" and item.smtp_accepted_at:
        return _("sent at %(time)s", time=_time(item.smtp_accepted_at))
    if item.state == "uncertain":
        if item.uncertain_check_after is not None:
            return _("uncertain, looking for it in the Sent folder")
        accepted = user_outbox.maybe_accepted_at(item)
        if accepted is not None:
            return _("uncertain: the server may have accepted it at %(time)s; check with the recipient",
                     time=_precise_time(accepted))
    labels = {"sending": _("sending"), "sent": _("sent"), "failed": _("failed"),
              "uncertain": _("uncertain"), "cancelled": _("cancelled"), "waiting_sign_in": _("waiting for sign-in")}
    return labels.get(item.state, item.state)


def sent_copy_text(item: OutboxItem) -> str:
    """Whether the copy in the mailbox's Sent folder is filed (only sent mail has one)."""
    if item.sent_copy == "skipped":
        return _("not stored (not needed)")
    if item.state != "sent":
        return "—"
    if item.sent_copy == "done":
        folder = item.sent_copy_folder
        mailbox = mail_state().db.session.get(Mailbox, item.mailbox_id) if folder and item.mailbox_id else None
        return _("filed in %(folder)s", folder=folder_shown(mailbox, folder) if mailbox else folder or _("Sent"))
    if item.sent_copy == "retry":
        return _("not filed yet, will retry: %(error)s", error=item.sent_copy_error or "")
    return _("waiting to be filed")


def size_text(size: int) -> str:
    if size < 1024:
        return _("%(size)s bytes", size=format_decimal(size))
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_decimal(round(size / 1024, 1)))
    return _("%(size)s MB", size=format_decimal(round(size / 1024 / 1024, 1)))


def _time(moment: datetime | None) -> str:
    return format_datetime(moment, "short") if moment else "—"


def _precise_time(moment: datetime | None) -> str:
    """Date and time to the second: what a recipient's server log can be checked against."""
    return format_datetime(moment, "medium") if moment else "—"


def _visible_item(item_id: int) -> OutboxItem:
    try:
        return user_outbox.get_item(current_user, item_id)
    except MessageNotFound:
        abort(404)


# -- the list and one item -------------------------------------------------------------------


@blueprint.get("/")
def index():
    state = request.args.get("state") or None
    if state not in (None, *FILTER_LABELS):
        abort(400)
    before = request.args.get("before", type=int)
    if before is not None and not is_row_id(before):
        abort(400)  # a cursor no row can have (and the database could not even bind)
    sources = user_outbox.sources(current_user)
    items = user_outbox.list_items(current_user, state=state, before=before, limit=PAGE_SIZE,
                                   scopes=[source.scope for source in sources])
    titles = {source.scope: source.title or _("System mail") for source in sources}
    older = items[-1].id if len(items) == PAGE_SIZE else None
    return render_template("tricoma_mail/outbox/index.html", items=items, titles=titles, state=state,
                           filter_labels=FILTER_LABELS, has_sources=bool(sources), older=older,
                           before=before)


@blueprint.get("/<int:item_id>")
def detail(item_id: int):
    item = _visible_item(item_id)
    return render_template("tricoma_mail/outbox/detail.html", item=item,
                           source_title=_source_title(item),
                           headers=user_outbox.message_headers(item), size=len(item.raw))


def _source_title(item: OutboxItem) -> str:
    if item.scope == user_outbox.SYSTEM_SCOPE:
        return _("System mail")
    titles = {source.scope: source.title for source in user_outbox.sources(current_user)}
    return titles.get(item.scope, "—")


# -- undo send -------------------------------------------------------------------------------


@blueprint.post("/<int:item_id>/cancel")
def cancel(item_id: int):
    try:
        user_outbox.cancel(current_user, item_id)
    except MessageNotFound:
        abort(404)
    except NotAllowed as error:
        flash(error.user_message, "error")
    else:
        flash(_("The mail is stopped and will not be sent."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for(".index"))


# -- send again ------------------------------------------------------------------------------


@blueprint.route("/<int:item_id>/send-again", methods=["GET", "POST"])
def send_again(item_id: int):
    item = _visible_item(item_id)
    if item.state not in user_outbox.RESENDABLE_STATES:
        flash(_("Only uncertain or failed mail can be sent again."), "error")
        return redirect(url_for(".detail", item_id=item.id))
    if request.method == "GET":
        return _render_send_again(item)
    if not request.form.get("confirm"):
        return _render_send_again(item, error=_("Tick the box to confirm that the mail is to be sent again.")), 400
    try:
        user_outbox.send_again(current_user, item.id)
    except MessageNotFound:
        abort(404)
    except NotAllowed as error:
        flash(error.user_message, "error")
        return redirect(url_for(".detail", item_id=item.id))
    flash(_("The mail is queued again and leaves shortly."), "success")
    return redirect(url_for(".index"))


@blueprint.post("/<int:item_id>/arrived")
def confirm_arrived(item_id: int):
    """The person checked with the recipient: the uncertain mail arrived."""
    item = _visible_item(item_id)
    if not request.form.get("confirm_arrived"):
        return _render_send_again(
            item, arrived_error=_("Tick the box to confirm that the recipient has the mail.")), 400
    try:
        user_outbox.confirm_arrived(current_user, item.id)
    except MessageNotFound:
        abort(404)
    except NotAllowed as error:
        flash(error.user_message, "error")
        return redirect(url_for(".detail", item_id=item.id))
    flash(_("The mail is marked as sent; it is filed in the Sent folder."), "success")
    return redirect(url_for(".detail", item_id=item.id))


def _render_send_again(item: OutboxItem, error: str | None = None, arrived_error: str | None = None) -> str:
    return render_template("tricoma_mail/outbox/send_again.html", item=item, source_title=_source_title(item),
                           error=error, arrived_error=arrived_error,
                           maybe_accepted_at=user_outbox.maybe_accepted_at(item))

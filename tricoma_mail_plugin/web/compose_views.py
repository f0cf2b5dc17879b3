"""Writing mail (SPEC M8, S): the compose form (new, reply, reply all, forward inline or as
attachment, edit a draft), attachments uploaded one by one with progress, drafts saved by the
page every 30 seconds and on demand, send through the outbox with a few seconds to undo, send
later.

*send* on the chosen From mailbox is checked for sending and drafts; reading the message
replied to needs *read* on its mailbox. Uploads are streamed to a temporary folder of the
browser session and refused as soon as they pass the attachment limit.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from .._state import mail_state
from ..config import attachment_limit
from ..errors import InvalidSettings, MailError, NotAllowed, SendVetoed
from ..mail import drafts, reply_prefill, upload_store
from ..mail.after_sending import discard_draft_quietly, tidy_after_sending
from ..mailboxes.service import backend_for
from ..mime.build import AttachmentData, InvalidMessage, OutgoingMessage
from ..models import Mailbox
from ..rights import access
from ..sending import outbox, user_outbox
from .mail_common import add_banner, human_size, install
from .mail_views import folder_shown
from .redirects import safe_next

blueprint = Blueprint("tricoma_mail_compose", __name__, url_prefix="/mail/m/<int:mailbox_id>",
                      template_folder="../templates")
install(blueprint)

SPACE_KEY = "tricoma_mail_upload_space"
AUTOSAVE_SECONDS = 30
FORM_OVERHEAD_BYTES = 4 * 1024 * 1024  # the text fields of a compose form beside its files
TEXT_FIELDS = ("to", "cc", "bcc", "subject", "body", "in_reply_to", "references", "compose_id",
               "source", "mode", "draft_uid", "draft_mailbox", "send_at", "tz_offset", "next")


@blueprint.url_value_preprocessor
def _limit_request_size(endpoint, values):
    # Runs before the app's CSRF check reads the form: a compose form larger than the attachment
    # limit is refused by the form parser, not read whole.
    if endpoint in ("tricoma_mail_compose.compose_post", "tricoma_mail_compose.save_draft_now"):
        request.max_content_length = _limit() + FORM_OVERHEAD_BYTES
        request.max_form_memory_size = FORM_OVERHEAD_BYTES


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    message = too_large_message()
    if request.endpoint == "tricoma_mail_compose.compose_post":
        return render_template("tricoma_mail/mail/error.html", message=message, status=413), 413
    return jsonify(error=message), 413


def _limit() -> int:
    return attachment_limit()


def too_large_message() -> str:
    return _("The attachments are larger than the limit of %(limit)s.", limit=human_size(_limit()))


def _space() -> str:
    space = session.get(SPACE_KEY)
    if not space:
        upload_store.remove_stale()  # once per new browser session: cheap, and enough
        space = session[SPACE_KEY] = upload_store.new_space()
    return space


def _require_any(mailbox_id: int, rights: tuple[str, ...]) -> Mailbox:
    """The mailbox if the user holds one of ``rights`` on it (404 when none at all)."""
    error: MailError | None = None
    for right in rights:
        try:
            return access.require(current_user, mailbox_id, right)
        except NotAllowed as problem:
            error = problem
    raise error or NotAllowed()


def _senders() -> list[Mailbox]:
    senders = access.mailboxes_with(current_user, "send")
    if not senders:
        raise NotAllowed(_("You may not send mail from any mailbox."))
    return senders


# -- the form -------------------------------------------------------------------------------------


@blueprint.get("/compose")
def compose(mailbox_id: int):
    """The form: new, or for ``mode`` on message ``source`` (reply, forward, edit a draft), or a
    cancelled mail back (``restore``). ``draft`` (with ``draft_mailbox``): go on with that saved
    draft in place of the text ``mode`` would start with, where "Save draft" leads."""
    source = request.args.get("source", type=int)
    mode = request.args.get("mode", "reply")
    restore = request.args.get("restore", type=int)
    draft = request.args.get("draft", type=int)
    mailbox = _require_any(mailbox_id, ("read",) if source else ("send", "read"))
    senders = _senders()
    start = reply_prefill.ComposeStart(to=request.args.get("to", "")[:1000])
    draft_mailbox = ""
    if source:
        if mode not in reply_prefill.MODES:
            mode = "reply"
        if mode == "draft":
            access.require(current_user, mailbox.id, "send")
            draft_mailbox = str(mailbox.id)
    if draft:
        draft_box = access.require(current_user, request.args.get("draft_mailbox", mailbox.id, type=int), "send")
        access.require(current_user, draft_box.id, "read")  # the draft is read back from the mailbox
        start = reply_prefill.prefill(draft_box, draft, "draft")
        draft_mailbox = str(draft_box.id)
    elif source:
        start = reply_prefill.prefill(mailbox, source, mode)
    elif restore:
        item = user_outbox.get_item(current_user, restore)
        if item.state != "cancelled":
            flash(_("This mail is already on its way."), "error")
            return redirect(url_for("tricoma_mail_client.folder", mailbox_id=mailbox.id))
        sender_box = mail_state().db.session.get(Mailbox, item.mailbox_id) if item.mailbox_id else None
        start = reply_prefill.from_outbox(item.raw, item.recipients, sender_box.signature if sender_box else "")
        if sender_box is not None:
            mailbox = sender_box
    space = _space()
    uploads = [upload_store.put(space, attachment) for attachment in start.attachments]
    sender_id = int(draft_mailbox) if draft_mailbox else mailbox.id
    form = {
        "from": str(sender_id if any(m.id == sender_id for m in senders) else senders[0].id),
        "to": start.to, "cc": start.cc, "bcc": start.bcc, "subject": start.subject, "body": start.body,
        "in_reply_to": start.in_reply_to, "references": " ".join(start.references),
        "compose_id": uuid.uuid4().hex, "source": str(source or ""),
        "mode": mode if source else "",
        "draft_uid": str(start.replaces_draft_uid or ""), "draft_mailbox": draft_mailbox,
        "send_at": "", "tz_offset": "", "next": safe_next(request.args.get("next")) or "",
    }
    return _render(mailbox, senders, form, uploads)


def _render(mailbox: Mailbox, senders: list[Mailbox], form: dict, uploads, error: dict | None = None):
    return render_template(
        "tricoma_mail/mail/compose.html", mailbox=mailbox, senders=senders, form=form, uploads=uploads,
        error=error, autosave_seconds=AUTOSAVE_SECONDS, upload_limit=_limit(),
        upload_limit_text=human_size(_limit()), focus=_first_field(form, error),
    )


_FOCUSABLE = ("to", "cc", "bcc", "subject", "body")


def _first_field(form: dict, error: dict | None) -> str:
    """Where the cursor starts, as in Thunderbird: at a refused field; in the text of a reply;
    else at the first of recipients, subject and text that is still empty."""
    if error and error.get("field") in _FOCUSABLE:
        return error["field"]
    if form.get("mode") in ("reply", "reply_all"):
        return "body"
    return next((name for name in ("to", "subject") if not (form.get(name) or "").strip()), "body")


def _typed() -> dict:
    form = {name: request.form.get(name, "") for name in TEXT_FIELDS}
    form["from"] = request.form.get("from", "")
    return form


def _uploads(space: str) -> list[upload_store.StoredUpload]:
    """The uploads the form lists, then the files of the form's own file field (without
    script), each within the limit."""
    listed = [upload_store.describe(space, token) for token in request.form.getlist("attachment")]
    uploads = [stored for stored in listed if stored is not None]
    used = sum(stored.size for stored in uploads)
    for file in request.files.getlist("files"):
        if not file or not file.filename:
            continue
        try:
            stored = upload_store.save(space, file.filename, file.mimetype, file.stream, _limit(), used)
        except upload_store.UploadTooLarge:
            raise InvalidMessage(too_large_message(), "attachments") from None
        uploads.append(stored)
        used += stored.size
    return uploads


def _outgoing(form: dict, space: str, uploads) -> OutgoingMessage:
    attachments: list[AttachmentData] = []
    for stored in uploads:
        loaded = upload_store.load(space, stored.token)
        if loaded is not None:
            attachments.append(loaded)
    return OutgoingMessage(
        to=reply_prefill.split_recipients(form["to"]),
        cc=reply_prefill.split_recipients(form["cc"]),
        bcc=reply_prefill.split_recipients(form["bcc"]),
        subject=form["subject"],
        text=form["body"].replace("\r\n", "\n"),
        attachments=tuple(attachments),
        in_reply_to=form["in_reply_to"].strip() or None,
        references=tuple(form["references"].split()),
    )


def _from_mailbox(form: dict) -> Mailbox:
    try:
        from_id = int(form["from"])
    except ValueError:
        raise InvalidSettings(_("Choose the mailbox to send from."), field="from") from None
    return access.require(current_user, from_id, "send")


@blueprint.post("/compose")
def compose_post(mailbox_id: int):
    mailbox = _require_any(mailbox_id, ("send", "read"))
    senders = _senders()
    form = _typed()
    action = request.form.get("action", "send")
    if action not in ("send", "draft", "schedule"):
        action = "send"
    space = _space()
    uploads: list = []
    try:
        uploads = _uploads(space)
        from_mailbox = _from_mailbox(form)
        outgoing = _outgoing(form, space, uploads)
        if action == "draft":
            form.update(_save_draft(from_mailbox, form, outgoing))
            folder = form.pop("draft_folder")
            flash(_("The draft is saved in %(folder)s.", folder=folder_shown(from_mailbox, folder)), "success")
            editor = _draft_editor(mailbox, from_mailbox, form, folder)
            if editor is None:  # no UID from the server, or its cache did not follow: the form as it was
                return _render(mailbox, senders, form, uploads)
            upload_store.discard(space, [stored.token for stored in uploads])  # the draft holds them now
            return redirect(editor)
        send_at = _send_at(form) if action == "schedule" else None
        item = outbox.enqueue(from_mailbox, current_user, outgoing,
                              idempotency_key=f"compose:{form['compose_id'] or uuid.uuid4().hex}", send_at=send_at)
    except (InvalidMessage, InvalidSettings, SendVetoed) as problem:
        mail_state().db.session.rollback()
        error = {"field": getattr(problem, "field", None), "message": problem.user_message}
        return _render(mailbox, senders, form, uploads, error), 400
    _after_sending(mailbox, from_mailbox, form, space, uploads)
    not_before = item.not_before if item.not_before.tzinfo else item.not_before.replace(tzinfo=timezone.utc)
    add_banner("sent", item_id=item.id, mailbox_id=from_mailbox.id, until=not_before.timestamp(),
               scheduled=format_datetime(not_before, "medium") if send_at else None)
    target = safe_next(form["next"]) or url_for("tricoma_mail_client.folder", mailbox_id=mailbox.id)
    return redirect(target)


def _send_at(form: dict) -> datetime:
    value = form["send_at"].strip()
    try:
        local = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise InvalidSettings(_("Enter the date and time to send at."), field="send_at") from None
    if form["tz_offset"].strip().lstrip("-").isdigit():
        # minutes west of UTC, as the browser's getTimezoneOffset() tells for that moment
        moment = (local + timedelta(minutes=int(form["tz_offset"]))).replace(tzinfo=timezone.utc)
    else:
        moment = local.replace(tzinfo=get_timezone())
    if moment <= datetime.now(timezone.utc) + timedelta(seconds=30):
        raise InvalidSettings(_("Choose a time in the future."), field="send_at")
    return moment


def _after_sending(mailbox: Mailbox, from_mailbox: Mailbox, form: dict, space: str, uploads) -> None:
    """The draft is done with, the uploads too; a replied-to message is marked answered. None of
    this may undo the sending: failures are only logged."""
    upload_store.discard(space, [stored.token for stored in uploads])
    draft_uid, draft_box = form["draft_uid"], form["draft_mailbox"]
    tidy_after_sending(current_user,
                       draft_mailbox_id=int(draft_box) if draft_uid.isdigit() and draft_box.isdigit() else None,
                       draft_uid=int(draft_uid) if draft_uid.isdigit() else None,
                       replied_mailbox_id=mailbox.id,
                       replied_pk=int(form["source"]) if form["source"].isdigit() else None, mode=form["mode"])


def _save_draft(from_mailbox: Mailbox, form: dict, outgoing: OutgoingMessage) -> dict:
    previous = int(form["draft_uid"]) if form["draft_uid"].isdigit() else None
    if previous and form["draft_mailbox"] != str(from_mailbox.id):
        if form["draft_mailbox"].isdigit():
            discard_draft_quietly(current_user, int(form["draft_mailbox"]), previous)  # the draft moves with the From
        previous = None
    with backend_for(from_mailbox) as backend:
        folder, uid = drafts.save_draft(from_mailbox, backend, current_user, outgoing, replaces_uid=previous)
    return {"draft_uid": str(uid or ""), "draft_mailbox": str(from_mailbox.id), "draft_folder": folder}


def _draft_editor(mailbox: Mailbox, from_mailbox: Mailbox, form: dict, folder: str) -> str | None:
    """Where "Save draft" leads (post/redirect/get, so reloading does not post the form again):
    the saved draft in the form; a reply or forward stays one (it is flagged answered once sent).
    ``None`` where the draft cannot be opened: no UID, not cached, or no *read* on its mailbox."""
    if not form["draft_uid"] or "read" not in access.effective_rights(current_user, from_mailbox.id):
        return None
    draft_pk = drafts.cached_draft(from_mailbox, folder, int(form["draft_uid"]))
    if draft_pk is None:
        return None
    next_url = form["next"] or None
    if form["source"].isdigit() and form["mode"] in reply_prefill.MODES and form["mode"] != "draft":
        return url_for(".compose", mailbox_id=mailbox.id, source=form["source"], mode=form["mode"], draft=draft_pk,
                       draft_mailbox=from_mailbox.id, next=next_url)
    return url_for(".compose", mailbox_id=from_mailbox.id, source=draft_pk, mode="draft", next=next_url)


# -- what the page's script calls -----------------------------------------------------------------


@blueprint.post("/compose/draft")
def save_draft_now(mailbox_id: int):
    """Autosave: store the form as a draft, replacing the previous copy. Answers JSON."""
    _require_any(mailbox_id, ("send", "read"))
    form = _typed()
    space = _space()
    try:
        from_mailbox = _from_mailbox(form)
        uploads = [s for s in (upload_store.describe(space, t) for t in request.form.getlist("attachment")) if s]
        saved = _save_draft(from_mailbox, form, _outgoing(form, space, uploads))
    except (InvalidMessage, InvalidSettings) as problem:
        mail_state().db.session.rollback()
        return jsonify(error=problem.user_message, field=getattr(problem, "field", None)), 400
    return jsonify(draft_uid=saved["draft_uid"], draft_mailbox=saved["draft_mailbox"], folder=saved["draft_folder"],
                   message=_("Draft saved at %(time)s.", time=format_datetime(datetime.now(timezone.utc), "short")))


@blueprint.post("/compose/upload")
def upload(mailbox_id: int):
    """One attachment as the request body (``X-File-Name`` names it). Refused before reading
    when its declared length is over the limit, and while streaming when it turns out to be."""
    _require_any(mailbox_id, ("send", "read"))
    space = _space()
    limit = _limit()
    tokens = [t for t in request.headers.get("X-Uploaded", "").split(",") if t]
    used = upload_store.total_size(space, tokens)
    length = request.content_length
    if length is None:
        return jsonify(error=_("The upload has no length.")), 411
    if length + used > limit:
        return jsonify(error=too_large_message()), 413
    filename = unquote(request.headers.get("X-File-Name", ""))[:500]
    # The body is sent as application/octet-stream (never a form type the CSRF check would
    # parse); the file's own type comes in a header.
    content_type = request.headers.get("X-File-Type", "")[:200]
    try:
        stored = upload_store.save(space, filename, content_type, request.stream, limit, used)
    except upload_store.UploadTooLarge:
        return jsonify(error=too_large_message()), 413
    return jsonify(token=stored.token, filename=stored.filename, size=stored.size,
                   size_text=human_size(stored.size), content_type=stored.content_type)


@blueprint.post("/sent/<int:item_id>/undo")
def undo_send(mailbox_id: int, item_id: int):
    """Stop a mail in the outbox and bring it back into the editor."""
    _require_any(mailbox_id, ("send", "read"))
    try:
        item = user_outbox.cancel(current_user, item_id)
    except NotAllowed as problem:
        flash(problem.user_message, "error")
        return redirect(safe_next(request.form.get("next")) or url_for("tricoma_mail_client.overview"))
    flash(_("The mail was not sent. It is back in the editor."), "success")
    return redirect(url_for(".compose", mailbox_id=item.mailbox_id or mailbox_id, restore=item.id))

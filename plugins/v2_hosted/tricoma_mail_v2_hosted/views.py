"""The v2 interface: one page (three panes) and the JSON its script calls, plus the event stream
that tells an open page what changed on the server.

Every view checks the user's right on the mailbox through core (``require_mailbox_right``) and
calls the same core services as the v1 pages (listing, search, flags, move, delete and undo,
reply pre-fill, the outbox with its undo window); none of them reloads the page.
"""
from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import format_datetime
from flask_login import current_user

from tricoma_mail_plugin import (
    INLINE_ATTACHMENT_TYPES,
    InvalidSettings,
    NotAllowed,
    OutgoingMessage,
    TEAM_VIEWS,
    SearchQuery,
    UndoDelete,
    cached_folder_ids,
    cached_folders,
    cancel_outbox_item,
    compose_attachments,
    compose_prefill,
    db_session,
    delete_messages,
    delete_messages_for_good,
    discard_compose_uploads,
    enqueue_mail,
    forget_versions,
    keep_compose_attachments,
    list_messages,
    mailbox_rights_of,
    message_attachments,
    menu_items,
    move_with_undo,
    outbox_attachments,
    require_mailbox_right,
    search_messages,
    set_message_flags,
    sign_in_required,
    size_text,
    split_recipients,
    team_in_view,
    team_list_states,
    tidy_after_sending,
    undo_delete,
    undo_move,
)

from . import compose_files, conversations, preferences
from .client_values import (
    conversation_value,
    folder_roles,
    folder_values,
    message_value,
)
from .i18n import gettext as _
from .live_stream import event_stream
from .push.watcher import ensure_embedded
from .ui_text import SHORTCUTS, client_words, shortcut_labels, team_words

LIST_LIMIT = 200
#: the most messages one list answer holds: the page asks for LIST_LIMIT more each time the user
#: scrolls to the end (a longer way back is a search)
LIST_MAX = 5000
UNDO_KEY = "v2_hosted_undo"
UNDO_KEPT = 5
FLAG_ACTIONS = ("read", "unread", "flag", "unflag")
#: the right each action needs, checked before anything else (a stranger learns nothing)
ACTION_RIGHTS = {**{action: "write" for action in FLAG_ACTIONS}, "move": "write", "archive": "write",
                 "delete": "delete", "delete_for_good": "delete"}
COMPOSE_MODES = ("reply", "reply_all", "forward", "forward_attachment", "draft")

pages = Blueprint("v2_hosted", __name__, url_prefix="/mail/v2", template_folder="templates",
                  static_folder="static", static_url_path="/static", cli_group="v2-hosted")
sign_in_required(pages)

api = Blueprint("v2_hosted_api", __name__, url_prefix="/mail/v2/api/m/<int:mailbox_id>")
sign_in_required(api, json_api=True)
compose_files.install(pages, api)  # attachments and autosave of the compose dialog


@api.url_value_preprocessor
def _refuse_impossible_ids(_endpoint, values):
    if not 0 < int((values or {}).get("mailbox_id", 1)) < 2**63:
        abort(404)


# -- the page ------------------------------------------------------------------------------------


@pages.get("/m/<int:mailbox_id>/")
def client(mailbox_id: int):
    mailbox = require_mailbox_right(current_user, mailbox_id, "read")
    # core's page of the mailbox's server-side filters and vacation reply, for who may manage it
    filters_url = (url_for("tricoma_mail_filters.index", mailbox_id=mailbox.id)
                   if "manage" in mailbox_rights_of(current_user, mailbox.id) else None)
    return render_template(
        "v2_hosted/client.html", mailbox=mailbox, layout=preferences.layout_of(current_user.get_id()),
        filters_url=filters_url,
        words=client_words(), team_words=team_words(), shortcuts=[(key, shortcut_labels()[name], name) for key, name in SHORTCUTS],
        page_title=_("%(mailbox)s – Mail", mailbox=mailbox.title),
        undo_send_seconds=current_app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"],
    )


# -- folders, lists, search ----------------------------------------------------------------------


@api.get("/folders")
def folders(mailbox_id: int):
    mailbox = require_mailbox_right(current_user, mailbox_id, "read")
    return jsonify(folders=folder_values(mailbox, cached_folders(mailbox)))


@api.get("/messages/<int:message_pk>/attachments")
def attachments(mailbox_id: int, message_pk: int):
    """A message's attachments for the reading pane, each with core's download link (and an
    "open" link for what a browser shows itself: PDF, images; core's ``INLINE_ATTACHMENT_TYPES``)."""
    found = message_attachments(current_user, mailbox_id, message_pk)

    def link(part_id: str, **extra) -> str:
        return url_for("tricoma_mail_message.attachment", mailbox_id=mailbox_id, message_pk=message_pk,
                       part_id=part_id, **extra)

    return jsonify(attachments=[
        {"filename": part.filename, "size": part.size, "size_text": size_text(part.size), "url": link(part.part_id),
         "open_url": link(part.part_id, inline="1") if part.content_type in INLINE_ATTACHMENT_TYPES else None}
        for part in found])


@api.get("/messages")
def messages(mailbox_id: int):
    """The messages of one folder (or those matching ``q``), as conversations when asked: a
    conversation gathers the folder's messages with their replies in the other folders (Sent)."""
    mailbox = require_mailbox_right(current_user, mailbox_id, "read")
    folder = request.args.get("folder") or "INBOX"
    text = (request.args.get("q") or "").strip()[:200]
    tag = (request.args.get("tag") or "").strip()[:100].lower()  # only messages with this tag (keyword)
    limit = min(max(request.args.get("limit", type=int) or LIST_LIMIT, 1), LIST_MAX)
    in_folder = cached_folder_ids(mailbox.id, [folder])
    if text:
        listed = search_messages(in_folder, SearchQuery(text=text), limit + 1).messages
        more = len(listed) > limit  # more matches than these
        listed = listed[:limit]
        if tag:
            listed = [m for m in listed if tag in {keyword.lower() for keyword in m.keywords}]
    else:
        found = list_messages(in_folder, limit=limit, keyword=tag or None)
        listed, more = found.messages, found.next_cursor is not None  # older messages than these
    view = request.args.get("team") or ""
    if view not in TEAM_VIEWS:
        view = ""
    if request.args.get("conversations") != "1":
        return jsonify(mode="messages", team_view=view, more=more,
                       items=with_team_state(mailbox.id, [message_value(m) for m in listed], view))
    others = [name for name, role in folder_roles(mailbox, cached_folders(mailbox)).items()
              if role in ("inbox", "sent") and name != folder]
    related = list_messages(cached_folder_ids(mailbox.id, others), limit=limit * 2).messages if others else []
    shown = {m.id for m in listed}
    threads = [c for c in conversations.group(listed + related) if any(m.id in shown for m in c.messages)]
    return jsonify(mode="conversations", team_view=view, more=more,
                   items=with_team_state(mailbox.id, [conversation_value(c) for c in threads], view))


def with_team_state(mailbox_id: int, items: list[dict], view: str) -> list[dict]:
    """The items of ``view`` (every one not snoozed when none is chosen), each with its team state
    (assignee, status), found by its Message-IDs; a conversation back from its snooze or with a
    reminder due comes first, as if it had just arrived."""
    states = team_list_states(mailbox_id, [item["message_ids"] for item in items])
    viewer = str(current_user.get_id())
    shown = []
    for item, state in zip(items, states, strict=True):
        if team_in_view(state, view, viewer):
            item["team"] = state.as_json(viewer)
            shown.append(item)
    back = sorted((item for item in shown if _returned_since(item)), key=lambda item: item["team"]["returned_at"],
                  reverse=True)
    return back + [item for item in shown if not _returned_since(item)]


def _returned_since(item: dict) -> bool:
    """Back from its snooze (or a reminder came due) after its newest message arrived."""
    returned = item["team"]["returned_at"]
    latest = (item.get("latest") or item).get("date")
    return bool(returned and (latest is None or datetime.fromisoformat(returned) > datetime.fromisoformat(latest)))


# -- actions and undo ------------------------------------------------------------------------------


@api.post("/actions")
def actions(mailbox_id: int):
    data = request.get_json(silent=True, force=True) or {}
    action = data.get("action")
    mailbox = require_mailbox_right(current_user, mailbox_id, ACTION_RIGHTS.get(action, "read"))
    if action not in ACTION_RIGHTS:
        abort(400)
    ids = [int(value) for value in data.get("ids") or () if str(value).isdigit()]
    if not ids:
        raise InvalidSettings(_("Choose at least one message."))
    if action in FLAG_ACTIONS:
        return jsonify(done=set_message_flags(current_user, mailbox.id, ids, action))
    if action == "delete":
        return jsonify(**_undoable("delete", delete_messages(current_user, mailbox.id, ids)))
    if action == "delete_for_good":  # in Trash, after the page asked (no undo)
        return jsonify(done=delete_messages_for_good(current_user, mailbox.id, ids))
    if action == "move":
        target = str(data.get("target") or "")
    else:
        roles = folder_roles(mailbox, cached_folders(mailbox))
        target = next((name for name, role in roles.items() if role == "archive"), None)
        if target is None:
            raise InvalidSettings(_("This mailbox has no archive folder."))
    return jsonify(**_undoable("move", move_with_undo(current_user, mailbox.id, ids, target)), target=target)


def _undoable(kind: str, undo: UndoDelete) -> dict:
    token = secrets.token_urlsafe(12)
    kept = dict(session.get(UNDO_KEY) or {})
    kept[token] = {"kind": kind, "undo": undo.to_dict()}
    session[UNDO_KEY] = dict(list(kept.items())[-UNDO_KEPT:])
    return {"done": undo.count, "undo": token}


@api.post("/undo")
def undo(mailbox_id: int):
    """Undo a delete or move of this session; the service checks the right the undo needs."""
    require_mailbox_right(current_user, mailbox_id, "read")
    token = str((request.get_json(silent=True, force=True) or {}).get("token") or "")
    kept = dict(session.get(UNDO_KEY) or {})
    entry = kept.pop(token, None)
    session[UNDO_KEY] = kept
    if entry is None or int(entry["undo"]["mailbox_id"]) != mailbox_id:
        raise InvalidSettings(_("This can no longer be undone."))
    value = UndoDelete.from_dict(entry["undo"])
    restored = undo_move(current_user, value) if entry["kind"] == "move" else undo_delete(current_user, value)
    return jsonify(restored=restored)


# -- compose, send, undo send ----------------------------------------------------------------------


@api.get("/compose")
def compose_start(mailbox_id: int):
    """The pre-filled fields of a reply, a reply to all, a forward (inline or as attachment) of
    message ``source``, or of the draft ``source`` to edit; the attachments it carries over are
    kept in core's upload store, as if uploaded."""
    mode = request.args.get("mode", "reply")
    mailbox = require_mailbox_right(current_user, mailbox_id, "send" if mode == "draft" else "read")
    source = request.args.get("source", type=int)
    if mode not in COMPOSE_MODES or not source:
        abort(400)
    start = compose_prefill(mailbox, source, mode)
    draft = {"draft_uid": str(start.replaces_draft_uid or ""), "draft_mailbox": str(mailbox.id)} if mode == "draft" else {}
    return jsonify(to=start.to, cc=start.cc, bcc=start.bcc, subject=start.subject, body=start.body,
                   in_reply_to=start.in_reply_to, references=" ".join(start.references),
                   compose_id=uuid.uuid4().hex, source="" if mode == "draft" else source, mode=mode,
                   attachments=compose_files.upload_values(keep_compose_attachments(start.attachments)), **draft)


@api.post("/send")
def send(mailbox_id: int):
    """Queue the mail in core's outbox: it leaves after the undo window, or, with ``schedule``
    (the dialog's "Send later"), at ``send_at`` (local time of the browser, ``tz_offset``
    minutes west of UTC), as v1's "Schedule". Drafts are saved by v1's own draft endpoint
    (``tricoma_mail_compose.save_draft_now``)."""
    mailbox = require_mailbox_right(current_user, mailbox_id, "send")
    data = request.get_json(silent=True, force=True) or {}
    text = {name: str(data.get(name) or "") for name in
            ("to", "cc", "bcc", "subject", "body", "in_reply_to", "references", "compose_id", "send_at", "tz_offset",
             "source", "mode", "draft_uid", "draft_mailbox")}
    attached = data.get("attachments") if isinstance(data.get("attachments"), list) else []
    outgoing = OutgoingMessage(
        to=split_recipients(text["to"]), cc=split_recipients(text["cc"]), bcc=split_recipients(text["bcc"]),
        subject=text["subject"],
        text=text["body"].replace("\r\n", "\n"), in_reply_to=text["in_reply_to"].strip() or None,
        references=tuple(text["references"].split()), attachments=compose_attachments(attached))
    schedule = data.get("schedule") is True or bool(text["send_at"])
    send_at = _send_at(text["send_at"], text["tz_offset"]) if schedule else None
    item = enqueue_mail(mailbox, current_user, outgoing, send_at=send_at,
                        idempotency_key=f"v2-compose:{text['compose_id'] or uuid.uuid4().hex}")
    db_session().commit()
    discard_compose_uploads(attached)  # in the outbox now; an undo keeps them again
    # the draft it was written from goes, a replied-to message is marked answered (as in v1)
    tidy_after_sending(current_user, draft_mailbox_id=_number(text["draft_mailbox"]),
                       draft_uid=_number(text["draft_uid"]), replied_mailbox_id=mailbox.id,
                       replied_pk=_number(text["source"]), mode=text["mode"])
    not_before = item.not_before if item.not_before.tzinfo else item.not_before.replace(tzinfo=UTC)
    return jsonify(item_id=item.id, undo_seconds=max(0.0, not_before.timestamp() - time.time()),
                   scheduled=send_at is not None,
                   scheduled_text=format_datetime(not_before, "medium") if send_at is not None else None)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


def _send_at(value: str, tz_offset: str) -> datetime:
    try:
        local = datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M")
    except ValueError:
        raise InvalidSettings(_("Enter the date and time to send at."), field="send_at") from None
    minutes = int(tz_offset) if tz_offset.strip().lstrip("-").isdigit() else 0
    moment = (local + timedelta(minutes=minutes)).replace(tzinfo=UTC)
    if moment <= datetime.now(UTC) + timedelta(seconds=30):
        raise InvalidSettings(_("Choose a time in the future."), field="send_at")
    return moment


@api.post("/sent/<int:item_id>/undo")
def undo_send(mailbox_id: int, item_id: int):
    require_mailbox_right(current_user, mailbox_id, "send")
    try:
        item = cancel_outbox_item(current_user, item_id)
    except NotAllowed as too_late:  # on its way already (as v1's undo says)
        return jsonify(error=too_late.user_message, cancelled=False), 400
    cancelled = item.state == "cancelled"
    # back into the dialog with its attachments, kept again in the upload store
    kept = compose_files.upload_values(outbox_attachments(item.raw)) if cancelled else []
    return jsonify(cancelled=cancelled, attachments=kept)


# -- the user's layout -----------------------------------------------------------------------------


@api.post("/layout")
def layout(mailbox_id: int):
    require_mailbox_right(current_user, mailbox_id, "read")
    saved = preferences.save_layout(current_user.get_id(), request.get_json(silent=True, force=True) or {})
    return jsonify(saved.as_dict())


# -- live updates ----------------------------------------------------------------------------------


@api.get("/events")
def events(mailbox_id: int):
    """Server-sent events: ``folders`` whenever a count or the change feed moved, ``navigation``
    whenever an unread count of the host's navigation did (the unified inbox's too)."""
    mailbox = require_mailbox_right(current_user, mailbox_id, "read")
    ensure_embedded(current_app._get_current_object())
    longest = float(current_app.config.get("TRICOMA_MAIL_V2_STREAM_SECONDS", 300))
    asked = request.args.get("seconds", type=float)  # a probe may ask for a shorter stream
    user = current_user._get_current_object()

    def navigation() -> list[list]:
        forget_versions()  # a stream is one long request: read the unread counts' version again
        return [[item.url, item.badge or 0] for item in menu_items(user) if item.section == "mail"]

    stream = event_stream(mailbox, longest if asked is None else max(0.0, min(asked, longest)), navigation)
    response = Response(stream_with_context(stream), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def client_url(mailbox_id: int) -> str:
    return url_for("v2_hosted.client", mailbox_id=mailbox_id)

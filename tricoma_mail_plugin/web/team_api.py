"""The JSON of team mail in shared mailboxes, under ``/api/mail/team/m/<mailbox>/``: a
conversation's state, assign, status, snooze, follow-up reminders and who is answering; and the
audit of team actions as CSV. Every route checks the user's right on the mailbox first (a
stranger learns nothing); the services (``team/``) hold the logic.

A conversation is named by its Message-IDs (``message_ids``: the IDs of its messages and those
they answer), never by UID or folder.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import InvalidSettings
from ..rights import access
from ..team import presence, reminders, state
from .mail_common import install
from .mailbox_rights import _audit_lines as audit_lines

blueprint = Blueprint("tricoma_mail_team", __name__, url_prefix="/api/mail/team/m/<int:mailbox_id>")
install(blueprint, json_api=True)

#: the newest entries the CSV export holds at most
AUDIT_EXPORT_LIMIT = 100_000
#: the longest a snooze or reminder may reach
LONGEST = timedelta(days=366)


def _data() -> dict:
    return request.get_json(silent=True, force=True) or {}


def _ids(data: dict) -> list[str]:
    values = data.get("message_ids")
    if not isinstance(values, list):
        raise InvalidSettings(_("Choose a conversation."), field="message_ids")
    return [str(value) for value in values[:500] if isinstance(value, str)]


def _answer(found: state.TeamState):
    return jsonify(found.as_json(current_user.get_id()))


def _moment(data: dict, name: str) -> datetime:
    """A moment the page sends: ``<name>`` as local ``YYYY-MM-DDTHH:MM`` with ``tz_offset``
    (minutes, as JavaScript's ``getTimezoneOffset``), or ``<name>_days`` from now."""
    days = data.get(f"{name}_days")
    if isinstance(days, (int, float)) and not isinstance(days, bool) and 0 < days <= LONGEST.days:
        return datetime.now(UTC) + timedelta(days=days)
    text = str(data.get(name) or "").strip()
    try:
        local = datetime.strptime(text, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise InvalidSettings(_("Enter a date and time."), field=name) from None
    offset = str(data.get("tz_offset") or "0").strip()
    minutes = int(offset) if offset.lstrip("-").isdigit() and abs(int(offset)) <= 24 * 60 else 0
    moment = (local + timedelta(minutes=minutes)).replace(tzinfo=UTC)
    if moment > datetime.now(UTC) + LONGEST:
        raise InvalidSettings(_("Choose a date within a year."), field=name)
    return moment


@blueprint.post("/conversation")
def conversation(mailbox_id: int):
    """The full state of one conversation: assignee, status, snooze, reminders, who is answering."""
    return _answer(state.conversation_state(current_user, mailbox_id, _ids(_data())))


@blueprint.get("/people")
def people(mailbox_id: int):
    """Who a conversation may be assigned to: the users who may read the mailbox."""
    access.require(current_user, mailbox_id, "read")
    return jsonify(people=[p.as_json() for p in state.assignable_users(mailbox_id)], me=str(current_user.get_id()))


@blueprint.post("/assign")
def assign(mailbox_id: int):
    data = _data()
    assignee = data.get("assignee")
    if assignee == "me":
        assignee = current_user.get_id()
    if assignee is not None and not isinstance(assignee, (str, int)):
        abort(400)
    return _answer(state.assign(current_user, mailbox_id, _ids(data), assignee,
                                subject=str(data.get("subject") or "")))


@blueprint.post("/status")
def status(mailbox_id: int):
    data = _data()
    return _answer(state.set_status(current_user, mailbox_id, _ids(data), str(data.get("status") or ""),
                                    subject=str(data.get("subject") or "")))


@blueprint.post("/snooze")
def snooze(mailbox_id: int):
    data = _data()
    until = None if data.get("wake") else _moment(data, "until")
    return _answer(reminders.snooze(current_user, mailbox_id, _ids(data), until, subject=str(data.get("subject") or "")))


@blueprint.post("/follow-up")
def follow_up(mailbox_id: int):
    data = _data()
    return _answer(reminders.follow_up(current_user, mailbox_id, _ids(data), _moment(data, "due_at"),
                                       subject=str(data.get("subject") or "")))


@blueprint.post("/follow-up/<int:reminder_id>/cancel")
def cancel_follow_up(mailbox_id: int, reminder_id: int):
    return _answer(reminders.cancel_follow_up(current_user, mailbox_id, reminder_id))


@blueprint.post("/presence")
def presence_start(mailbox_id: int):
    """``user`` opened a reply on the conversation."""
    return _answer(presence.start(current_user, mailbox_id, _ids(_data())))


@blueprint.post("/presence/<int:thread_id>/beat")
def presence_beat(mailbox_id: int, thread_id: int):
    return jsonify(known=presence.beat(current_user, mailbox_id, thread_id))


@blueprint.post("/presence/<int:thread_id>/stop")
def presence_stop(mailbox_id: int, thread_id: int):
    return _answer(presence.stop(current_user, mailbox_id, thread_id, sent=bool(_data().get("sent"))))


@blueprint.get("/audit.csv")
def audit_csv(mailbox_id: int):
    """The mailbox's audit log (team actions, rights, send on behalf…) as CSV, for those who
    manage the mailbox (who see the log on the rights page)."""
    mailbox = access.require(current_user, mailbox_id, "manage")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("When (UTC)"), _("Who"), _("Action"), _("Details")])
    for line in audit_lines(mailbox.id, limit=AUDIT_EXPORT_LIMIT):
        writer.writerow([line.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), _csv_safe(line.actor),
                         _csv_safe(line.action), _csv_safe(line.details)])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-mailbox-{mailbox.id}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: no formula (OWASP "CSV injection")."""
    text = str(text or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

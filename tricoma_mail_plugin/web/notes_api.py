"""The JSON API of internal notes on a conversation (team/notes.py): list, add, and the people
a note may mention. A conversation is named by its Message-IDs, as everywhere in team mail."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from ..plugins.ui import sign_in_required
from ..rights import access
from ..team import notes

blueprint = Blueprint("tricoma_mail_notes", __name__, url_prefix="/mail/team/notes")
sign_in_required(blueprint, json_api=True)

MAX_IDS = 200


def _payload() -> dict:
    data = request.get_json(silent=True, force=True)
    return data if isinstance(data, dict) else {}


def _ids(data: dict) -> list[str]:
    values = data.get("message_ids")
    if not isinstance(values, list):
        return []
    return [value for value in values[:MAX_IDS] if isinstance(value, str) and len(value) < 1000]


def _text(data: dict, name: str, limit: int) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


@blueprint.post("/<int:mailbox_id>/list")
def list_notes(mailbox_id: int):
    found = notes.notes_of(current_user, mailbox_id, _ids(_payload()))
    return jsonify(notes=[note.as_json() for note in found])


@blueprint.post("/<int:mailbox_id>")
def add(mailbox_id: int):
    data = _payload()
    note = notes.add_note(current_user, mailbox_id, _ids(data), _text(data, "text", notes.MAX_CHARACTERS + 1),
                          subject=_text(data, "subject", 500))
    return jsonify(note=note.as_json()), 201


@blueprint.get("/<int:mailbox_id>/people")
def people(mailbox_id: int):
    access.require(current_user, mailbox_id, "read")
    return jsonify(people=[{"id": p.id, "label": p.label, "login": p.login} for p in notes.mentionable(mailbox_id)])

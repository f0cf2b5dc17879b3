"""Mail settings → Reply templates: a user's own templates and quick replies and those of the
mailboxes the user manages; and the JSON the compose pages' picker uses (the templates one may
choose, one filled in for the record the mail is about)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from .._state import db_session
from ..errors import InvalidSettings, MailError
from ..mail import reply_templates
from ..models import Mailbox, RecordLink, is_row_id
from ..plugins.ui import sign_in_required
from ..records.mail_templates import TemplateFailed
from ..records.references import Reference, describe_reference, reference_types
from ..records.template_fields import declared_fields, fields_for, offered_fields
from ..rights import access
from ..team.threads import normal_ids

blueprint = Blueprint("tricoma_mail_reply_templates", __name__, url_prefix="/mail/templates",
                      template_folder="../templates")
sign_in_required(blueprint)

FORM_FIELDS = ("scope", "kind", "name", "language", "subject", "body")


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


# -- the settings page ----------------------------------------------------------------------------


@blueprint.get("/")
def index():
    return render_template("tricoma_mail/reply_templates/index.html",
                           templates=reply_templates.manageable(current_user), fields=offered_fields(),
                           record_kinds=_record_kinds(),
                           kinds=reply_templates.kind_labels(), languages=reply_templates.language_labels())


@blueprint.route("/new", methods=["GET", "POST"])
def create():
    return _edit(None)


@blueprint.route("/<int:template_id>", methods=["GET", "POST"])
def edit(template_id: int):
    return _edit(template_id)


def _edit(template_id: int | None):
    row = reply_templates.get(current_user, template_id, for_editing=True) if template_id is not None else None
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in FORM_FIELDS}
        try:
            reply_templates.save(current_user, template_id, **form)
        except InvalidSettings as error:
            db_session().rollback()
            return _form(template_id, form, FieldError(error.field, error.user_message)), 400
        flash(_("The template “%(name)s” is saved.", name=" ".join(form["name"].split())), "success")
        return redirect(url_for(".index"))
    if row is None:
        form = {"scope": "personal", "kind": "template", "name": "",
                "language": (getattr(current_user, "language", None) or "de"), "subject": "", "body": ""}
    else:
        form = {"scope": str(row.mailbox_id) if row.mailbox_id is not None else "personal", "kind": row.kind,
                "name": row.name, "language": row.language, "subject": row.subject, "body": row.body}
    return _form(template_id, form, None)


def _form(template_id, form, error):
    return render_template("tricoma_mail/reply_templates/edit.html", template_id=template_id, form=form, error=error,
                           mailboxes=reply_templates.manageable_mailboxes(current_user), fields=offered_fields(),
                           record_kinds=_record_kinds(),
                           kinds=reply_templates.kind_labels(), languages=reply_templates.language_labels())


def _record_kinds() -> dict[str, str]:
    """Reference kind → its name (``invoice`` → "Invoice"), for the variables' table."""
    return {kind: str(reference_type.label) for kind, reference_type in reference_types().items()}


@blueprint.post("/<int:template_id>/delete")
def delete(template_id: int):
    reply_templates.delete(current_user, template_id)
    flash(_("The template is deleted."), "success")
    return redirect(url_for(".index"))


# -- the compose pages' picker --------------------------------------------------------------------


@blueprint.get("/api/available")
def available():
    mailbox_ids = [int(v) for v in request.args.getlist("mailbox") if v.isdigit() and len(v) < 11][:50]
    return jsonify(templates=[t.as_json() for t in reply_templates.available(current_user, mailbox_ids)],
                   variables=[field.name for field in declared_fields()])


@blueprint.post("/api/<int:template_id>/render")
def render(template_id: int):
    """The template filled in for the mail being written: from a record's mail dialog
    (``reference``), or answering a conversation whose mail is linked to a record
    (``mailbox_id`` and ``message_ids``)."""
    data = request.get_json(silent=True, force=True)
    data = data if isinstance(data, dict) else {}
    row = reply_templates.get(current_user, template_id)
    mailbox = _mailbox(data.get("mailbox_id"))
    reference = _reference(data.get("reference")) or _linked_reference(mailbox, data.get("message_ids"))
    try:
        rendered = reply_templates.render(row, fields_for(reference, current_user, mailbox, row.language))
    except TemplateFailed as error:
        return jsonify(error=error.user_message), 400
    return jsonify(**rendered.as_json(), reference=str(reference) if reference else None)


def _mailbox(value) -> Mailbox | None:
    """The mailbox written from, if the user may read it."""
    if not is_row_id(value):
        return None
    try:
        return access.require(current_user, value, "read")
    except MailError:  # an unknown or foreign mailbox offers no values
        return None


def _reference(text) -> Reference | None:
    if not isinstance(text, str) or not text or len(text) > 200:
        return None
    try:
        reference = Reference.parse(text)
    except ValueError:
        return None
    if reference.kind not in reference_types() or describe_reference(reference) is None:
        return None
    return reference


def _linked_reference(mailbox: Mailbox | None, message_ids) -> Reference | None:
    """The record the newest linked mail among ``message_ids`` (the answered mail, its
    references) belongs to."""
    if mailbox is None or not isinstance(message_ids, list):
        return None
    ids = normal_ids(value for value in message_ids[:200] if isinstance(value, str))
    if not ids:
        return None
    text = db_session().scalar(select(RecordLink.reference).where(
        RecordLink.mailbox_id == mailbox.id, func.lower(RecordLink.message_id).in_(ids))
        .order_by(RecordLink.at.desc(), RecordLink.id.desc()).limit(1))
    return _reference(text) if text else None

"""Settings → Mailboxes → Rights (SPEC M6): the users/groups × rights matrix of one mailbox, adding
and removing a user or group, a "what may this user do here" preview, the audit log, and the
admin's explicit, audited "open as admin".

Every page and action needs *manage* (``access.require``): an unknown or foreign mailbox answers
404, one the user sees but may not manage answers 403, each with a page that says so in words.
Changes go through :mod:`rights_matrix`, which checks the whole request before it changes
anything; a request naming an unknown right, user or group answers 400 and changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
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
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from ..errors import MailboxNotFound, NotAllowed
from ..mailboxes.connection_steps import outcome_text
from ..models import Mailbox
from ..plugins.ui import sign_in_required
from ..records.references import Reference, describe_reference
from ..rights import access, grants
from ..rights.directory import directory
from ..rights.grants import InvalidRightsChange
from ..team.audit import TEAM_ACTION_LABELS, deletion_text, team_details_text
from .mailbox_settings import FieldError

blueprint = Blueprint(
    "tricoma_mail_rights",
    __name__,
    url_prefix="/mail/settings/mailboxes",
    template_folder="../templates",
)

ACTION_LABELS = {
    "grant": _l("Right granted"),
    "revoke": _l("Right revoked"),
    "send_on_behalf": _l("Sent on behalf"),
    "admin_read": _l("Opened as admin"),
    "connection_test": _l("Connection tested"),
    "settings_changed": _l("Settings changed"),
    "folder_roles_changed": _l("Folder mapping changed"),
    "folder_created": _l("Folder created"),
    "folder_renamed": _l("Folder renamed"),
    "folder_deleted": _l("Folder deleted"),
    "folder_trashed": _l("Folder moved to the Trash"),
    "mailbox_deleted": _l("Mailbox removed"),
    **TEAM_ACTION_LABELS,
}


@dataclass(frozen=True)
class AuditLine:
    """One audit entry as the page shows it."""

    at: datetime
    actor: str
    action: str
    details: str


sign_in_required(blueprint)


@blueprint.errorhandler(403)
@blueprint.errorhandler(404)
def _refused(error):
    # A user whose rights were taken away while the page was open lands here on the next click:
    # say what happened in words, never with a bare status page.
    return render_template("tricoma_mail/rights/refused.html", status=error.code), error.code


@blueprint.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"principal_text": principal_text}


def _managed_mailbox(mailbox_id: int) -> Mailbox:
    try:
        return access.require(current_user, mailbox_id, "manage")
    except MailboxNotFound:
        abort(404)
    except NotAllowed:
        abort(403)


def _actor() -> str:
    return str(current_user.get_id())


# -- the page ---------------------------------------------------------------------------------


@blueprint.get("/<int(signed=True):mailbox_id>/rights")
def index(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    chosen = request.args.get("user", "")
    if not chosen:
        return _render(mailbox)
    principal = grants.lookup("user", chosen)
    user = directory().load_user(principal.id) if principal is not None else None
    if user is None:
        return _render(mailbox, error=FieldError("user", _("There is no such user."), form="preview")), 400
    return _render(mailbox, preview_of=(principal, user))


def _render(mailbox: Mailbox, *, error: FieldError | None = None, preview_of=None) -> str:
    rights = grants.ordered_rights()
    preview_principal, preview_user = preview_of or (None, None)
    return render_template(
        "tricoma_mail/rights/index.html",
        mailbox=mailbox,
        rights=rights,
        rows=grants.matrix(mailbox.id),
        candidates=grants.candidates(mailbox.id),
        users=directory().users(),
        has_manager=grants.has_manager(mailbox.id),
        preview_principal=preview_principal,
        preview=grants.preview(preview_user, mailbox.id) if preview_user is not None else None,
        preview_admin_without_read=getattr(preview_user, "is_admin", False)
        and "read" not in access.effective_rights(preview_user, mailbox.id),
        audit_lines=_audit_lines(mailbox.id),
        may_open_as_admin=getattr(current_user, "is_admin", False)
        and "read" not in access.effective_rights(current_user, mailbox.id),
        error=error,
        typed=request.form if error else {},
        chosen_user=request.args.get("user", ""),
    )


# -- changes ----------------------------------------------------------------------------------


@blueprint.post("/<int(signed=True):mailbox_id>/rights")
def save(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    try:
        changes = grants.plan_matrix(mailbox.id, request.form.getlist("principal"),
                                            request.form.getlist("grant"))
    except InvalidRightsChange as error:
        return _render(mailbox, error=FieldError(None, error.user_message, form="matrix")), 400
    return _apply(mailbox, changes)


@blueprint.post("/<int(signed=True):mailbox_id>/rights/add")
def add(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    principal = grants.parse_principal(request.form.get("principal"))
    rights = request.form.getlist("right")
    if principal is None:
        return _render(mailbox, error=FieldError("principal", _("Choose a user or group."), form="add")), 400
    if not rights:
        return _render(mailbox, error=FieldError("right", _("Choose at least one right to give."), form="add")), 400
    try:
        changes = grants.plan_grant(mailbox.id, *principal, rights)
    except InvalidRightsChange as error:
        return _render(mailbox, error=FieldError("principal", error.user_message, form="add")), 400
    return _apply(mailbox, changes)


@blueprint.post("/<int(signed=True):mailbox_id>/rights/remove")
def remove(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    principal = grants.parse_principal(request.form.get("remove"))
    if principal is None:
        return _render(mailbox, error=FieldError(None, _("Choose a user or group to remove."), form="matrix")), 400
    return _apply(mailbox, grants.plan_revoke(mailbox.id, *principal))


def _apply(mailbox: Mailbox, changes: list[grants.RightsChange]):
    done = grants.apply(mailbox.id, changes, actor=_actor())
    if done:
        flash(ngettext("The rights are saved: %(num)d change, recorded in the log.",
                       "The rights are saved: %(num)d changes, each recorded in the log.", done), "success")
    else:
        flash(_("Nothing was changed."), "success")
    if not grants.has_manager(mailbox.id):
        flash(_("No user or group manages this mailbox any more. Only admins can now change its "
                "settings, folders and rights."), "warning")
    if "manage" not in access.effective_rights(current_user, mailbox.id):
        flash(_("You no longer manage the mailbox %(title)s.", title=mailbox.title), "warning")
        return redirect(url_for("tricoma_mail_mailboxes.index"))
    return redirect(url_for(".index", mailbox_id=mailbox.id))


# -- admins: open as admin --------------------------------------------------------------------


@blueprint.post("/<int(signed=True):mailbox_id>/rights/admin-read")
def admin_read(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    try:
        access.admin_read(current_user, mailbox.id, request.form.get("reason", ""))
    except NotAllowed:
        abort(403)
    except ValueError:
        error = FieldError("reason", _("State why you need to read this mailbox's mail."), form="admin_read")
        return _render(mailbox, error=error), 400
    flash(_("You may now read the mail of %(title)s. This is recorded in the log with your reason.",
            title=mailbox.title), "success")
    return redirect(url_for(".index", mailbox_id=mailbox.id))


# -- how principals and audit entries are shown -----------------------------------------------


def principal_text(kind: str, principal_id: str) -> str:
    """A user's or group's name, or that it no longer exists (with its id)."""
    principal = grants.lookup(kind, principal_id)
    if kind == "group":
        if principal is None:
            return _("deleted group #%(id)s", id=principal_id)
        return _("group %(name)s", name=principal.label)
    return principal.label if principal is not None else _("deleted user #%(id)s", id=principal_id)


def _actor_text(actor: str) -> str:
    if actor == "cli":
        return _("command line (operator)")
    if actor == "system":
        return _("system")
    return principal_text("user", actor)


def _moment_text(iso: str) -> str:
    try:
        return format_datetime(datetime.fromisoformat(iso), "medium")
    except ValueError:
        return iso


def _record_text(reference: str) -> str:
    """The record's title (an invoice's number, say), or the reference when it is gone."""
    try:
        record = describe_reference(Reference.parse(reference))
    except Exception:  # noqa: BLE001 - an odd reference or a failing plugin must not break the log
        return reference
    return record.title if record is not None else reference


def _audit_lines(mailbox_id: int, limit: int = 200) -> list[AuditLine]:
    right_labels = {right.key: str(right.label) for right in grants.ordered_rights()}
    lines = []
    for entry in access.audit_log(mailbox_id, limit):
        details = dict(entry.details or {})
        if entry.action in ("grant", "revoke"):
            kind, _sep, principal_id = str(details.get("principal", "")).partition(":")
            right = str(details.get("right", ""))
            text = _("%(right)s for %(principal)s", right=right_labels.get(right, right),
                     principal=principal_text(kind, principal_id))
        elif entry.action == "admin_read":
            text = _("Reason: %(reason)s", reason=details.get("reason", ""))
        elif entry.action in ("send_on_behalf", "sent_from_shared", "send_cancelled"):
            text = _("“%(subject)s” to %(recipients)s", subject=details.get("subject", ""),
                     recipients=details.get("recipients", ""))
            if details.get("reference"):
                text += " · " + _("from %(record)s", record=_record_text(str(details["reference"])))
            if details.get("scheduled_for"):
                text += " · " + _("scheduled for %(when)s", when=_moment_text(str(details["scheduled_for"])))
        elif entry.action.startswith("team_"):
            text = team_details_text(entry.action, details)
        elif entry.action in ("deleted", "deleted_permanently"):
            text = deletion_text(details)
        elif entry.action == "connection_test":
            text = " · ".join(part for part in (f"{details.get('host', '')}:{details.get('port', '')}",
                                                outcome_text(details)) if part)
        else:
            text = "; ".join(f"{key}: {value}" for key, value in sorted(details.items()))
        lines.append(AuditLine(entry.at, _actor_text(entry.actor),
                               str(ACTION_LABELS.get(entry.action, entry.action)), text))
    return lines

"""Admin → Mail servers: the allow list of mail server addresses that mailboxes may use beyond
the public internet (loopback, private and reserved networks are refused otherwise; see
``mailboxes/address_policy.py`` and docs/security.md). Admins only."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import InvalidSettings
from ..mailboxes import address_policy
from .access import admin_required
from .mailbox_settings import FieldError

blueprint = Blueprint(
    "tricoma_mail_mail_servers",
    __name__,
    url_prefix="/mail/admin/mail-servers",
    template_folder="../templates",
)


@blueprint.get("/")
@admin_required
def index():
    return _render("\n".join(address_policy.stored_entries()))


@blueprint.post("/")
@admin_required
def save():
    typed = request.form.get("entries", "")
    try:
        address_policy.save_entries(typed.splitlines(), actor=str(current_user.get_id()))
    except InvalidSettings as error:
        return _render(typed, FieldError(error.field, error.user_message)), 400
    flash(_("The allow list of mail servers is saved."), "success")
    return redirect(url_for(".index"))


def _render(entries: str, error: FieldError | None = None) -> str:
    return render_template(
        "tricoma_mail/admin/mail_servers.html",
        form={"entries": entries},
        error=error,
        configured=address_policy.configured_entries(),
    )

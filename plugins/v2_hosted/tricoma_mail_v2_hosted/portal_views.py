"""Settings → tricoma Mail (admins): the portal's address and API token, and the button that
imports the account's mailboxes (``portal_import.py``). The token is never shown again: the page
shows the first characters the portal shows too."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tricoma_mail_plugin import InvalidSettings, sign_in_required

from . import portal_import
from .i18n import gettext as _
from .portal_client import PortalError
from .views import client_url

portal_pages = Blueprint("v2_hosted_portal", __name__, url_prefix="/mail/v2/settings/tricoma-mail",
                         template_folder="templates")
sign_in_required(portal_pages)


def admins_only(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not getattr(current_user, "is_admin", False):
            abort(403)
        return view(*args, **kwargs)
    return wrapped


@portal_pages.get("/")
@admins_only
def index():
    return _page()


@portal_pages.post("/")
@admins_only
def save():
    url = request.form.get("url", "")
    try:
        portal_import.save_connection(url, request.form.get("token", ""), actor=str(current_user.get_id()))
    except InvalidSettings as error:
        return _page(url=url, error=error.user_message, error_field=error.field), 400
    flash(_("The portal's address and the API token are saved."), "success")
    return redirect(url_for(".index"))


@portal_pages.post("/import")
@admins_only
def run_import():
    try:
        result = portal_import.import_mailboxes(current_user)
    except (PortalError, InvalidSettings) as error:
        return _page(error=error.user_message, error_field="import"), 400
    flash(_("Mailboxes imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged.",
            created=len(result.created), updated=len(result.updated), unchanged=len(result.unchanged)), "success")
    if result.waiting:
        flash(_("Not ready in the portal yet, fetch again later: %(logins)s", logins=", ".join(result.waiting)), "info")
    if result.failed_test:
        flash(_("The connection test failed for: %(logins)s. Please see Settings → Mailboxes.",
                logins=", ".join(result.failed_test)), "warning")
    if result.gone:
        flash(_("No longer in the portal (kept here): %(logins)s", logins=", ".join(result.gone)), "warning")
    return redirect(url_for(".index"))


def _page(url: str | None = None, error: str | None = None, error_field: str | None = None) -> str:
    stored = portal_import.connection()
    return render_template(
        "v2_hosted/portal_settings.html", stored=stored,
        url=url if url is not None else (stored.url if stored else ""),
        error=error, error_field=error_field, imported=portal_import.imported_mailboxes(), _v2=_,
        state_labels=_state_labels(), client_url=client_url,
    )


def _state_labels() -> dict[str, str]:
    """A hosted mailbox's state in the portal, in the reader's words (the portal sends a key)."""
    return {"provisioning": _("being set up"), "active": _("active"), "failed": _("setting up failed"),
            "deleting": _("to be deleted")}

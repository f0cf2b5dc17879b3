"""OAuth2 sign-in pages (issue 13): Administration → Sign-in providers (admins only), and a
mailbox's "Sign in with …" round trip (the *manage* right on the mailbox).

The provider redirects the browser back to one fixed callback URL, the redirect URI an admin
registers with the app; which mailbox the sign-in is for is kept in the user's session under
the flow's ``state`` and checked again against the manage right when the browser comes back.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import (
    InvalidSettings,
    MailError,
    OAuthFailure,
)
from ..mailboxes import oauth_providers, oauth_tokens
from ..mailboxes.connection_steps import CODE_MESSAGES
from ..models import OAuthProvider, is_row_id
from ..plugins.ui import sign_in_required
from .access import admin_required
from .mailbox_settings import FieldError
from .mailbox_settings import (
    _managed_mailbox as managed_mailbox,  # 404/403 like every mailbox page
)

providers_blueprint = Blueprint("tricoma_mail_oauth_providers", __name__, url_prefix="/mail/admin/sign-in-providers",
                                template_folder="../templates")
sign_in_blueprint = Blueprint("tricoma_mail_mailbox_sign_in", __name__, url_prefix="/mail/settings/mailboxes",
                              template_folder="../templates")
sign_in_required(providers_blueprint)
sign_in_required(sign_in_blueprint)

PENDING_KEY = "tricoma_mail_oauth_sign_in"


def callback_url() -> str:
    """The redirect URI to register with the provider's app."""
    return url_for("tricoma_mail_mailbox_sign_in.callback", _external=True)


# -- Administration → Sign-in providers --------------------------------------------------------

@providers_blueprint.get("/")
@admin_required
def index():
    kind = request.args.get("kind", "microsoft")
    if kind not in oauth_providers.KIND_LABELS:
        kind = "microsoft"
    return _render_provider(None, oauth_providers.defaults_for(kind))


@providers_blueprint.post("/")
@admin_required
def create():
    return _save(None)


@providers_blueprint.route("/<int(signed=True):provider_id>", methods=["GET", "POST"])
@admin_required
def edit(provider_id: int):
    row = _provider_or_404(provider_id)
    if request.method == "GET":
        return _render_provider(row, oauth_providers.stored_values(row))
    return _save(row)


@providers_blueprint.post("/<int(signed=True):provider_id>/delete")
@admin_required
def delete(provider_id: int):
    row = _provider_or_404(provider_id)
    try:
        oauth_providers.delete_provider(row, actor=str(current_user.get_id()))
    except InvalidSettings as error:
        flash(error.user_message, "error")
        return redirect(url_for(".edit", provider_id=provider_id))
    flash(_("The sign-in provider is deleted."), "success")
    return redirect(url_for(".index"))


def _save(row: OAuthProvider | None):
    typed = {name: request.form.get(name, "") for name in oauth_providers.TEXT_FIELDS}
    try:
        saved = oauth_providers.save_provider(row, {**typed, "client_secret": request.form.get("client_secret", "")},
                                              actor=str(current_user.get_id()))
    except InvalidSettings as error:
        return _render_provider(row, typed, FieldError(error.field, error.user_message)), 400
    flash(_("The sign-in provider %(name)s is saved.", name=saved.name), "success")
    return redirect(url_for(".edit", provider_id=saved.id))


def _render_provider(row: OAuthProvider | None, values: dict, error: FieldError | None = None) -> str:
    return render_template(
        "tricoma_mail/admin/oauth_providers.html",
        providers=oauth_providers.providers(), provider=row, form=values, error=error,
        kind_labels=oauth_providers.KIND_LABELS, has_secret=bool(row and oauth_providers.has_secret(row)),
        callback_url=callback_url())


def _provider_or_404(provider_id: int) -> OAuthProvider:
    row = oauth_providers.provider(provider_id) if is_row_id(provider_id) else None
    if row is None:
        abort(404)
    return row


# -- a mailbox's sign-in ------------------------------------------------------------------------

@sign_in_blueprint.post("/<int(signed=True):mailbox_id>/sign-in")
def begin(mailbox_id: int):
    mailbox = managed_mailbox(mailbox_id)
    try:
        url, state = oauth_tokens.begin_sign_in(mailbox, callback_url())
    except OAuthFailure as error:
        flash(str(CODE_MESSAGES.get(error.code, error.user_message)), "error")
        return redirect(url_for("tricoma_mail_mailboxes.configure", mailbox_id=mailbox_id))
    session[PENDING_KEY] = {"state": state, "mailbox_id": mailbox.id}
    return render_template("tricoma_mail/mailboxes/sign_in_redirect.html", url=url)


@sign_in_blueprint.get("/oauth/callback")
def callback():
    pending = session.pop(PENDING_KEY, None) or {}
    if not pending or request.args.get("state") != pending.get("state"):
        abort(400)
    mailbox = managed_mailbox(int(pending["mailbox_id"]))
    try:
        oauth_tokens.finish_sign_in(mailbox, request.args.to_dict(), actor=str(current_user.get_id()))
    except OAuthFailure as error:
        flash(str(CODE_MESSAGES.get(error.code, error.user_message)), "error")
    except MailError as error:
        flash(error.user_message, "error")
    else:
        flash(_("%(title)s is signed in. Test the mailbox now.", title=mailbox.title), "success")
    return redirect(url_for("tricoma_mail_mailboxes.configure", mailbox_id=mailbox.id))


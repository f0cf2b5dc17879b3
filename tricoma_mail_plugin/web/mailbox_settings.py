"""Settings → Mailboxes: create a mailbox, configure its servers, test it, manage its folders
(SPEC M1, M2, M3, M5).

Views parse the request, call one service of :mod:`mailboxes` or :mod:`mailbox_folders` and
render. Every mailbox page needs the *manage* right: an unknown or foreign mailbox answers 404,
one the user sees but may not manage answers 403. Errors from the mail server are shown as their
``user_message``, never as a traceback.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..cache.lease import sync_lease
from ..cache.refresh import sync_unless_busy
from ..errors import InvalidSettings, MailError
from ..mailboxes import oauth_providers, oauth_tokens, server_folders, service
from ..mailboxes.backend import (
    SECURITY_MODES,
    DiscoveredServers,
    TestStep,
)
from ..mailboxes.connection_steps import CODE_MESSAGES, step_label, steps_for_non_admins
from ..mailboxes.folders import ROLE_LABELS, ROLES, FolderMapping
from ..models import Mailbox
from ..plugins.ui import sign_in_required
from ..rights import access
from .redirects import safe_next

#: Seconds the removal of a mailbox waits for a sync of it to end.
REMOVE_WAITS_FOR_SYNC = 10

blueprint = Blueprint(
    "tricoma_mail_mailboxes",
    __name__,
    url_prefix="/mail/settings/mailboxes",
    template_folder="../templates",
)

SECURITY_LABELS = {
    "tls": _l("TLS"),
    "starttls": _l("STARTTLS"),
    "none": _l("None (only to this machine)"),
}

DISCOVERY_SOURCES = {
    "preset": _l("Built-in table of providers"),
    "autoconfig": _l("The provider's configuration file (autoconfig)"),
    "srv": _l("DNS SRV records of the domain"),
    "mx": _l("Mail servers of the domain (MX)"),
    "guess": _l("A guess from the domain name"),
}

#: The configuration form's fields, as the template and ``update_settings`` name them.
TEXT_FIELDS = (
    "title", "sender_name", "email", "extra_addresses", "signature", "app_bcc", "send_rate_per_hour",
    "imap_host", "imap_port", "imap_security", "imap_username",
    "smtp_host", "smtp_port", "smtp_security", "smtp_username",
    "auth_kind", "oauth_provider_id",
)
PASSWORD_FIELDS = ("imap_password", "smtp_password")


@dataclass(frozen=True)
class FieldError:
    """An error to show beside one field of one form (``form`` tells the folder page's forms apart)."""

    field: str | None
    message: str
    form: str = ""


sign_in_required(blueprint)


@blueprint.context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "step_label": step_label,
        "step_message": step_message,
        "role_labels": ROLE_LABELS,
        "security_labels": SECURITY_LABELS,
        "security_modes": SECURITY_MODES,
    }


def step_message(step: TestStep) -> str:
    """The step's message in the current user's language (the stored one is in the language of
    whoever ran the test)."""
    message = CODE_MESSAGES.get(step.code)
    return str(message) if message is not None else step.message


def first_failure(steps: list[TestStep]) -> TestStep | None:
    return next((step for step in steps if not step.ok and step.code != "skipped"), None)


def _managed_mailbox(mailbox_id: int) -> Mailbox:
    return access.require(current_user, mailbox_id, "manage")  # refused in words (web/errors.py)


# -- the list and M1 create ------------------------------------------------------------------


@blueprint.get("/")
def index():
    return _render_index()


@blueprint.post("/")
def create():
    title = request.form.get("title", "")
    try:
        mailbox = service.create_mailbox(title, current_user)
    except InvalidSettings as error:
        return _render_index(title=title, error=FieldError(error.field, error.user_message)), 400
    flash(_("The mailbox %(title)s is created. Now enter its servers.", title=mailbox.title), "success")
    return redirect(url_for(".configure", mailbox_id=mailbox.id))


def _render_index(title: str = "", error: FieldError | None = None) -> str:
    return render_template(
        "tricoma_mail/mailboxes/index.html",
        mailboxes=access.mailboxes_with(current_user, "manage"),
        title=title,
        error=error,
    )


# -- M2 configure ----------------------------------------------------------------------------


@blueprint.route("/<int(signed=True):mailbox_id>/", methods=["GET", "POST"])
def configure(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    if request.method == "GET":
        return _render_configure(mailbox, _stored_values(mailbox))
    values = _typed_values()
    if request.form.get("action") == "discover":
        found = service.discover_servers(mailbox, values["email"])
        if found is None:
            error = FieldError("email", _("No servers were found for this address. Check it, or enter "
                                          "the servers yourself."))
            return _render_configure(mailbox, values, error=error)
        return _render_configure(mailbox, _with_discovered(values, found), discovered=found)
    before = _stored_values(mailbox)
    try:
        service.update_settings(mailbox, {**values, **_typed_passwords()})
    except InvalidSettings as error:
        return _render_configure(mailbox, values, error=FieldError(error.field, error.user_message)), 400
    except MailError as error:
        flash(error.user_message, "error")
        return _render_configure(mailbox, values), 400
    # which fields changed (a password by its field's name only, never its value)
    changed = [name for name, value in _stored_values(mailbox).items() if before.get(name) != value]
    changed += [name for name, value in _typed_passwords().items() if value]
    if changed:
        access.audit(str(current_user.get_id()), mailbox.id, "settings_changed", fields=", ".join(changed))
    if mailbox.last_test_ok is None:
        flash(_("The settings are saved. Test the mailbox now: only a tested mailbox is used."), "success")
    else:
        flash(_("The settings are saved."), "success")
    return redirect(url_for(".configure", mailbox_id=mailbox.id))


def _stored_values(mailbox: Mailbox) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(mailbox, name) for name in TEXT_FIELDS}
    values["provider_files_sent_mail"] = bool(mailbox.provider_files_sent_mail)
    return values


def _typed_values() -> dict[str, Any]:
    """What the user typed, passwords left out (they are never sent back to the browser)."""
    values: dict[str, Any] = {name: request.form.get(name, "") for name in TEXT_FIELDS}
    values["provider_files_sent_mail"] = "provider_files_sent_mail" in request.form
    return values


def _typed_passwords() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in PASSWORD_FIELDS}


def _with_discovered(values: dict[str, Any], found: DiscoveredServers) -> dict[str, Any]:
    filled = dict(values, imap_host=found.imap_host, imap_port=found.imap_port,
                  imap_security=found.imap_security, imap_username=found.username,
                  provider_files_sent_mail=found.provider_files_sent_mail)
    if found.smtp_host:
        filled.update(smtp_host=found.smtp_host, smtp_port=found.smtp_port,
                      smtp_security=found.smtp_security, smtp_username=found.username)
    if found.oauth_provider_kind:  # Microsoft 365, Google: propose OAuth2 with a matching provider
        matching = [row for row in oauth_providers.providers() if row.kind == found.oauth_provider_kind]
        filled.update(auth_kind="oauth2_delegated", oauth_provider_id=matching[0].id if matching else "")
    return filled


def _stored_passwords(mailbox: Mailbox) -> dict[str, bool]:
    try:
        secrets = service.read_secrets(mailbox)
    except MailError as error:  # unreadable after a key change: the user enters them again
        flash(error.user_message, "error")
        secrets = {}
    return {name: bool(secrets.get(name)) for name in PASSWORD_FIELDS}


def _render_configure(mailbox: Mailbox, values: dict[str, Any], *, error: FieldError | None = None,
                      discovered: DiscoveredServers | None = None) -> str:
    steps = service.stored_test_steps(mailbox)
    if not getattr(current_user, "is_admin", False):
        steps = steps_for_non_admins(steps)  # typed network failures would map open ports
    return render_template(
        "tricoma_mail/mailboxes/configure.html",
        mailbox=mailbox,
        form=values,
        error=error,
        passwords_typed=any(request.form.get(name) for name in PASSWORD_FIELDS),
        stored_passwords=_stored_passwords(mailbox),
        discovered=discovered,
        discovery_source=DISCOVERY_SOURCES.get(discovered.source, discovered.source) if discovered else None,
        steps=steps,
        first_failure=first_failure(steps),
        **_sign_in_context(mailbox),
    )


AUTH_KIND_LABELS = {
    "password": _l("Password"),
    "oauth2_delegated": _l("OAuth2, signed in as a user (Microsoft 365, Google)"),
    "oauth2_app": _l("OAuth2 as an app (client credentials, shared mailboxes)"),
}


def _sign_in_context(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "auth_kind_labels": AUTH_KIND_LABELS,
        "oauth_providers": oauth_providers.providers(),
        "signed_in": oauth_tokens.has_tokens(mailbox),
        "callback_url": url_for("tricoma_mail_mailbox_sign_in.callback", _external=True),
    }


# -- M3 test ---------------------------------------------------------------------------------


@blueprint.post("/<int(signed=True):mailbox_id>/delete")
def remove(mailbox_id: int):
    """Remove the mailbox from the installation, once the box is ticked (its mail stays on the server)."""
    mailbox = _managed_mailbox(mailbox_id)
    if not request.form.get("confirm"):
        flash(_("Tick the box to confirm that the mailbox is to be removed."), "error")
        return redirect(url_for(".configure", mailbox_id=mailbox.id) + "#delete-mailbox")
    title = mailbox.title
    # Not beside a running sync, which would store cached mail after the removal; a long one
    # (a first sync) is said to be running ("try again in a moment").
    with sync_lease(mailbox.id, wait=REMOVE_WAITS_FOR_SYNC):
        service.delete_mailbox(mailbox, current_user)
    flash(_("The mailbox %(title)s is removed. Its mail is still on its mail server.", title=title), "success")
    return redirect(url_for(".index"))


@blueprint.post("/<int(signed=True):mailbox_id>/test")
def run_test(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    try:
        service.run_test(mailbox, current_app.config["TRICOMA_MAIL_TEST_MIN_INTERVAL"],
                         actor=str(current_user.get_id()), per_hour=current_app.config["TRICOMA_MAIL_TESTS_PER_HOUR"])
    except MailError as error:
        flash(error.user_message, "error")
    else:
        if mailbox.last_test_ok:
            flash(_("%(title)s: the test passed; the mailbox is ready to use.", title=mailbox.title), "success")
        else:
            flash(_("%(title)s: the test failed. Fix the first failed step and test again.",
                    title=mailbox.title), "error")
    target = safe_next(request.form.get("next"))
    return redirect(target or url_for(".configure", mailbox_id=mailbox.id))


# -- M5 manage folders -----------------------------------------------------------------------


@blueprint.route("/<int(signed=True):mailbox_id>/folders", methods=["GET", "POST"])
def folders(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    action = request.form.get("action") if request.method == "POST" else None
    if action is not None and action not in FOLDER_ACTIONS:
        abort(400)
    if not mailbox.imap_host:
        flash(_("Enter the IMAP server of this mailbox first."), "error")
        return redirect(url_for(".configure", mailbox_id=mailbox.id))
    if action is None:
        try:
            return _render_folders(mailbox, server_folders.folder_overview(mailbox))
        except MailError as error:
            flash(error.user_message, "error")
            # 200, not 502: a proxy may replace a 5xx page with its own and hide the message.
            return _render_folders(mailbox, None)
    try:
        message = FOLDER_ACTIONS[action](mailbox, request.form)
    except InvalidSettings as error:
        field_error = FieldError(error.field, error.user_message, form=action)
        try:
            overview = server_folders.folder_overview(mailbox)
        except MailError as listing_error:
            flash(listing_error.user_message, "error")
            return redirect(url_for(".folders", mailbox_id=mailbox.id))
        return _render_folders(mailbox, overview, error=field_error), 400
    except MailError as error:
        flash(error.user_message, "error")
        return redirect(url_for(".folders", mailbox_id=mailbox.id))
    flash(message, "success")
    return redirect(url_for(".folders", mailbox_id=mailbox.id))


def _inbox_first(folder) -> tuple[bool, str]:
    return folder.name.upper() != "INBOX", folder.name.casefold()


def _render_folders(mailbox: Mailbox, overview: server_folders.FolderOverview | None,
                    error: FieldError | None = None) -> str:
    return render_template(
        "tricoma_mail/mailboxes/folders.html",
        mailbox=mailbox,
        # the inbox first, then by name (servers list in their own order: Dovecot put INBOX last)
        folders=sorted(overview.folders, key=_inbox_first) if overview else None,
        roles=overview.roles if overview else [],
        mapping=overview.mapping if overview else FolderMapping.of(mailbox),
        error=error,
        typed=request.form if error else {},
    )


def _map_roles(mailbox: Mailbox, form) -> str:
    choices = {role: form.get(f"role_{role}") or None for role in ROLES}
    server_folders.map_roles(mailbox, choices)
    audit_folder_change(mailbox, "folder_roles_changed",
                        **{role: folder or "(automatic)" for role, folder in choices.items()})
    return _("The folder mapping is saved.")


def _create_folder(mailbox: Mailbox, form) -> str:
    name = server_folders.create_folder_in(mailbox, form.get("name", ""), form.get("parent") or None)
    audit_folder_change(mailbox, "folder_created", folder=name)
    return _("The folder %(name)s is created.", name=name)


def _rename_folder(mailbox: Mailbox, form) -> str:
    old = form.get("folder", "")
    new = server_folders.rename_folder_in(mailbox, old, form.get("name", ""))
    audit_folder_change(mailbox, "folder_renamed", folder=old, new=new)
    return _("The folder %(old)s is now called %(new)s.", old=old, new=new)


def _delete_folder(mailbox: Mailbox, form) -> str:
    name = form.get("folder", "")
    moved = server_folders.delete_folder_in(mailbox, name, confirmed=bool(form.get("confirm")))
    return folder_deleted(mailbox, name, name, moved)


def folder_deleted(mailbox: Mailbox, name: str, shown: str, moved: list[str]) -> str:
    """After :func:`server_folders.delete_folder` of ``name`` (``shown`` so): audited, the folders
    ``moved`` into the Trash synced at once (until the next sync they were empty in the cache:
    the mail looked lost; a failure waits for that sync); the message to show."""
    if moved:
        audit_folder_change(mailbox, "folder_trashed", folder=name, new=moved[0])
        sync_unless_busy(mailbox.id, moved)
        return _("The folder %(name)s is moved to the Trash with its content.", name=shown)
    audit_folder_change(mailbox, "folder_deleted", folder=name)
    return _("The folder %(name)s is deleted for good.", name=shown)


def audit_folder_change(mailbox: Mailbox, action: str, **details) -> None:
    """A change of the mailbox's folders (on the server) or their roles, in its audit log."""
    access.audit(str(current_user.get_id()), mailbox.id, action, **details)


FOLDER_ACTIONS: dict[str, Callable[[Mailbox, Mapping[str, str]], str]] = {
    "map": _map_roles,
    "create": _create_folder,
    "rename": _rename_folder,
    "delete": _delete_folder,
}

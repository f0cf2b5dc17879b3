"""Core's own pages and their place in the navigation and on the settings page."""
from __future__ import annotations

from flask import has_request_context, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..archive.auditors import is_auditor
from ..cache_versions import versioned_cache
from ..hookspecs import hookimpl
from ..plugins.ui import MenuItem, SettingsPanel, settings_panels
from . import (
    admin_plugins,
    archive_pages,
    errors,
    filter_pages,
    jobs_pages,
    mail_server_pages,
    mailbox_rights,
    mailbox_settings,
    oauth_pages,
    outbox_pages,
    settings,
    system_mail_pages,
    unsubscribe_pages,
)


@hookimpl(trylast=True)
def tricoma_mail_register_blueprints():
    # errors.blueprint has no pages: it carries the app-wide handler of core's exceptions.
    return [settings.blueprint, admin_plugins.blueprint, mailbox_settings.blueprint,
            outbox_pages.blueprint, system_mail_pages.blueprint, mail_server_pages.blueprint,
            mailbox_rights.blueprint, archive_pages.blueprint, jobs_pages.blueprint, unsubscribe_pages.blueprint,
            oauth_pages.providers_blueprint, oauth_pages.sign_in_blueprint, filter_pages.blueprint,
            errors.blueprint]


@hookimpl(trylast=True)
def tricoma_mail_menu_items(user):
    if not has_request_context():
        return _menu_items(user)
    # Every page's navigation: remembered per user, groups, admin flag and language until a
    # right or a plugin changes (cache_versions); the settings panels are plugins' answers.
    key = ("core-menu", str(user.get_id()) if getattr(user, "is_authenticated", False) else None,
           frozenset(str(group_id) for group_id in getattr(user, "group_ids", ())),
           bool(getattr(user, "is_admin", False)), str(get_locale()), request.script_root)
    return list(versioned_cache().get_or_load(("rights", "plugins"), key, lambda: tuple(_menu_items(user))))


def _menu_items(user) -> list[MenuItem]:
    items = []
    if getattr(user, "is_authenticated", False):
        # Shown to every signed-in user, like the mailboxes: the page says when there is nothing
        # to send from, and the menu stays free of a rights query on every page.
        items.append(MenuItem(_("Outbox"), url_for("tricoma_mail_outbox.index"), "mail", 880))
        items.append(MenuItem(_("Set up mailboxes"), url_for("tricoma_mail_mailboxes.index"), "mail", 890))
    if is_auditor(user):
        items.append(MenuItem(_("Archive"), url_for("tricoma_mail_archive.index"), "mail", 895))
    if settings_panels(user):
        items.append(MenuItem(_("Mail settings"), url_for("tricoma_mail_settings.index"), "mail", 900))
    if getattr(user, "is_admin", False):
        items.append(MenuItem(_("Plugins"), url_for("tricoma_mail_admin_plugins.index"), "admin", 50))
        items.append(MenuItem(_("System mail"), url_for("tricoma_mail_system_mail.index"), "admin", 60))
        items.append(MenuItem(_("Mail servers"), url_for("tricoma_mail_mail_servers.index"), "admin", 65))
        items.append(MenuItem(_("Sign-in providers"), url_for("tricoma_mail_oauth_providers.index"), "admin", 66))
        items.append(MenuItem(_("Background jobs"), url_for("tricoma_mail_jobs.index"), "admin", 70))
    return items


@hookimpl(trylast=True)
def tricoma_mail_settings_panels(user):
    panels = []
    if getattr(user, "is_authenticated", False):
        # Any signed-in user may create a mailbox (and then manages it), so everyone sees this.
        panels.append(SettingsPanel(
            _("Mailboxes"),
            url_for("tricoma_mail_mailboxes.index"),
            _("Create mailboxes, enter their servers, test them and choose their folders."),
            order=10,
        ))
    if getattr(user, "is_admin", False):
        panels.append(SettingsPanel(
            _("System mail"),
            url_for("tricoma_mail_system_mail.index"),
            _("The SMTP server and sender of the application's own mail (password resets, "
              "notifications); send a test mail."),
            order=800,
        ))
        panels.append(SettingsPanel(
            _("Mail servers"),
            url_for("tricoma_mail_mail_servers.index"),
            _("Which addresses in your own network mailboxes may connect to."),
            order=810,
        ))
        panels.append(SettingsPanel(
            _("Sign-in providers"),
            url_for("tricoma_mail_oauth_providers.index"),
            _("OAuth2 app registrations for Microsoft 365, Google and others, so mailboxes sign in "
              "without a password."),
            order=815,
        ))
        panels.append(SettingsPanel(
            _("Plugins"),
            url_for("tricoma_mail_admin_plugins.index"),
            _("Switch installed plugins on and off and see their errors."),
            order=900,
        ))
    return panels

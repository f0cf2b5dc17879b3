"""Core's built-in plugin for notices, internal notes and reply templates: their pages and
APIs, the navigation's notices entry with the unread count, the templates settings panel, and
the check that no mail leaves with a template variable unfilled."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from .. import notices
from ..app_memo import remembered_url
from ..hookspecs import hookimpl
from ..mail.reply_templates import refuse_unfilled
from ..plugins.ui import MenuItem, SettingsPanel
from . import notes_api, notice_pages, reply_template_pages


@hookimpl(trylast=True)
def tricoma_mail_register_blueprints():
    return [notice_pages.blueprint, notes_api.blueprint, reply_template_pages.blueprint]


@hookimpl(trylast=True)
def tricoma_mail_menu_items(user):
    if not getattr(user, "is_authenticated", False):
        return []
    count = notices.unread_count(user)
    return [MenuItem(_("Notices"), remembered_url("tricoma_mail_notices.index"), "mail", 870, badge=count or None)]


@hookimpl(trylast=True)
def tricoma_mail_settings_panels(user):
    if not getattr(user, "is_authenticated", False):
        return []
    return [SettingsPanel(_("Reply templates"), url_for("tricoma_mail_reply_templates.index"),
                          _("Templates and quick replies, your own and those of the mailboxes you manage, "
                            "with fields of the record a mail is about."), order=30)]


@hookimpl(trylast=True)
def tricoma_mail_before_send(message):
    refuse_unfilled(message)

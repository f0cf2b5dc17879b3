"""tricoma mail hello: an example plugin with a page, a menu entry, a settings panel and a right.

Only the hook implementations live here; the pages are in ``pages.py``.
"""
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tricoma_mail_plugin import MenuItem, Right, SettingsPanel, hookimpl

from .pages import blueprint

__version__ = "0.1.0"


@hookimpl
def tricoma_mail_register_blueprints():
    return [blueprint]


@hookimpl
def tricoma_mail_menu_items(user):
    return [MenuItem(_("Hello"), url_for("tricoma_mail_hello.index"), section="apps", order=50)]


@hookimpl
def tricoma_mail_settings_panels(user):
    if not getattr(user, "is_admin", False):
        return []
    return [
        SettingsPanel(
            _("Hello"),
            url_for("tricoma_mail_hello.settings"),
            _("What the hello plugin adds to tricoma mail."),
            order=500,
        )
    ]


@hookimpl
def tricoma_mail_register_rights():
    return [Right("hello_greet", _l("Greet"), _l("Send greetings from this mailbox."))]

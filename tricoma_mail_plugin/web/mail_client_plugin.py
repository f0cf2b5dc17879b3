"""The mail client's pages (v1 interface, unified inbox, compose) and their place in the left
navigation: each mailbox the user may read with the unread count of its INBOX, linked to the
client its ``mailbox_client`` answer names (v1 unless a plugin claims it), and the unified
inbox with the total."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from ..hookspecs import hookimpl
from ..mailboxes.overview import readable_infos_with_unread
from ..plugins.ui import MenuItem, mailbox_client_url
from . import compose_views, mail_api, mail_views, message_views


@hookimpl(trylast=True)
def tricoma_mail_register_blueprints():
    return [mail_views.blueprint, message_views.blueprint, compose_views.blueprint, mail_api.blueprint]


@hookimpl(trylast=True)
def tricoma_mail_mailbox_client(mailbox):
    return url_for("tricoma_mail_client.folder", mailbox_id=mailbox.id)


@hookimpl(trylast=True)
def tricoma_mail_menu_items(user):
    if not getattr(user, "is_authenticated", False):
        return []
    readable = readable_infos_with_unread(user)
    if not readable:
        return []
    items = [MenuItem(_("Unified inbox"), url_for("tricoma_mail_client.unified"), "mail", 10,
                      badge=sum(unread for _info, unread in readable) or None)]
    for info, unread in readable:
        items.append(MenuItem(info.title, mailbox_client_url(info), "mail", 20, badge=unread or None))
    return items

"""The mail client's pages (v1 interface, unified inbox, compose) and their place in the left
navigation: each mailbox the user may read with the unread count of its INBOX, linked to the
client its ``mailbox_client`` answer names (v1 unless a plugin claims it), and the unified
inbox with the total."""
from __future__ import annotations

from flask import has_request_context
from flask_babel import gettext as _

from ..app_memo import remembered_url
from ..cache_versions import versioned_cache
from ..hookspecs import hookimpl
from ..mailboxes.info import MailboxInfo
from ..mailboxes.overview import readable_infos_with_unread
from ..plugins.ui import MenuItem, mailbox_client_url
from . import compose_views, mail_api, mail_views, message_views
from .page_urls import page_urls

# The client's page frame (mail/_page.html) frames plugins' pages too: its URLs for every template.
mail_views.blueprint.add_app_template_global(page_urls, "tricoma_mail_page_urls")


@hookimpl(trylast=True)
def tricoma_mail_register_blueprints():
    return [mail_views.blueprint, message_views.blueprint, compose_views.blueprint, mail_api.blueprint]


@hookimpl(trylast=True)
def tricoma_mail_mailbox_client(mailbox):
    return remembered_url("tricoma_mail_client.folder", mailbox_id=mailbox.id)


@hookimpl(trylast=True)
def tricoma_mail_menu_items(user):
    if not getattr(user, "is_authenticated", False):
        return []
    readable = _readable_with_unread(user)
    if not readable:
        return []
    items = [MenuItem(_("Unified inbox"), remembered_url("tricoma_mail_client.unified"), "mail", 10,
                      badge=sum(unread for _info, unread in readable) or None)]
    for info, unread in readable:
        items.append(MenuItem(info.title, mailbox_client_url(info), "mail", 20, badge=unread or None))
    return items


def _readable_with_unread(user) -> tuple[tuple[MailboxInfo, int], ...]:
    """Every page's navigation asks: a web process remembers the answer per user and groups
    until a mailbox, an unread count or a right changes (``cache_versions``). Which client a
    mailbox opens in is asked each time: a plugin answers that from its own tables."""
    if not has_request_context():
        return tuple(readable_infos_with_unread(user))
    key = ("navigation", str(user.get_id()), frozenset(str(group_id) for group_id in getattr(user, "group_ids", ())))
    return versioned_cache().get_or_load(("mailboxes", "unread", "rights"), key,
                                         lambda: tuple(readable_infos_with_unread(user)))

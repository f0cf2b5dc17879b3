"""tricoma mail invoices: a small invoicing app in the host that sends invoices by e-mail.

Only the hook implementations live here; the work is in the sibling modules (``records``,
``mail``, ``pdf``, ``pages``).
"""
import os

from flask import url_for

from tricoma_mail_plugin import MenuItem, MigrationSet, ReferenceType, hookimpl

from . import mail, records
from .i18n import _, _l
from .models import metadata
from .pages import blueprint

__version__ = "0.1.0"

HERE = os.path.dirname(os.path.abspath(__file__))


@hookimpl
def tricoma_mail_register_migrations():
    return [MigrationSet(metadata, os.path.join(HERE, "migrations", "versions"))]


@hookimpl
def tricoma_mail_register_blueprints():
    return [blueprint]


@hookimpl
def tricoma_mail_menu_items(user):
    if not getattr(user, "is_authenticated", False):
        return []
    return [MenuItem(_("Invoices"), url_for("tricoma_mail_invoices.index"), section="apps", order=20)]


@hookimpl
def tricoma_mail_register_reference_types():
    return [ReferenceType(records.KIND, _l("Invoice"), records.describe)]


@hookimpl
def tricoma_mail_compose_context(reference, user):
    if reference.kind != records.KIND:
        return None
    return mail.compose_context(reference.id, user)


@hookimpl
def tricoma_mail_before_send(user, reference):
    mail.refuse_broken_template(reference, user)


@hookimpl
def tricoma_mail_message_sent(outbox_item, reference):
    if reference is not None and reference.kind == records.KIND:
        records.mark_sent(reference.id, outbox_item.smtp_accepted_at)

"""tricoma mail invoices: a small invoicing app in the host that sends invoices by e-mail.

The app is made with core's record kit: customers, invoices with lines and VAT, the PDF, mail
templates that admins edit, "Send by e-mail" and each invoice's mail history. Here is only what
makes it invoicing: an invoice is due two weeks after it is issued; and the suppliers the
business pays (``suppliers.py``), whose bank accounts the reading view's sender check compares
with those named in their mail. Its words are in ``translations/`` (English and German), its
built-in mail text in ``mail/``, demo lines in ``demo.json``.
"""
import os

from flask import url_for

from tricoma_mail_plugin import MenuItem, RecordApp, RecordDates, RecordKind, hookimpl

from .supplier_pages import gettext, supplier_blueprint
from .suppliers import known_senders, supplier_table

__version__ = "0.1.0"

INVOICES = RecordApp(RecordKind("invoice", "invoices", os.path.dirname(os.path.abspath(__file__)), menu_order=20,
                                dates=RecordDates("issued_on", "due_on", promised_value="due_date", days=14)))

# The hooks of a record app (pages, menu entry, reference type, compose pre-fill, the template
# check before sending, "sent" once the mail left), registered as this plugin's.
globals().update(INVOICES.hookimpls())

SUPPLIERS = supplier_table(INVOICES.tables.metadata)
SUPPLIER_PAGES = supplier_blueprint(SUPPLIERS)


@hookimpl
def tricoma_mail_register_blueprints():
    return [INVOICES.blueprint, SUPPLIER_PAGES]


@hookimpl
def tricoma_mail_menu_items(user):
    items = INVOICES.tricoma_mail_menu_items(user)
    if items:  # signed in
        items.append(MenuItem(gettext("Suppliers"), url_for("invoices_suppliers.index"), section="apps",
                              order=INVOICES.kind.menu_order + 1))
    return items


@hookimpl
def tricoma_mail_known_senders():
    # customers and suppliers, for the sender check of the reading view
    return known_senders(INVOICES.tables.Customer, SUPPLIERS)

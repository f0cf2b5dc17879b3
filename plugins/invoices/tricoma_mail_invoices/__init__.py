"""tricoma mail invoices: a small invoicing app in the host that sends invoices by e-mail.

The app is made with core's record kit: customers, invoices with lines and VAT, the PDF, mail
templates that admins edit, "Send by e-mail" and each invoice's mail history. Here is only what
makes it invoicing: an invoice is due two weeks after it is issued. Its words are in
``translations/`` (English and German), its built-in mail text in ``mail/``, demo lines in
``demo.json``.
"""
import os

from tricoma_mail_plugin import RecordApp, RecordDates, RecordKind

__version__ = "0.1.0"

INVOICES = RecordApp(RecordKind("invoice", "invoices", os.path.dirname(os.path.abspath(__file__)), menu_order=20,
                                dates=RecordDates("issued_on", "due_on", promised_value="due_date", days=14)))

# The hooks of a record app (pages, menu entry, reference type, compose pre-fill, the template
# check before sending, "sent" once the mail left), registered as this plugin's.
globals().update(INVOICES.hookimpls())

"""The invoice mail: templates that admins edit (one per language), the values they may use,
and the pre-fill of core's compose dialog (recipient, subject, body, the PDF).

Templates are rendered by core's sandbox (``render_mail_template``). A template that fails names
its line; the dialog shows that, and ``before_send`` refuses to queue the mail until an admin
has fixed it, so a broken template never leads to a half-filled invoice mail.
"""
from __future__ import annotations

from dataclasses import dataclass

from tricoma_mail_plugin import (
    AttachmentData,
    ComposeContext,
    SendVetoed,
    TemplateFailed,
    mail_state,
    render_mail_template,
)

from . import formatting, pdf
from .i18n import _
from .models import LANGUAGES, Invoice, MailTemplate, utcnow
from .records import get_invoice, totals

DEFAULT_TEMPLATES = {
    "de": (
        "Rechnung {{ invoice.number }}",
        "Guten Tag,\n\n"
        "anbei erhalten Sie unsere Rechnung {{ invoice.number }} vom {{ invoice.date }} "
        "über {{ invoice.gross }}.\n\n"
        "Bitte überweisen Sie den Betrag bis zum {{ invoice.due_date }}.\n\n"
        "Mit freundlichen Grüßen\n{{ user.name }}\n",
    ),
    "en": (
        "Invoice {{ invoice.number }}",
        "Hello,\n\n"
        "please find attached our invoice {{ invoice.number }} of {{ invoice.date }} "
        "for {{ invoice.gross }}.\n\n"
        "Please transfer the amount by {{ invoice.due_date }}.\n\n"
        "Kind regards\n{{ user.name }}\n",
    ),
}

#: What a template may use, for the admin's page (``{{ invoice.number }}`` …).
TEMPLATE_VALUES = (
    "invoice.number", "invoice.date", "invoice.due_date", "invoice.net", "invoice.tax", "invoice.gross",
    "customer.name", "customer.address", "user.name",
)


@dataclass(frozen=True)
class TemplateText:
    language: str
    subject: str
    body: str
    customised: bool  # False: the built-in text


def _session():
    return mail_state().db.session


def template(language: str) -> TemplateText:
    row = _session().get(MailTemplate, language)
    if row is not None:
        return TemplateText(language, row.subject, row.body, True)
    subject, body = DEFAULT_TEMPLATES.get(language, DEFAULT_TEMPLATES["de"])
    return TemplateText(language, subject, body, False)


def save_template(language: str, subject: str, body: str, user_id: str | None) -> None:
    """Store an admin's template as typed (the page checks it renders before calling this)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    row = _session().get(MailTemplate, language) or MailTemplate(language=language)
    row.subject, row.body, row.updated_at, row.updated_by = subject, body, utcnow(), user_id
    _session().add(row)
    _session().commit()


def reset_template(language: str) -> None:
    row = _session().get(MailTemplate, language)
    if row is not None:
        _session().delete(row)
        _session().commit()


def user_language(user) -> str:
    language = getattr(user, "language", None) or "de"
    return language if language in LANGUAGES else "de"


def template_values(invoice: Invoice, user, language: str) -> dict:
    sums = totals(invoice.lines)
    return {
        "invoice": {
            "number": invoice.number,
            "date": formatting.day(invoice.issued_on, language),
            "due_date": formatting.day(invoice.due_on, language),
            "net": formatting.money(sums.net_cents, language),
            "tax": formatting.money(sums.tax_cents, language),
            "gross": formatting.money(sums.gross_cents, language),
        },
        "customer": {"name": invoice.customer.name, "address": invoice.customer.address},
        "user": {"name": getattr(user, "name", None) or str(user.get_id())},
    }


def render(text: TemplateText, values: dict) -> tuple[str, str]:
    """Subject and body; raises ``TemplateFailed`` naming the template and its line."""
    subject = render_mail_template(text.subject, values, name=_("invoice mail subject (%(language)s)",
                                                                 language=text.language))
    body = render_mail_template(text.body, values, name=_("invoice mail body (%(language)s)",
                                                          language=text.language))
    return " ".join(subject.split()), body


def template_error(invoice: Invoice, user) -> str | None:
    """Why the invoice mail cannot be written from the template, or ``None`` when it can."""
    language = user_language(user)
    try:
        render(template(language), template_values(invoice, user, language))
    except TemplateFailed as error:
        return error.user_message
    return None


def compose_context(invoice_id: str, user) -> ComposeContext | None:
    """The dialog's pre-fill: the customer, the mail in the user's language, the invoice PDF."""
    invoice = get_invoice(invoice_id)
    if invoice is None:
        return None  # deleted: core's dialog answers 404 for it (``describe`` says it is gone)
    customer = invoice.customer
    to, notes = (), []
    if customer.email:
        to = (f"{customer.name} <{customer.email}>",)
    else:
        notes.append(_("The customer %(name)s has no e-mail address. Enter the recipient's address "
                       "below.", name=customer.name))
    language = user_language(user)
    subject = text = None
    try:
        subject, text = render(template(language), template_values(invoice, user, language))
    except TemplateFailed as error:
        notes.append(_("The invoice mail template cannot be used: %(error)s An administrator can "
                       "correct it under Invoices → Mail templates.", error=error.user_message))
    attachment = AttachmentData(pdf.filename(invoice), "application/pdf", pdf.invoice_pdf(invoice))
    return ComposeContext(to=to, subject=subject, text=text, attachments=(attachment,), notes=tuple(notes))


def refuse_broken_template(reference, user) -> None:
    """``before_send``: an invoice mail is not queued while its template cannot be rendered."""
    if reference is None or reference.kind != "invoice" or user is None:
        return
    invoice = get_invoice(reference.id)
    if invoice is None:
        return
    error = template_error(invoice, user)
    if error:
        raise SendVetoed(_("The invoice mail cannot be sent until its template is corrected: %(error)s",
                           error=error))

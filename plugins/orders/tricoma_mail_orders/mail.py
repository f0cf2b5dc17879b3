"""The order confirmation mail: templates that admins edit (one per language), the values they
may use, and the pre-fill of core's compose dialog (recipient, subject, body, the PDF).

Templates are rendered by core's sandbox (``render_mail_template``). A template that fails names
its line; the dialog shows that, and ``before_send`` refuses to queue the mail until an admin
has fixed it, so a broken template never leads to a half-filled order mail.
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
from .models import LANGUAGES, Order, MailTemplate, utcnow
from .records import get_order, totals

DEFAULT_TEMPLATES = {
    "de": (
        "Auftragsbestätigung {{ order.number }}",
        "Guten Tag,\n\n"
        "vielen Dank für Ihren Auftrag {{ order.number }} vom {{ order.date }} über {{ order.gross }}. "
        "Anbei erhalten Sie die Auftragsbestätigung.\n\n"
        "Wir liefern voraussichtlich am {{ order.delivery_date }}.\n\n"
        "Mit freundlichen Grüßen\n{{ user.name }}\n",
    ),
    "en": (
        "Order confirmation {{ order.number }}",
        "Hello,\n\n"
        "thank you for your order {{ order.number }} of {{ order.date }} for {{ order.gross }}. "
        "Please find the order confirmation attached.\n\n"
        "We expect to deliver on {{ order.delivery_date }}.\n\n"
        "Kind regards\n{{ user.name }}\n",
    ),
}

#: What a template may use, for the admin's page (``{{ order.number }}`` …).
TEMPLATE_VALUES = (
    "order.number", "order.date", "order.delivery_date", "order.net", "order.tax", "order.gross",
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


def template_values(order: Order, user, language: str) -> dict:
    sums = totals(order.lines)
    return {
        "order": {
            "number": order.number,
            "date": formatting.day(order.ordered_on, language),
            "delivery_date": formatting.day(order.delivery_on, language),
            "net": formatting.money(sums.net_cents, language),
            "tax": formatting.money(sums.tax_cents, language),
            "gross": formatting.money(sums.gross_cents, language),
        },
        "customer": {"name": order.customer.name, "address": order.customer.address},
        "user": {"name": getattr(user, "name", None) or str(user.get_id())},
    }


def render(text: TemplateText, values: dict) -> tuple[str, str]:
    """Subject and body; raises ``TemplateFailed`` naming the template and its line."""
    subject = render_mail_template(text.subject, values, name=_("order mail subject (%(language)s)",
                                                                 language=text.language))
    body = render_mail_template(text.body, values, name=_("order mail body (%(language)s)",
                                                          language=text.language))
    return " ".join(subject.split()), body


def template_error(order: Order, user) -> str | None:
    """Why the order mail cannot be written from the template, or ``None`` when it can."""
    language = user_language(user)
    try:
        render(template(language), template_values(order, user, language))
    except TemplateFailed as error:
        return error.user_message
    return None


def compose_context(order_id: str, user) -> ComposeContext | None:
    """The dialog's pre-fill: the customer, the mail in the user's language, the order PDF."""
    order = get_order(order_id)
    if order is None:
        return None  # deleted: core's dialog answers 404 for it (``describe`` says it is gone)
    customer = order.customer
    to, notes = (), []
    if customer.email:
        to = (f"{customer.name} <{customer.email}>",)
    else:
        notes.append(_("The customer %(name)s has no e-mail address. Enter the recipient's address "
                       "below.", name=customer.name))
    language = user_language(user)
    subject = text = None
    try:
        subject, text = render(template(language), template_values(order, user, language))
    except TemplateFailed as error:
        notes.append(_("The order mail template cannot be used: %(error)s An administrator can "
                       "correct it under Orders → Mail templates.", error=error.user_message))
    attachment = AttachmentData(pdf.filename(order), "application/pdf", pdf.order_pdf(order))
    return ComposeContext(to=to, subject=subject, text=text, attachments=(attachment,), notes=tuple(notes))


def refuse_broken_template(reference, user) -> None:
    """``before_send``: an order mail is not queued while its template cannot be rendered."""
    if reference is None or reference.kind != "order" or user is None:
        return
    order = get_order(reference.id)
    if order is None:
        return
    error = template_error(order, user)
    if error:
        raise SendVetoed(_("The order mail cannot be sent until its template is corrected: %(error)s",
                           error=error))

"""The mail that sends a record: templates that admins edit (one per language), the values they
may use, and the pre-fill of core's compose dialog (recipient, subject, body, the PDF).

Templates are rendered by core's sandbox (``render_mail_template``). A template that fails names
its line; the dialog shows that, and ``before_send`` refuses to queue the mail until an admin has
fixed it, so a broken template never leads to a half-filled mail. The built-in text of a
language is the app's ``mail/<language>.txt``: a ``Subject:`` line, a blank line, the body.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._state import db_session
from ..errors import SendVetoed
from ..mime.build import AttachmentData
from ..models import utcnow
from ..records.mail_templates import TemplateFailed, render_mail_template
from ..records.references import Reference
from ..records.template_fields import TemplateField
from ..sending.on_behalf import ComposeContext
from . import formatting, record_pdf, store
from .amounts import totals
from .tables import LANGUAGES

if TYPE_CHECKING:
    from .kit import RecordApp


@dataclass(frozen=True)
class TemplateText:
    language: str
    subject: str
    body: str
    customised: bool  # False: the built-in text


def _session():
    return db_session()


def built_in_text(record_app: RecordApp, language: str) -> TemplateText:
    """The app's shipped mail text in ``language`` (German where it ships none)."""
    if language not in LANGUAGES:
        language = "de"
    with open(record_app.kind.path("mail", f"{language}.txt"), encoding="utf-8") as file:
        head, _blank, body = file.read().partition("\n\n")
    return TemplateText(language, head.removeprefix("Subject:").strip(), body, False)


def template(record_app: RecordApp, language: str) -> TemplateText:
    row = _session().get(record_app.tables.MailTemplate, language)
    if row is not None:
        return TemplateText(language, row.subject, row.body, True)
    return built_in_text(record_app, language)


def save_template(record_app: RecordApp, language: str, subject: str, body: str, user_id: str | None) -> None:
    """Store an admin's template as typed (the page checks it renders before calling this)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    row = _session().get(record_app.tables.MailTemplate, language) or record_app.tables.MailTemplate(
        language=language)
    row.subject, row.body, row.updated_at, row.updated_by = subject, body, utcnow(), user_id
    _session().add(row)
    _session().commit()


def reset_template(record_app: RecordApp, language: str) -> None:
    row = _session().get(record_app.tables.MailTemplate, language)
    if row is not None:
        _session().delete(row)
        _session().commit()


def user_language(user: Any) -> str:
    language = getattr(user, "language", None) or "de"
    return language if language in LANGUAGES else "de"


def value_names(record_app: RecordApp) -> tuple[str, ...]:
    """What a template may use, for the admin's page (``invoice.number`` …)."""
    name = record_app.kind.name
    return (*(f"{name}.{key}" for key in ("number", "date", record_app.kind.dates.promised_value, "net", "tax",
                                          "gross")), "customer.name", "customer.address", "user.name")


def sample_values(record_app: RecordApp) -> dict:
    """Values to try an admin's template with before it is saved."""
    return {
        record_app.kind.name: {"number": "2026-0001", "date": "02.01.2026",
                               record_app.kind.dates.promised_value: "16.01.2026", "net": "100,00 €",
                               "tax": "19,00 €", "gross": "119,00 €"},
        "customer": {"name": "Muster GmbH", "address": "Musterweg 1\n12345 Musterstadt"},
        "user": {"name": "Erika Mustermann"},
    }


def template_values(record_app: RecordApp, record: Any, user: Any, language: str) -> dict:
    sums, currency = totals(record.lines), record_app.kind.currency
    return {
        record_app.kind.name: {
            "number": record.number,
            "date": formatting.day(record.dated_on, language),
            record_app.kind.dates.promised_value: formatting.day(record.promised_on, language),
            "net": formatting.money(sums.net_cents, language, currency),
            "tax": formatting.money(sums.tax_cents, language, currency),
            "gross": formatting.money(sums.gross_cents, language, currency),
        },
        "customer": {"name": record.customer.name, "address": record.customer.address},
        "user": {"name": getattr(user, "name", None) or str(user.get_id())},
    }


def render(record_app: RecordApp, text: TemplateText, values: dict) -> tuple[str, str]:
    """Subject and body; raises ``TemplateFailed`` naming the template and its line."""
    words = record_app.words
    subject = render_mail_template(text.subject, values, name=words.gettext(
        "record mail subject (%(language)s)", language=text.language))
    body = render_mail_template(text.body, values, name=words.gettext(
        "record mail body (%(language)s)", language=text.language))
    return " ".join(subject.split()), body


def broken_field(record_app: RecordApp, typed: TemplateText) -> tuple[str, str] | None:
    """``("subject"|"body", why)`` for the first part of an admin's template that does not render
    with sample values, or ``None`` when both do."""
    for field, text in (("subject", TemplateText(typed.language, typed.subject, "", True)),
                        ("body", TemplateText(typed.language, "", typed.body, True))):
        try:
            render(record_app, text, sample_values(record_app))
        except TemplateFailed as error:
            return field, error.user_message
    return None


def template_error(record_app: RecordApp, record: Any, user: Any) -> str | None:
    """Why the record's mail cannot be written from the template, or ``None`` when it can."""
    language = user_language(user)
    try:
        render(record_app, template(record_app, language), template_values(record_app, record, user, language))
    except TemplateFailed as error:
        return error.user_message
    return None


def compose_context(record_app: RecordApp, record_id: str, user: Any) -> ComposeContext | None:
    """The dialog's pre-fill: the customer, the mail in the user's language, the record's PDF."""
    record = store.get_record(record_app, record_id)
    if record is None:
        return None  # deleted: core's dialog answers 404 for it (``describe`` says it is gone)
    customer, words = record.customer, record_app.words
    to, notes = (), []
    if customer.email:
        to = (f"{customer.name} <{customer.email}>",)
    else:
        notes.append(words.gettext("The customer %(name)s has no e-mail address. Enter the recipient's "
                                   "address below.", name=customer.name))
    language = user_language(user)
    subject = text = None
    try:
        subject, text = render(record_app, template(record_app, language),
                               template_values(record_app, record, user, language))
    except TemplateFailed as error:
        notes.append(words.gettext("The record mail template cannot be used: %(error)s An administrator can "
                                   "correct it under Records → Mail templates.", error=error.user_message))
    attachment = AttachmentData(record_pdf.filename(record_app, record), "application/pdf",
                                record_pdf.record_pdf(record_app, record))
    return ComposeContext(to=to, subject=subject, text=text, attachments=(attachment,), notes=tuple(notes))


def refuse_broken_template(record_app: RecordApp, reference: Reference | None, user: Any) -> None:
    """``before_send``: the record's mail is not queued while its template cannot be rendered."""
    if reference is None or reference.kind != record_app.kind.name or user is None:
        return
    record = store.get_record(record_app, reference.id)
    error = template_error(record_app, record, user) if record is not None else None
    if error:
        raise SendVetoed(record_app.words.gettext(
            "The record mail cannot be sent until its template is corrected: %(error)s", error=error))


def template_fields(record_app: RecordApp, reference: Reference | None, user: Any,
                    language: str | None = None) -> list[TemplateField]:
    """The variables a record offers to reply templates (``template_fields``): its number and
    date, the promised date (an invoice's ``due_date``), the amount and the customer's name, as
    text in ``language`` (the template's; else ``user``'s). With ``reference=None`` the
    declarations (values ``None``); a deleted or unknown record gives every field without a
    value."""
    kind, words = record_app.kind, record_app.words
    if reference is not None and reference.kind != kind.name:
        return []
    names = (f"{kind.name}_number", f"{kind.name}_date", kind.dates.promised_value, "amount", "customer_name")
    labels = (words.gettext("Record number"), words.gettext("Record date"), words.gettext("Follow-up date"),
              words.gettext("Template field: amount"), words.gettext("Template field: customer name"))
    values: tuple = (None,) * len(names)
    record = store.get_record(record_app, reference.id) if reference is not None else None
    if record is not None:
        if language not in LANGUAGES:
            language = user_language(user) if user is not None else "de"
        sums = totals(record.lines)
        values = (record.number, formatting.day(record.dated_on, language) if record.dated_on else None,
                  formatting.day(record.promised_on, language) if record.promised_on else None,
                  formatting.money(sums.gross_cents, language, kind.currency),
                  record.customer.name if record.customer is not None else None)
    return [TemplateField(name, label, value, kind.name) for name, label, value in zip(names, labels, values)]

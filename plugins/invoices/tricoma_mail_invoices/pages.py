"""The invoice app's pages (list, detail with mail history, create, customers, mail templates)
and its command line (``flask invoices seed-demo``).

Every page needs a signed-in user; deleting invoices and editing the mail templates need an
admin. "Send by e-mail" opens core's compose dialog with the reference ``invoice:<id>``; it is
offered only to users who may send from apps through some mailbox.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import click
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_datetime, get_locale
from flask_login import current_user

from tricoma_mail_plugin import Reference, TemplateFailed, app_mailboxes, mail_history

from . import demo, formatting, mail, pdf, records
from .i18n import _, _l
from .models import LANGUAGES

blueprint = Blueprint("tricoma_mail_invoices", __name__, url_prefix="/invoices",
                      template_folder="templates", cli_group="invoices")

LANGUAGE_NAMES = {"de": _l("German"), "en": _l("English")}
STATE_NAMES = {"draft": _l("draft"), "sent": _l("sent")}
OUTBOX_STATE_NAMES = {
    "queued": _l("queued"), "sending": _l("sending"), "sent": _l("sent"), "retry": _l("will retry"),
    "failed": _l("failed"), "uncertain": _l("uncertain"), "cancelled": _l("cancelled"),
}
SENT_COPY_NAMES = {"pending": _l("waiting"), "retry": _l("will retry"), "done": _l("filed"),
                   "skipped": _l("not needed")}
EMPTY_LINES = 5


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


@blueprint.before_request
def _require_login():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def _require_admin() -> None:
    if not getattr(current_user, "is_admin", False):
        abort(403)


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "en"


@blueprint.context_processor
def _helpers() -> dict:
    language = _language()
    return {
        "_": _, "gettext": _,
        "money": lambda cents: formatting.money(cents, language),
        "quantity": lambda hundredths: formatting.quantity(hundredths, language),
        "rate": lambda hundredths: formatting.rate(hundredths, language),
        "day": lambda value: formatting.day(value, language),
        "moment": lambda value: format_datetime(value, "short") if value else "—",
        "line_net": records.line_net_cents,
        "language_names": LANGUAGE_NAMES, "state_names": STATE_NAMES,
        "outbox_state_names": OUTBOX_STATE_NAMES, "sent_copy_names": SENT_COPY_NAMES,
    }


# -- invoices -----------------------------------------------------------------------------------


@blueprint.get("/")
def index():
    return render_template("tricoma_mail_invoices/index.html", invoices=records.invoices(),
                           deleted=records.invoices(deleted=True), totals=records.totals)


@blueprint.get("/<int:invoice_id>")
def detail(invoice_id: int):
    invoice = records.get_invoice(invoice_id, include_deleted=True)
    history = mail_history(Reference(records.KIND, str(invoice_id)))
    if invoice is None and not history:
        abort(404)
    if invoice is None or invoice.deleted_at is not None:
        # The invoice is gone for work, its mail is not: the history stays readable.
        return render_template("tricoma_mail_invoices/deleted.html", invoice=invoice, invoice_id=invoice_id,
                               history=history, totals=records.totals(invoice.lines) if invoice else None)
    can_send = bool(app_mailboxes(current_user))
    return render_template(
        "tricoma_mail_invoices/detail.html", invoice=invoice, totals=records.totals(invoice.lines),
        history=history, can_send=can_send,
        template_error=mail.template_error(invoice, current_user) if can_send else None,
        send_url=url_for("tricoma_mail_app_compose.dialog", reference=f"{records.KIND}:{invoice.id}",
                         next=url_for(".detail", invoice_id=invoice.id)))


@blueprint.get("/<int:invoice_id>/pdf")
def invoice_pdf(invoice_id: int):
    invoice = records.get_invoice(invoice_id)
    if invoice is None:
        abort(404)
    response = send_file(io.BytesIO(pdf.invoice_pdf(invoice)), mimetype="application/pdf", as_attachment=True,
                         download_name=pdf.filename(invoice))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.post("/<int:invoice_id>/delete")
def delete(invoice_id: int):
    _require_admin()
    invoice = records.get_invoice(invoice_id)
    if invoice is None:
        abort(404)
    records.delete_invoice(invoice)
    flash(_("Invoice %(number)s is deleted. Its mail history stays readable under Deleted invoices.",
            number=invoice.number), "success")
    return redirect(url_for(".index"))


@blueprint.route("/new", methods=["GET", "POST"])
def create():
    customers = records.customers()
    if request.method == "GET":
        return _render_create(customers, {"issued_on": date.today().isoformat()}, _blank_lines())
    form = {"customer": request.form.get("customer", ""), "issued_on": request.form.get("issued_on", "")}
    typed = _typed_lines()
    try:
        lines = [_line_input(index, line) for index, line in enumerate(typed) if line["description"].strip()]
        issued_on = _parse_day(form["issued_on"])
        customer_id = int(form["customer"]) if form["customer"].isdigit() else None
        invoice = records.create_invoice(customer_id, lines, issued_on)
    except records.InvalidInput as error:
        return _render_create(customers, form, typed, FieldError(error.field, error.message)), 400
    flash(_("Invoice %(number)s is created.", number=invoice.number), "success")
    return redirect(url_for(".detail", invoice_id=invoice.id))


def _render_create(customers, form, lines, error: FieldError | None = None):
    return render_template("tricoma_mail_invoices/create.html", customers=customers, form=form, lines=lines,
                           error=error, tax_rates=records.TAX_RATES)


def _blank_lines() -> list[dict]:
    return [{"description": "", "quantity": "1", "price": "", "tax_rate": "1900"} for _ in range(EMPTY_LINES)]


def _typed_lines() -> list[dict]:
    return [{"description": request.form.get(f"lines-{index}-description", ""),
             "quantity": request.form.get(f"lines-{index}-quantity", ""),
             "price": request.form.get(f"lines-{index}-price", ""),
             "tax_rate": request.form.get(f"lines-{index}-tax_rate", "")} for index in range(EMPTY_LINES)]


def _line_input(index: int, line: dict) -> records.LineInput:
    quantity = records.parse_decimal(line["quantity"], f"lines-{index}-quantity")
    price = records.parse_decimal(line["price"], f"lines-{index}-price")
    if quantity <= 0:
        raise records.InvalidInput(_("The quantity must be more than 0."), f"lines-{index}-quantity")
    if not line["tax_rate"].isdigit() or int(line["tax_rate"]) not in records.TAX_RATES:
        raise records.InvalidInput(_("Choose a tax rate."), f"lines-{index}-tax_rate")
    return records.LineInput(line["description"].strip(), records.hundredths(quantity), records.hundredths(price),
                             int(line["tax_rate"]))


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise records.InvalidInput(_("Enter the date as on a calendar, e.g. 2026-03-31."), "issued_on") from None


# -- customers ----------------------------------------------------------------------------------


@blueprint.route("/customers/", methods=["GET", "POST"])
def customers():
    if request.method == "GET":
        return _render_customers({"language": "de"})
    form = {name: request.form.get(name, "") for name in ("name", "email", "address", "language")}
    try:
        customer = records.create_customer(form["name"], form["email"], form["address"], form["language"])
    except records.InvalidInput as error:
        return _render_customers(form, FieldError(error.field, error.message)), 400
    flash(_("The customer %(name)s is created.", name=customer.name), "success")
    return redirect(url_for(".customers"))


def _render_customers(form, error: FieldError | None = None):
    return render_template("tricoma_mail_invoices/customers.html", customers=records.customers(), form=form,
                           error=error)


# -- mail templates (admins) --------------------------------------------------------------------

SAMPLE_VALUES = {
    "invoice": {"number": "2026-0001", "date": "02.01.2026", "due_date": "16.01.2026", "net": "100,00 €",
                "tax": "19,00 €", "gross": "119,00 €"},
    "customer": {"name": "Muster GmbH", "address": "Musterweg 1\n12345 Musterstadt"},
    "user": {"name": "Erika Mustermann"},
}


@blueprint.route("/templates", methods=["GET", "POST"])
def templates():
    _require_admin()
    texts = {language: mail.template(language) for language in LANGUAGES}
    if request.method == "GET":
        return _render_templates(texts)
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        abort(400)
    if request.form.get("action") == "reset":
        mail.reset_template(language)
        flash(_("The built-in text of the invoice mail (%(language)s) is restored.", language=LANGUAGE_NAMES[language]),
              "success")
        return redirect(url_for(".templates"))
    typed = mail.TemplateText(language, request.form.get("subject", ""), request.form.get("body", ""), True)
    for field, source in (("subject", typed.subject), ("body", typed.body)):
        try:
            mail.render(mail.TemplateText(language, source, "", True) if field == "subject"
                        else mail.TemplateText(language, "", source, True), SAMPLE_VALUES)
        except TemplateFailed as error:
            texts[language] = typed
            return _render_templates(texts, language, FieldError(field, error.user_message)), 400
    mail.save_template(language, typed.subject, typed.body, str(current_user.get_id()))
    flash(_("The invoice mail (%(language)s) is saved.", language=LANGUAGE_NAMES[language]), "success")
    return redirect(url_for(".templates"))


def _render_templates(texts, error_language: str | None = None, error: FieldError | None = None):
    return render_template("tricoma_mail_invoices/templates.html", texts=texts, error_language=error_language,
                           error=error, values=mail.TEMPLATE_VALUES)


# -- command line -------------------------------------------------------------------------------


@blueprint.cli.command("seed-demo")
def seed_demo() -> None:
    """Create demo customers (one without e-mail) and invoices; run it again and nothing doubles."""
    for line in demo.seed():
        click.echo(line)

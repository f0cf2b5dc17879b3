"""The pages of one record kind (list, detail with the send button and the mail history, PDF,
create, delete, customers; the mail templates are in ``template_pages``) and its command line
(``flask <plural> seed-demo``).

Every page needs a signed-in user; deleting records needs an admin. "Send by e-mail" opens core's
compose dialog with the reference ``<name>:<id>``; it is offered only to users who may send from
apps through some mailbox. The URL argument keeps the kind's name (``/invoices/<int:invoice_id>``);
the views see it as ``record_id``.
"""
from __future__ import annotations

import io
import os
from datetime import date
from typing import TYPE_CHECKING

import click
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from ..plugins.ui import sign_in_required
from ..records.mail_links import history
from ..records.references import Reference
from ..sending.on_behalf import app_mailboxes
from ..team.notes import notes_for_reference
from ..team.reminders import follow_ups_for_reference, snoozes_for_reference
from . import demo, record_mail, record_pdf, store
from .amounts import InvalidInput, totals
from .page_helpers import page_helpers, require_admin
from .record_forms import FieldError, blank_lines, line_inputs, parse_day, typed_lines
from .template_pages import add_template_pages

if TYPE_CHECKING:
    from .kit import RecordApp

PAGES = "tricoma_mail/records/"
TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")


def record_blueprint(record_app: RecordApp) -> Blueprint:
    """A blueprint ``tricoma_mail_<plural>`` at ``/<plural>`` with the kind's pages."""
    kind, words = record_app.kind, record_app.words
    blueprint = Blueprint(kind.blueprint_name, __name__, url_prefix=f"/{kind.plural}",
                          template_folder=TEMPLATES, cli_group=kind.plural)
    record_path = f"/<int:{kind.id_argument}>"
    sign_in_required(blueprint)
    blueprint.context_processor(lambda: page_helpers(record_app))
    add_template_pages(blueprint, record_app)

    @blueprint.url_value_preprocessor
    def _record_id(_endpoint, values):
        if values and kind.id_argument in values:
            values["record_id"] = values.pop(kind.id_argument)

    @blueprint.get("/")
    def index():
        return render_template(PAGES + "index.html", records=store.records(record_app),
                               deleted=store.records(record_app, deleted=True), totals=totals)

    @blueprint.get(record_path)
    def detail(record_id: int):
        record = store.get_record(record_app, record_id, include_deleted=True)
        mail = history(Reference(kind.name, str(record_id)))
        if record is None and not mail:
            abort(404)
        if record is None or record.deleted_at is not None:
            # The record is gone for work, its mail is not: the history stays readable.
            return render_template(PAGES + "deleted.html", record=record, record_id=record_id, history=mail,
                                   totals=totals(record.lines) if record else None)
        can_send = bool(app_mailboxes(current_user))
        return render_template(
            PAGES + "detail.html", record=record, totals=totals(record.lines), history=mail, can_send=can_send,
            notes=notes_for_reference(Reference(kind.name, str(record_id)), current_user),
            follow_ups=follow_ups_for_reference(Reference(kind.name, str(record_id)), current_user),
            snoozes=snoozes_for_reference(Reference(kind.name, str(record_id)), current_user),
            template_error=record_mail.template_error(record_app, record, current_user) if can_send else None,
            send_url=url_for("tricoma_mail_app_compose.dialog", reference=f"{kind.name}:{record.id}",
                             next=url_for(".detail", **{kind.id_argument: record.id})))

    @blueprint.get(record_path + "/pdf", endpoint=f"{kind.name}_pdf")
    def pdf(record_id: int):
        record = store.get_record(record_app, record_id) or abort(404)
        response = send_file(io.BytesIO(record_pdf.record_pdf(record_app, record)), mimetype="application/pdf",
                             as_attachment=True, download_name=record_pdf.filename(record_app, record))
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @blueprint.post(record_path + "/delete")
    def delete(record_id: int):
        require_admin()
        record = store.get_record(record_app, record_id) or abort(404)
        store.delete_record(record)
        flash(words.gettext("Record %(number)s is deleted. Its mail history stays readable under Deleted "
                            "records.", number=record.number), "success")
        return redirect(url_for(".index"))

    @blueprint.route("/new", methods=["GET", "POST"])
    def create():
        customers, dated = store.customers(record_app), kind.dates.dated
        if request.method == "GET":
            return _render_create(customers, {dated: date.today().isoformat()}, blank_lines(kind))
        form = {"customer": request.form.get("customer", ""), dated: request.form.get(dated, "")}
        typed = typed_lines(request.form)
        try:
            lines = line_inputs(kind, typed, words.gettext)
            customer_id = int(form["customer"]) if form["customer"].isdigit() else None
            record = store.create_record(record_app, customer_id, lines, parse_day(form[dated], dated))
        except InvalidInput as error:
            return _render_create(customers, form, typed, FieldError(error.field, error.message)), 400
        flash(words.gettext("Record %(number)s is created.", number=record.number), "success")
        return redirect(url_for(".detail", **{kind.id_argument: record.id}))

    def _render_create(customers, form, lines, error: FieldError | None = None):
        return render_template(PAGES + "create.html", customers=customers, form=form, lines=lines, error=error)

    @blueprint.route("/customers/", methods=["GET", "POST"])
    def customers():
        if request.method == "GET":
            return _render_customers({"language": "de"})
        form = {name: request.form.get(name, "") for name in ("name", "email", "address", "language")}
        try:
            customer = store.create_customer(record_app, form["name"], form["email"], form["address"],
                                             form["language"])
        except InvalidInput as error:
            return _render_customers(form, FieldError(error.field, error.message)), 400
        flash(words.gettext("The customer %(name)s is created.", name=customer.name), "success")
        return redirect(url_for(".customers"))

    def _render_customers(form, error: FieldError | None = None):
        return render_template(PAGES + "customers.html", customers=store.customers(record_app), form=form,
                               error=error)

    @blueprint.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create demo customers (one without e-mail) and records; run it again and nothing doubles."""
        for line in demo.seed(record_app):
            click.echo(line)

    return blueprint

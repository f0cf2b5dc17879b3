"""The invoice app without the mail stack: its PDF, its pages in German, its hooks, deleted
invoices, switching the plugin off and on, the template admin page, the demo data. (Totals and
numbering are the record kit's: tests/test_record_kit.py.)"""
from __future__ import annotations

import hashlib

from sqlalchemy import delete, func, select
from tricoma_mail_invoices import INVOICES

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import (
    ComposeContext,
    Reference,
    compose_context,
    describe_reference,
    menu_items,
)
from tricoma_mail_plugin.record_kit import record_mail, record_pdf, store
from tricoma_mail_plugin.records.mail_links import link

PLUGIN = "tricoma_mail_invoices"
Customer, Invoice = INVOICES.tables.Customer, INVOICES.tables.Record


def test_the_pdf_is_the_same_bytes_for_the_same_invoice(app, make_record):
    invoice_id, number = make_record(INVOICES, "kunde@example.test")
    with app.app_context():
        invoice = store.get_record(INVOICES, invoice_id)
        first = record_pdf.record_pdf(INVOICES, invoice)
        second = record_pdf.record_pdf(INVOICES, store.get_record(INVOICES, invoice_id))
        filename = record_pdf.filename(INVOICES, invoice)
    assert first.startswith(b"%PDF-") and first == second
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert f"/Title (Rechnung {number})".encode() in first
    assert filename == f"Rechnung-{number}.pdf"


def test_pages_list_create_and_show_invoices_in_german(app, make_user, login_as):
    make_user("clerk", language="de")
    clerk = login_as("clerk")
    created = clerk.post("/invoices/customers/", data={"name": "Café Sonnenschein", "email": "",
                                                       "address": "Marktplatz 2\n01067 Dresden", "language": "de"})
    assert created.status_code == 302
    with app.app_context():
        customer_id = db.session.scalar(select(Customer.id))
    refused = clerk.post("/invoices/new", data={"customer": str(customer_id), "issued_on": "2026-03-31",
                                                "lines-0-description": "Wartung", "lines-0-quantity": "eins",
                                                "lines-0-price": "120", "lines-0-tax_rate": "1900"})
    assert refused.status_code == 400
    assert 'id="error-lines-0-quantity"' in refused.get_data(as_text=True)
    response = clerk.post("/invoices/new", data={
        "customer": str(customer_id), "issued_on": "2026-03-31",
        "lines-0-description": "Wartung Kaffeemaschine", "lines-0-quantity": "1",
        "lines-0-price": "120,00", "lines-0-tax_rate": "1900",
        "lines-1-description": "Entkalker", "lines-1-quantity": "2",
        "lines-1-price": "4,95", "lines-1-tax_rate": "700"})
    assert response.status_code == 302
    detail = clerk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rechnung 2026-0001" in detail and "Wartung Kaffeemaschine" in detail
    assert "129,90\u00a0€" in detail  # net: 120.00 + 2 × 4.95
    assert "Umsatzsteuer 19 % auf 120,00\u00a0€" in detail
    assert "153,39\u00a0€" in detail  # gross: 129.90 + 22.80 + 0.69 (0.693 rounded)
    assert "noch keine E-Mail versandt" in detail and "Fällig am" in detail and "14.04.2026" in detail
    listing = clerk.get("/invoices/").get_data(as_text=True)
    assert "2026-0001" in listing and "Café Sonnenschein" in listing and "Entwurf" in listing
    pdf_response = clerk.get(f"{response.headers['Location']}/pdf")
    assert pdf_response.headers["Content-Type"] == "application/pdf"
    assert pdf_response.headers["Content-Disposition"].startswith("attachment")
    assert pdf_response.headers["X-Content-Type-Options"] == "nosniff"


def test_menu_entry_and_reference_type(app, make_user, make_record):
    invoice_id, number = make_record(INVOICES, None)
    make_user("root", admin=True, language="en")
    with app.test_request_context():
        admin = db.session.scalar(select(User).where(User.username == "root"))
        assert ("Invoices", "/invoices/", "apps") in [(str(i.label), i.url, i.section) for i in menu_items(admin)]
        record = describe_reference(Reference("invoice", str(invoice_id)))
        assert record.title == f"Invoice {number}" and record.url == f"/invoices/{invoice_id}"
        assert describe_reference(Reference("invoice", "999999")) is None
        assert describe_reference(Reference("invoice", "not-a-number")) is None


def test_compose_context_answers_for_invoices_only(app, make_record, make_user):
    invoice_id, number = make_record(INVOICES, None, name="Café Sonnenschein")
    make_user("clerk", language="en")
    with app.test_request_context():
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        context = compose_context(Reference("invoice", str(invoice_id)), clerk)
        assert context.to == ()
        assert any("has no e-mail address" in note for note in context.notes)
        assert context.subject == f"Invoice {number}"  # the clerk reads English
        assert "please find attached our invoice" in context.text and "Clerk" in context.text
        (attachment,) = context.attachments
        assert attachment.content_type == "application/pdf"
        assert attachment.filename == f"Rechnung-{number}.pdf"  # the customer reads German
        assert compose_context(Reference("order", "999999"), clerk).attachments == ()


def test_a_deleted_invoice_keeps_its_mail_history(app, make_user, make_record, login_as):
    invoice_id, number = make_record(INVOICES, "kunde@example.test")
    make_user("root", admin=True, language="de")
    reference = Reference("invoice", str(invoice_id))
    with app.test_request_context():
        link(reference, None, "<sent-1@example.test>", "sent", f"Rechnung {number}", "kunde@example.test")
        link(reference, None, "<reply-1@example.test>", "received", f"AW: Rechnung {number}", "kunde@example.test")
    admin = login_as("root")
    assert admin.post(f"/invoices/{invoice_id}/delete").status_code == 302

    listing = admin.get("/invoices/").get_data(as_text=True)
    deleted_section = listing[listing.index("Gelöschte Rechnungen"):]
    assert number in deleted_section
    page = admin.get(f"/invoices/{invoice_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "gelöscht" in text
    assert f"AW: Rechnung {number}" in text and f"Rechnung {number}" in text
    assert 'id="send-by-mail"' not in text
    with app.test_request_context():
        assert describe_reference(reference) is None  # the mail view no longer links it

    # even with its row gone from the database, the history stays readable
    with app.app_context():
        db.session.execute(delete(Invoice).where(Invoice.id == invoice_id))
        db.session.commit()
    text = admin.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert f"AW: Rechnung {number}" in text and "gibt es nicht mehr" in text
    assert admin.get("/invoices/987654").status_code == 404


def test_only_admins_delete_invoices_and_edit_templates(app, make_user, make_record, login_as):
    invoice_id, _number = make_record(INVOICES, None)
    make_user("clerk", language="de")
    clerk = login_as("clerk")
    assert clerk.post(f"/invoices/{invoice_id}/delete").status_code == 403
    assert clerk.get("/invoices/templates").status_code == 403


def test_switching_the_plugin_off_and_on_takes_effect_at_once(app, make_user, make_record, login_as):
    invoice_id, _number = make_record(INVOICES, "kunde@example.test")
    make_user("root", admin=True, language="en")
    admin = login_as("root")
    reference = Reference("invoice", str(invoice_id))

    def state():
        home = admin.get("/").get_data(as_text=True)
        with app.test_request_context():
            user = db.session.scalar(select(User).where(User.username == "root"))
            context = compose_context(reference, user)
            described = describe_reference(reference)
        return (admin.get("/invoices/").status_code, admin.get(f"/invoices/{invoice_id}").status_code,
                'href="/invoices/"' in home, context != ComposeContext(), described is not None)

    assert state() == (200, 200, True, True, True)
    assert admin.post(f"/mail/admin/plugins/{PLUGIN}/state", data={"enabled": "0"}).status_code == 302
    assert state() == (404, 404, False, False, False)
    assert admin.post(f"/mail/admin/plugins/{PLUGIN}/state", data={"enabled": "1"}).status_code == 302
    assert state() == (200, 200, True, True, True)


def test_admins_edit_the_templates_and_a_broken_one_names_its_line(app, make_user, login_as):
    make_user("root", admin=True, language="de")
    admin = login_as("root")
    page = admin.get("/invoices/templates").get_data(as_text=True)
    assert "Rechnung {{ invoice.number }}" in page and "mitgelieferter Text" in page
    assert "Vorlagen der Rechnungs-E-Mail" in page and "{{ invoice.due_date }}" in page

    broken = admin.post("/invoices/templates", data={"language": "de", "action": "save", "subject": "Rechnung",
                                                     "body": "Guten Tag,\n\n{% if %}\n"})
    text = broken.get_data(as_text=True)
    assert broken.status_code == 400 and "Zeile 3" in text and 'aria-invalid="true"' in text
    with app.app_context():
        assert record_mail.template(INVOICES, "de").customised is False

    saved = admin.post("/invoices/templates", data={"language": "de", "action": "save",
                                                    "subject": "Ihre Rechnung {{ invoice.number }}",
                                                    "body": "Hallo {{ customer.name }},\nanbei die Rechnung.\n"})
    assert saved.status_code == 302
    with app.app_context():
        assert record_mail.template(INVOICES, "de").subject == "Ihre Rechnung {{ invoice.number }}"
    assert admin.post("/invoices/templates", data={"language": "de", "action": "reset"}).status_code == 302
    with app.app_context():
        assert record_mail.template(INVOICES, "de").customised is False


def test_seed_demo_creates_customers_and_invoices_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["invoices", "seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["invoices", "seed-demo"])
    assert second.exit_code == 0 and second.output == first.output
    assert "no e-mail" in first.output and first.output.startswith("invoice ")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 3
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 3
        assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.email.is_(None))) == 1

"""The order app without the mail stack: the confirmation PDF, its pages, its hooks, deleted
orders, switching the plugin off and on, the demo data."""
from __future__ import annotations

from types import SimpleNamespace

import tricoma_mail_orders
from sqlalchemy import func, select
from tricoma_mail_orders import ORDERS

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import (
    ComposeContext,
    Reference,
    compose_context,
    describe_reference,
    menu_items,
)
from tricoma_mail_plugin.record_kit import record_pdf, store
from tricoma_mail_plugin.records.mail_links import link

PLUGIN = "tricoma_mail_orders"


def test_the_confirmation_pdf_is_the_same_bytes_for_the_same_order(app, make_record):
    order_id, number = make_record(ORDERS, "kunde@example.test")
    with app.app_context():
        pdfs = [record_pdf.record_pdf(ORDERS, store.get_record(ORDERS, order_id)) for _ in range(2)]
        filename = record_pdf.filename(ORDERS, store.get_record(ORDERS, order_id))
    assert pdfs[0].startswith(b"%PDF-") and pdfs[0] == pdfs[1]
    title = "<feff" + f"Auftragsbestätigung {number}".encode("utf-16-be").hex() + ">"  # PDF text string
    assert f"/Title {title}".encode() in pdfs[0]
    assert filename == f"Auftragsbestaetigung-{number}.pdf"


def test_pages_list_create_and_show_orders_in_german(app, make_user, login_as):
    make_user("clerk", language="de")
    clerk = login_as("clerk")
    assert clerk.post("/orders/customers/", data={"name": "Café Sonnenschein", "email": "",
                                                  "address": "Marktplatz 2", "language": "de"}).status_code == 302
    with app.app_context():
        customer_id = db.session.scalar(select(ORDERS.tables.Customer.id))
    response = clerk.post("/orders/new", data={
        "customer": str(customer_id), "ordered_on": "2026-03-31",
        "lines-0-description": "Espressobohnen, 1 kg", "lines-0-quantity": "6",
        "lines-0-price": "18,90", "lines-0-tax_rate": "700"})
    assert response.status_code == 302
    detail = clerk.get(response.headers["Location"]).get_data(as_text=True)
    assert "Auftrag 2026-0001" in detail and "Espressobohnen, 1 kg" in detail
    assert "113,40\u00a0€" in detail and "121,34\u00a0€" in detail  # net 6 × 18.90, gross + 7 %
    assert "nicht bestätigt" in detail and "Voraussichtliche Lieferung" in detail and "07.04.2026" in detail
    listing = clerk.get("/orders/").get_data(as_text=True)
    assert "2026-0001" in listing and "Café Sonnenschein" in listing


def test_hooks_answer_for_orders_only(app, make_user, make_record):
    order_id, number = make_record(ORDERS, None, name="Café Sonnenschein")
    make_user("clerk", language="de")
    with app.test_request_context():
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        assert ("Orders", "/orders/", "apps") in [(str(i.label), i.url, i.section) for i in menu_items(clerk)]
        record = describe_reference(Reference("order", str(order_id)))
        assert record.title == f"Order {number}" and record.url == f"/orders/{order_id}"
        context = compose_context(Reference("order", str(order_id)), clerk)
        assert context.to == () and context.subject == f"Auftragsbestätigung {number}"
        assert context.attachments[0].filename == f"Auftragsbestaetigung-{number}.pdf"
        assert compose_context(Reference("invoice", "999999"), clerk).attachments == ()


def test_message_sent_marks_the_order_confirmed(app, make_record):
    order_id, _number = make_record(ORDERS, "kunde@example.test")
    accepted = SimpleNamespace(smtp_accepted_at=None)
    with app.app_context():
        tricoma_mail_orders.tricoma_mail_message_sent(accepted, Reference("invoice", str(order_id)))
        assert store.get_record(ORDERS, order_id).state == "draft"  # another app's record
        tricoma_mail_orders.tricoma_mail_message_sent(accepted, Reference("order", str(order_id)))
        order = store.get_record(ORDERS, order_id)
        assert order.state == "sent" and order.sent_at is not None


def test_a_deleted_order_keeps_its_mail_history_and_switching_off_hides_the_app(app, make_user, make_record,
                                                                                  login_as):
    order_id, number = make_record(ORDERS, "kunde@example.test")
    make_user("root", admin=True, language="de")
    admin = login_as("root")

    def state():
        with app.test_request_context():
            user = db.session.scalar(select(User).where(User.username == "root"))
            context = compose_context(Reference("order", str(order_id)), user)
        home = admin.get("/").get_data(as_text=True)
        return admin.get(f"/orders/{order_id}").status_code, 'href="/orders/"' in home, context != ComposeContext()

    assert state() == (200, True, True)
    admin.post(f"/mail/admin/plugins/{PLUGIN}/state", data={"enabled": "0"})
    assert state() == (404, False, False)
    admin.post(f"/mail/admin/plugins/{PLUGIN}/state", data={"enabled": "1"})
    assert state() == (200, True, True)

    with app.test_request_context():
        link(Reference("order", str(order_id)), None, "<o-1@example.test>", "sent", f"Auftrag {number}",
             "kunde@example.test")
    assert admin.post(f"/orders/{order_id}/delete").status_code == 302
    page = admin.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "gelöscht" in page and f"Auftrag {number}" in page and "<o-1" not in page
    listing = admin.get("/orders/").get_data(as_text=True)
    assert number in listing[listing.index('id="deleted-title"'):]


def test_seed_demo_creates_customers_and_orders_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["orders", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(args=["orders", "seed-demo"]).output == first.output
    with app.app_context():
        counts = [db.session.scalar(select(func.count()).select_from(table))
                  for table in (ORDERS.tables.Customer, ORDERS.tables.Record, ORDERS.tables.Line)]
    assert counts == [3, 3, 5]  # the lines of demo.json: two, two and one

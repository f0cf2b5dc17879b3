"""An order confirmation sent through core's compose dialog, against the real local mail stack:
the PDF arrives byte for byte as frozen, and the order is marked as confirmed."""
from __future__ import annotations

from sqlalchemy import select
from tricoma_mail_orders import ORDERS

from hostapp.extensions import db
from tricoma_mail_plugin import Reference, mail_history
from tricoma_mail_plugin.models import FrozenAttachment
from tricoma_mail_plugin.sending import outbox


def test_an_order_confirmation_is_sent_with_the_frozen_pdf(app, shop, make_record, login_as, mail_tools):
    order_id, number = make_record(ORDERS, shop["customer"])
    clerk = login_as("clerk")
    form = mail_tools.dialog_form(mail_tools.open_dialog(clerk, f"/orders/{order_id}"))
    assert form["subject"] == f"Auftragsbestätigung {number}" and "Wir liefern voraussichtlich" in form["text"]
    with app.app_context():
        frozen_sha = db.session.scalar(select(FrozenAttachment.sha256)
                                       .where(FrozenAttachment.token == form["attachment"][0]))

    sent = clerk.post("/mail/compose/app/", data=form)
    assert sent.status_code == 302 and sent.headers["Location"] == f"/orders/{order_id}"
    with app.app_context():
        assert outbox.run_once() == 1
    (message,) = mail_tools.wait_for_messages(shop["customer_imap"])
    ((name, data),) = mail_tools.pdf_attachments(message)
    assert name == f"Auftragsbestaetigung-{number}.pdf" and mail_tools.sha256(data) == frozen_sha

    page = clerk.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'id="order-state">Bestätigung versendet<' in page and "Bestätigung per E-Mail versandt am" in page
    with app.app_context():
        assert [e.state for e in mail_history(Reference("order", str(order_id)))] == ["sent"]

"""An order confirmation sent through core's compose dialog, against the real local mail stack:
the PDF arrives byte for byte as frozen, and the order is marked as confirmed."""
from __future__ import annotations

import re

from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin import Reference, mail_history
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.models import FrozenAttachment


def test_an_order_confirmation_is_sent_with_the_frozen_pdf(app, shop, make_order, login_as, mail_tools):
    order_id = make_order(shop["customer"])
    clerk = login_as("clerk")
    detail = clerk.get(f"/orders/{order_id}").get_data(as_text=True)
    link = re.search(r'id="send-by-mail" href="([^"]+)"', detail).group(1).replace("&amp;", "&")
    page = clerk.get(link).get_data(as_text=True)
    form_html = page[page.index('<form method="post" action="/mail/compose/app/"'):]
    token = re.search(r'name="attachment" value="([^"]+)"', form_html).group(1)
    key = re.search(r'name="key" value="([^"]+)"', form_html).group(1)
    subject = re.search(r'id="field-subject" name="subject" type="text" value="([^"]*)"', form_html).group(1)
    assert subject.startswith("Auftragsbestätigung ")
    with app.app_context():
        frozen_sha = db.session.scalar(select(FrozenAttachment.sha256).where(FrozenAttachment.token == token))

    sent = clerk.post("/mail/compose/app/", data={
        "reference": f"order:{order_id}", "next": f"/orders/{order_id}", "key": key,
        "mailbox": str(shop["mailbox"]), "to": shop["customer"], "subject": subject,
        "text": "Vielen Dank für Ihren Auftrag.", "attachment": token})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/orders/{order_id}"
    with app.app_context():
        assert outbox.run_once() == 1
    (message,) = mail_tools.wait_for_messages(shop["customer_imap"])
    ((_name, data),) = mail_tools.pdf_attachments(message)
    assert mail_tools.sha256(data) == frozen_sha

    page = clerk.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'id="order-state">Bestätigung versendet<' in page
    with app.app_context():
        assert [e.state for e in mail_history(Reference("order", str(order_id)))] == ["sent"]

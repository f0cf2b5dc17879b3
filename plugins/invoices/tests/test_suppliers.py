"""The invoicing app's suppliers: admins record each one's address and bank account (a valid
IBAN or none), everyone signed in sees them, and the sender check knows them."""
from __future__ import annotations

from tricoma_mail_invoices import SUPPLIERS

from hostapp.extensions import db
from tricoma_mail_plugin import KnownSender
from tricoma_mail_plugin.mail.sender_warnings import known_senders
from tricoma_mail_plugin.models import Mailbox

PAGE = "/invoices/suppliers/"


def test_admins_record_suppliers_with_their_bank_account(app, make_user, login_as):
    make_user("root", admin=True, language="de")
    make_user("ulla", language="en")
    admin, user = login_as("root"), login_as("ulla")
    form = {"name": "Müller Bürobedarf GmbH", "email": "rechnung@mueller-buero.test",
            "iban": "de89 3704 0044 0532 0130 00"}
    assert user.post(PAGE, data=form).status_code == 403
    refused = admin.post(PAGE, data={**form, "iban": "DE89 3704 0044 0532 0130 01"})
    assert refused.status_code == 400 and "keine gültige IBAN" in refused.get_data(as_text=True)
    assert admin.post(PAGE, data=form).status_code == 302
    with app.app_context():
        [row] = db.session.execute(SUPPLIERS.select()).all()
        assert row.iban == "DE89 3704 0044 0532 0130 00"
        changed = {**form, "id": str(row.id), "iban": "DE02 1203 0000 0000 2020 51"}
    assert admin.post(PAGE, data=changed).status_code == 302
    assert admin.post(PAGE, data={**changed, "id": "999"}).status_code == 400
    german, english = admin.get(PAGE).get_data(as_text=True), user.get(PAGE).get_data(as_text=True)
    assert "Lieferanten" in german and "DE02 1203 0000 0000 2020 51" in german
    assert "Suppliers" in english and "DE02 1203 0000 0000 2020 51" in english and "Save supplier" not in english
    assert app.test_client().get(PAGE).status_code == 302  # to the login page
    with app.app_context():
        mailbox = Mailbox(title="Einkauf", email="einkauf@example.test")
        db.session.add(mailbox)
        db.session.commit()
        assert KnownSender("Müller Bürobedarf GmbH", ("rechnung@mueller-buero.test",),
                           ("DE02 1203 0000 0000 2020 51",), "supplier") in known_senders(mailbox)

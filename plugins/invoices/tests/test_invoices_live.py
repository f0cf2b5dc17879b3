"""Sending invoices by e-mail through core's compose dialog, against the real local mail stack:
the pre-filled dialog, the frozen PDF that arrives byte for byte, idempotency, a customer
without an e-mail address, a broken template, users without *send from apps*."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from tricoma_mail_invoices import INVOICES

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import (
    MailboxNotFound,
    NotAllowed,
    OutgoingMessage,
    Reference,
    mail_history,
    send_on_behalf,
)
from tricoma_mail_plugin.models import FrozenAttachment, Mailbox, OutboxItem
from tricoma_mail_plugin.record_kit import record_mail
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.sending import outbox


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxItem))


def test_an_invoice_is_sent_with_the_pdf_the_user_saw(app, shop, make_record, login_as, mail_tools):
    invoice_id, _number = make_record(INVOICES, shop["customer"])
    clerk = login_as("clerk")
    page = mail_tools.open_dialog(clerk, f"/invoices/{invoice_id}")
    assert "Rechnung 2026-" in page or "Rechnung " in page
    assert f"Berger Bau GmbH &lt;{shop['customer']}&gt;" in page
    assert "Guten Tag," in page and "Clerk" in page  # the German template, signed by the clerk
    pdf_name = re.search(r'download>(Rechnung-[\d-]+\.pdf)</a>', page).group(1)
    form = mail_tools.dialog_form(page)
    assert len(form["attachment"]) == 1
    with app.app_context():
        frozen = db.session.scalar(select(FrozenAttachment).where(FrozenAttachment.token == form["attachment"][0]))
        frozen_sha = frozen.sha256
        assert frozen.reference == f"invoice:{invoice_id}"

    # the PDF link of the dialog serves exactly the frozen bytes
    download = clerk.get(f"/mail/compose/app/attachment/{form['attachment'][0]}")
    assert mail_tools.sha256(download.data) == frozen_sha

    # a double submit (the same key from the same dialog) queues one mail
    first = clerk.post("/mail/compose/app/", data=form)
    second = clerk.post("/mail/compose/app/", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == f"/invoices/{invoice_id}"
    assert outbox_count(app) == 1

    with app.app_context():
        assert outbox.run_once() == 1
    received = mail_tools.wait_for_messages(shop["customer_imap"])
    assert len(received) == 1
    (filename, data), = mail_tools.pdf_attachments(received[0])
    assert filename == pdf_name and mail_tools.sha256(data) == frozen_sha
    assert received[0]["Subject"].startswith("Rechnung ")

    sent_copy = mail_tools.wait_for_messages(shop["shop_imap"], "Sent")
    assert [m["Message-ID"] for m in sent_copy] == [received[0]["Message-ID"]]

    detail = clerk.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert 'id="invoice-state">versendet<' in detail
    assert received[0]["Subject"] in detail and shop["customer"] in detail
    with app.app_context():
        history = mail_history(Reference("invoice", str(invoice_id)))
        assert [(e.direction, e.state, e.sent_copy) for e in history] == [("sent", "sent", "done")]


def test_a_customer_without_an_address_gets_the_address_the_user_types(app, shop, make_record, login_as,
                                                                        mail_tools):
    invoice_id, _number = make_record(INVOICES, None, name="Café Sonnenschein")
    clerk = login_as("clerk")
    page = mail_tools.open_dialog(clerk, f"/invoices/{invoice_id}")
    assert "Der Kunde Café Sonnenschein hat keine E-Mail-Adresse" in page
    form = mail_tools.dialog_form(page)
    assert form["to"] == ""

    refused = clerk.post("/mail/compose/app/", data=form)
    assert refused.status_code == 400
    assert 'id="error-to"' in refused.get_data(as_text=True)
    assert outbox_count(app) == 0

    form["to"] = shop["customer"]
    assert clerk.post("/mail/compose/app/", data=form).status_code == 302
    with app.app_context():
        assert outbox.items()[0].recipients == [shop["customer"]]
        outbox.run_once()
    assert len(mail_tools.wait_for_messages(shop["customer_imap"])) == 1


def test_a_template_that_fails_names_its_line_and_nothing_is_queued(app, shop, make_record, login_as,
                                                                     mail_tools):
    invoice_id, _number = make_record(INVOICES, shop["customer"])
    with app.app_context():
        record_mail.save_template(INVOICES, "de", "Rechnung {{ invoice.number }}",
                                  "Guten Tag,\n{{ invoice.missing.value }}\n", "1")
    clerk = login_as("clerk")
    detail = clerk.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "Zeile 2" in detail and 'id="send-by-mail"' not in detail

    dialog = clerk.get(f"/mail/compose/app/?reference=invoice:{invoice_id}&next=/invoices/{invoice_id}")
    page = dialog.get_data(as_text=True)
    assert dialog.status_code == 200 and "Zeile 2" in page
    form = mail_tools.dialog_form(page)
    form["subject"], form["text"] = "Rechnung", "Anbei die Rechnung."
    refused = clerk.post("/mail/compose/app/", data=form)
    assert refused.status_code == 400
    assert "Zeile 2" in refused.get_data(as_text=True)
    assert outbox_count(app) == 0


def test_without_send_from_apps_there_is_no_send_action_and_the_api_refuses(app, shop, make_record, make_user,
                                                                              login_as):
    invoice_id, _number = make_record(INVOICES, shop["customer"])
    outsider_id = make_user("outsider", language="de").id
    outsider = login_as("outsider")
    detail = outsider.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert 'id="send-by-mail"' not in detail and "/mail/compose/app" not in detail
    assert "Aus Apps senden" in detail

    dialog = outsider.get(f"/mail/compose/app/?reference=invoice:{invoice_id}")
    assert dialog.status_code == 403
    assert "Sie dürfen über kein Postfach E-Mails aus Apps senden." in dialog.get_data(as_text=True)
    posted = outsider.post("/mail/compose/app/", data={
        "reference": f"invoice:{invoice_id}", "key": "k", "mailbox": str(shop["mailbox"]),
        "to": shop["customer"], "subject": "s", "text": "t"})
    assert posted.status_code == 403

    with app.app_context():
        mailbox = db.session.get(Mailbox, shop["mailbox"])
        message = OutgoingMessage(to=(shop["customer"],), subject="Rechnung", text="Anbei.")
        with pytest.raises(MailboxNotFound):
            send_on_behalf(db.session.get(User, outsider_id), mailbox, message, Reference("invoice", str(invoice_id)))
        access.grant(shop["mailbox"], "user", outsider_id, "send")  # writing mail is not sending from apps
        with pytest.raises(NotAllowed):
            send_on_behalf(db.session.get(User, outsider_id), mailbox, message, Reference("invoice", str(invoice_id)))
    assert outsider.get(f"/mail/compose/app/?reference=invoice:{invoice_id}").status_code == 403
    assert outbox_count(app) == 0


def test_switching_the_plugin_off_closes_the_dialog_for_invoices(app, shop, make_record, make_user, login_as):
    invoice_id, _number = make_record(INVOICES, shop["customer"])
    admin_id = make_user("root", admin=True, language="de").id
    with app.app_context():
        access.grant(shop["mailbox"], "user", admin_id, "send_from_apps")
    admin = login_as("root")
    dialog = f"/mail/compose/app/?reference=invoice:{invoice_id}"
    assert admin.get(dialog).status_code == 200
    assert admin.post("/mail/admin/plugins/tricoma_mail_invoices/state", data={"enabled": "0"}).status_code == 302
    assert admin.get(dialog).status_code == 404
    assert admin.post("/mail/admin/plugins/tricoma_mail_invoices/state", data={"enabled": "1"}).status_code == 302
    assert admin.get(dialog).status_code == 200

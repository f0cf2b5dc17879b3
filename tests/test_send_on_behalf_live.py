"""Send on behalf of other apps, against the real local stack: rights, idempotency, the app
Bcc, record links, reply linking after sync, audit, templates."""
import smtplib
import time
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import MailboxNotFound, NotAllowed, OutgoingMessage, Reference, TemplateFailed, app_mailboxes, mail_history, render_mail_template
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin import send_on_behalf
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.models import AuditEntry, Mailbox


@pytest.fixture
def shop(app, make_mailbox, mailstack, imap_client, make_user):
    """A tested mailbox, a clerk who may send from apps through it, and a customer account."""
    from app_fixtures import _fresh_account

    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    clerk_id = make_user("clerk").id
    customer, customer_password = _fresh_account(mailstack, 2)
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
        access.grant(mailbox_id, "user", clerk_id, "send_from_apps")
    return {"mailbox": mailbox_id, "clerk": clerk_id, "customer": customer,
            "customer_password": customer_password, "customer_smtp_port": mailstack.hoster.smtp_port,
            "customer_imap": imap_client(2, customer, customer_password),
            "shop_imap": imap_client(1, email, password), "shop_email": email}


def _user(user_id):
    return db.session.get(User, user_id)


def _inbox(client, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        if uids or time.monotonic() > deadline:
            return client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        time.sleep(0.1)


def test_send_on_behalf_links_the_record_and_the_reply(app, shop):
    invoice = Reference("invoice", "2026-0042")
    with app.app_context():
        mailbox = db.session.get(Mailbox, shop["mailbox"])
        mailbox.app_bcc = "archiv@example.test"
        db.session.commit()
        item_id = send_on_behalf(_user(shop["clerk"]), mailbox,
                                 OutgoingMessage(to=(shop["customer"],), subject="Rechnung 2026-0042", text="Anbei."),
                                 reference=invoice, idempotency_key="invoice:2026-0042:1")
        again = send_on_behalf(_user(shop["clerk"]), mailbox,
                               OutgoingMessage(to=(shop["customer"],), subject="Rechnung 2026-0042", text="Anbei."),
                               reference=invoice, idempotency_key="invoice:2026-0042:1")
        assert again == item_id
        item = outbox.items()[0]
        assert "archiv@example.test" in item.recipients
        outbox.run_once()
        audits = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "send_on_behalf")).all()
        assert len(audits) == 1 and audits[0].actor == str(shop["clerk"])
        assert audits[0].details["reference"] == "invoice:2026-0042"
    received = _inbox(shop["customer_imap"])
    assert len(received) == 1
    original = list(received.values())[0][b"BODY[]"]
    assert b"archiv@example.test" not in original.split(b"\r\n\r\n")[0]

    # the customer answers, through the real stack
    reply = EmailMessage()
    reply["From"] = shop["customer"]
    reply["To"] = shop["shop_email"]
    reply["Subject"] = "AW: Rechnung 2026-0042"
    reply["Message-ID"] = "<reply-42@hoster.test>"
    with app.app_context():
        message_id = outbox.items()[0].message_id
    reply["In-Reply-To"] = message_id
    reply["References"] = message_id
    reply.set_content("Danke, wird überwiesen.")
    _send_as_customer(shop, reply)
    time.sleep(0.5)
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, shop["mailbox"]))
        history = mail_history(invoice)
    directions = sorted(entry.direction for entry in history)
    assert directions == ["received", "sent"]
    sent = next(e for e in history if e.direction == "sent")
    assert sent.state == "sent" and sent.sent_copy == "done" and sent.message_pk is not None
    received_entry = next(e for e in history if e.direction == "received")
    assert received_entry.message_id == "<reply-42@hoster.test>" and received_entry.message_pk is not None


def _send_as_customer(shop, message):
    """The customer (profile 2) answers through the real submission server of their profile."""
    with smtplib.SMTP("127.0.0.1", shop["customer_smtp_port"], timeout=30) as smtp:
        smtp.login(shop["customer"], shop["customer_password"])
        smtp.send_message(message)


def test_a_user_without_send_from_apps_is_refused(app, shop, make_user):
    outsider_id = make_user("outsider").id
    with app.app_context():
        outsider = _user(outsider_id)
        assert app_mailboxes(outsider) == []
        mailbox = db.session.get(Mailbox, shop["mailbox"])
        with pytest.raises(MailboxNotFound):
            send_on_behalf(outsider, mailbox, OutgoingMessage(to=("x@example.test",), subject="s", text="t"))
        access.grant(shop["mailbox"], "user", outsider_id, "send")
        with pytest.raises(NotAllowed):  # send alone is not send from apps
            send_on_behalf(outsider, mailbox, OutgoingMessage(to=("x@example.test",), subject="s", text="t"))
        assert outbox.items() == []
        assert [m.id for m in app_mailboxes(_user(shop["clerk"]))] == [shop["mailbox"]]


def test_a_template_that_fails_names_its_line():
    assert render_mail_template("Guten Tag {{ name }}", {"name": "Frau Berger"}) == "Guten Tag Frau Berger"
    with pytest.raises(TemplateFailed, match="line 2"):
        render_mail_template("Hallo\n{{ missing.attribute }}", {}, name="invoice_body")
    with pytest.raises(TemplateFailed, match="line 3"):
        render_mail_template("a\nb\n{% if %}", {})
    with pytest.raises(TemplateFailed):  # the sandbox refuses attribute tricks
        render_mail_template("{{ ''.__class__.__mro__ }}", {})


def test_the_mail_view_names_the_linked_record(app, shop):
    """The sent copy, opened in the mail client, says which invoice it belongs to."""
    from sqlalchemy import select as sql_select

    from tricoma_mail_plugin.models import CachedFolder, CachedMessage

    invoice = Reference("invoice", "77")
    with app.app_context():
        mailbox = db.session.get(Mailbox, shop["mailbox"])
        send_on_behalf(_user(shop["clerk"]), mailbox,
                       OutgoingMessage(to=(shop["customer"],), subject="Rechnung 77", text="x"), reference=invoice)
        outbox.run_once()
        refresh.run_sync(mailbox)
        sent_pk = db.session.scalar(sql_select(CachedMessage.id).join(CachedFolder).where(
            CachedFolder.mailbox_id == shop["mailbox"], CachedFolder.name == "Sent"))
        access.grant(shop["mailbox"], "user", shop["clerk"], "read")
    client = app.test_client()
    client.post("/login", data={"username": "clerk", "password": "correct horse battery"})
    page = client.get(f"/mail/m/{shop['mailbox']}/messages/{sent_pk}").get_data(as_text=True)
    assert "Linked to" in page and "invoice:77" in page

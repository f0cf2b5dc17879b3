"""Domain orders and transfers through the operator queue: the states the customer sees, a mail
to the customer on each change (through a real SMTP server: the local mail stack), and the
auth code, which is never shown or logged once submitted."""
from __future__ import annotations

import logging
import time

import pytest
from portal_testing import sign_in
from sqlalchemy import select, text
from tricoma_portal import secret_box
from tricoma_portal.extensions import db
from tricoma_portal.models import Domain, DomainOrder

AUTH_CODE = "Xy7-Secr3t!Code"


@pytest.fixture
def mail_to_customer(portal_app, mailstack, fresh_user):
    """The portal sends through the mail stack's SMTP (as a fresh user); the customer's contact
    address is another fresh user there. Returns (contact, its password)."""
    sender, sender_password = fresh_user(1)
    contact, contact_password = fresh_user(1)
    portal_app.config.update({
        "TRICOMA_PORTAL_SMTP_HOST": "127.0.0.1",
        "TRICOMA_PORTAL_SMTP_PORT": mailstack.profile(1).smtp_port,
        "TRICOMA_PORTAL_SMTP_SECURITY": "starttls",
        "TRICOMA_PORTAL_SMTP_CA_FILE": str(mailstack.cert),
        "TRICOMA_PORTAL_SMTP_USERNAME": sender,
        "TRICOMA_PORTAL_SMTP_PASSWORD": sender_password,
        "TRICOMA_PORTAL_MAIL_FROM": sender,
    })
    return contact, contact_password


def inbox_subjects(imap_client, user, password, count, timeout=10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        client = imap_client(1, user, password)
        client.select_folder("INBOX")
        ids = client.search("ALL")
        if len(ids) >= count or time.monotonic() > deadline:
            fetched = client.fetch(ids, ["BODY.PEEK[]"])
            return [fetched[i][b"BODY[]"].decode("utf-8", "replace") for i in sorted(fetched)]
        time.sleep(0.2)


def test_orders_move_through_the_operator_queue_with_a_mail_on_each_change(
        portal_app, make_customer, make_operator, mail_to_customer, imap_client, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # every statement and its values
    contact, contact_password = mail_to_customer
    customer = make_customer("Kunde Eins", contact_email=contact, language="de")
    admin = sign_in(portal_app, customer.admin_email)
    operator = sign_in(portal_app, make_operator())
    pages = []

    # a customer user may look but not order
    user = sign_in(portal_app, customer.user_email)
    assert user.post("/domains/order", data={"name": "nope.test"}).status_code == 404

    # format check of the auth code: refused with the reason, nothing stored
    refused = admin.post("/domains/order", data={"name": "umzug.test", "kind": "transfer",
                                                 "auth_code": "ab c", "back": "/domains"},
                         follow_redirects=True)
    assert "6 bis 32 Zeichen" in refused.get_data(as_text=True)
    admin.post("/domains/order", data={"name": "neu-kunde.test", "kind": "register", "back": "/domains"})
    admin.post("/domains/order", data={"name": "umzug.test", "kind": "transfer",
                                       "auth_code": AUTH_CODE, "back": "/domains"})
    with portal_app.app_context():
        orders = {o.domain.name: o for o in db.session.scalars(select(DomainOrder))}
        assert set(orders) == {"neu-kunde.test", "umzug.test"}
        transfer, register = orders["umzug.test"], orders["neu-kunde.test"]
        assert transfer.kind == "transfer" and register.kind == "register"
        assert secret_box.decrypt(transfer.auth_code_encrypted) == AUTH_CODE
        transfer_id, register_id = transfer.id, register.id
        raw_orders = db.session.execute(text("SELECT * FROM domain_orders")).all()
        assert AUTH_CODE not in repr(raw_orders)  # encrypted at rest
    listing = admin.get("/domains").get_data(as_text=True)
    pages.append(listing)
    assert listing.count("beantragt") >= 2

    queue = operator.get("/admin/orders").get_data(as_text=True)
    pages.append(queue)
    assert "umzug.test" in queue and "neu-kunde.test" in queue and "Kunde Eins" in queue

    assert operator.post(f"/admin/orders/{transfer_id}/start").status_code == 302
    pages.append(admin.get("/domains").get_data(as_text=True))
    assert "in Bearbeitung" in pages[-1]
    assert operator.post(f"/admin/orders/{transfer_id}/complete").status_code == 302
    # a reason is required to reject
    no_reason = operator.post(f"/admin/orders/{register_id}/reject",
                              data={"reason": " ", "back": "/admin/orders"}, follow_redirects=True)
    assert "Please give the customer a reason." in no_reason.get_data(as_text=True)
    operator.post(f"/admin/orders/{register_id}/reject", data={"reason": "Name ist vergeben"})
    # a handled order cannot be handled again
    assert operator.post(f"/admin/orders/{register_id}/complete").status_code == 409

    with portal_app.app_context():
        domains = {d.name: d for d in db.session.scalars(select(Domain))}
        assert (domains["umzug.test"].state, domains["umzug.test"].active) == ("active", 1)
        assert domains["umzug.test"].dkim_selector and domains["umzug.test"].dkim_public_key
        assert (domains["neu-kunde.test"].state, domains["neu-kunde.test"].active) == ("rejected", 0)
        assert db.session.get(DomainOrder, transfer_id).auth_code_encrypted is None  # use is over
    listing = admin.get("/domains").get_data(as_text=True)
    assert "Name ist vergeben" in listing and "abgelehnt" in listing and "aktiv" in listing
    pages.append(listing)
    pages.append(operator.get("/admin/orders").get_data(as_text=True))
    active_id = domains["umzug.test"].id
    pages.append(admin.get(f"/domains/{active_id}").get_data(as_text=True))

    # one mail per state change, in the customer's language
    mails = inbox_subjects(imap_client, contact, contact_password, count=5)
    subjects = [line for mail in mails for line in mail.splitlines() if line.startswith("Subject:")]
    assert len(mails) == 5, subjects
    joined = "\n".join(mails)
    for expected in ("neu-kunde.test: beantragt", "umzug.test: beantragt",
                     "umzug.test: in Bearbeitung", "umzug.test: aktiv", "neu-kunde.test: abgelehnt"):
        assert expected in joined, (expected, subjects)
    assert "Name ist vergeben" in joined

    # the auth code: in no page, no mail, no log line after it was submitted
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    assert "INSERT INTO domain_orders" in log_text  # the statement log is really captured
    for where, content in (("logs", log_text), ("mails", joined), ("pages", "\n".join(pages))):
        assert AUTH_CODE not in content, where

"""Fixtures of the invoice app's tests: a shop mailbox on the real local mail stack, a clerk who
may send from apps through it, a customer account to receive the invoices, and invoices.

The app is the shared test app (``tests/app_fixtures.py``), which registers this plugin as
``tricoma_mail_invoices`` (TRICOMA_MAIL_EXTRA_PLUGINS)."""
from __future__ import annotations

import email
import email.policy
import hashlib
import time
from types import SimpleNamespace

import pytest

from app_fixtures import PASSWORD, _fresh_account
from hostapp.extensions import db
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox

PLUGIN = "tricoma_mail_invoices"


@pytest.fixture
def shop(app, make_mailbox, mailstack, imap_client, make_user):
    """A tested mailbox, a German-speaking clerk with *send from apps* on it, a customer account."""
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password, title="Buchhaltung")
    clerk_id = make_user("clerk", language="de").id
    customer, customer_password = _fresh_account(mailstack, 2)
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
        access.grant(mailbox_id, "user", clerk_id, "send_from_apps")
    return {
        "mailbox": mailbox_id, "clerk": clerk_id, "shop_email": address, "customer": customer,
        "customer_password": customer_password, "customer_smtp_port": mailstack.hoster.smtp_port,
        "customer_imap": imap_client(2, customer, customer_password),
        "shop_imap": imap_client(1, address, password),
    }


@pytest.fixture
def make_invoice(app):
    """Factory: a customer and a draft invoice with two lines at two tax rates; returns its id."""

    def make(email_address: str | None, name: str = "Berger Bau GmbH", language: str = "de") -> int:
        from tricoma_mail_invoices import records

        with app.app_context():
            customer = records.create_customer(name, email_address, "Hauptstraße 5\n80331 München", language)
            invoice = records.create_invoice(customer.id, [
                records.LineInput("Beratung (Stunden)", 350, 9500, 1900),
                records.LineInput("Fachbuch Baurecht", 100, 4990, 700),
            ])
            return invoice.id

    return make


@pytest.fixture
def login_as(app):
    """Factory: a test client logged in as ``username``."""

    def login(username: str):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return login


@pytest.fixture
def mail_tools():
    """Reading mail in a test: wait for a folder's messages, the PDFs of a message, SHA-256."""
    return SimpleNamespace(wait_for_messages=wait_for_messages, pdf_attachments=pdf_attachments, sha256=sha256)


def wait_for_messages(client, folder: str = "INBOX", count: int = 1, timeout: float = 15.0) -> list:
    """The parsed messages of ``folder`` once there are ``count`` of them (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        if len(uids) >= count or time.monotonic() > deadline:
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
                    for _uid, data in sorted(fetched.items())]
        time.sleep(0.1)


def pdf_attachments(message) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()
            if part.get_content_type() == "application/pdf"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

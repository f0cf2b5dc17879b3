"""pytest plugin with the set-up of record-kit apps' tests (plugins/invoices, plugins/orders): a
shop mailbox on the real local mail stack, a clerk who may send from apps through it, a customer
account to receive the records, a factory of records, logged-in clients and mail readers.

The app is the shared test app (``app_fixtures.py``), which registers both record apps."""
from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
import time
from types import SimpleNamespace

import pytest
from app_fixtures import PASSWORD, _fresh_account

from hostapp.extensions import db
from tricoma_mail_plugin import LineInput
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.record_kit import store
from tricoma_mail_plugin.rights import access

#: Two lines at two tax rates: 3.5 × 95.00 at 19 % and 1 × 49.90 at 7 %.
TEST_LINES = (LineInput("Beratung (Stunden)", 350, 9500, 1900), LineInput("Fachbuch Baurecht", 100, 4990, 700))


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
def make_record(app):
    """Factory: a customer and a draft record of ``record_app`` with ``TEST_LINES``; returns
    ``(id, number)``."""

    def make(record_app, email_address: str | None, name: str = "Berger Bau GmbH",
             language: str = "de") -> tuple[int, str]:
        with app.app_context():
            customer = store.create_customer(record_app, name, email_address, "Hauptstraße 5\n80331 München",
                                             language)
            record = store.create_record(record_app, customer.id, list(TEST_LINES))
            return record.id, record.number

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
    """Reading mail and the compose dialog in a test."""
    return SimpleNamespace(wait_for_messages=wait_for_messages, pdf_attachments=pdf_attachments, sha256=sha256,
                           open_dialog=open_dialog, dialog_form=dialog_form)


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


def open_dialog(client, record_page: str) -> str:
    """Follow the record page's "Send by e-mail" to core's dialog; returns the dialog's HTML."""
    detail = client.get(record_page).get_data(as_text=True)
    link = re.search(r'<a class="button primary" id="send-by-mail" href="([^"]+)"', detail)
    assert link, "the record's page offers no “Send by e-mail”"
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def dialog_form(page: str) -> dict:
    """The dialog's fields as the browser would submit them (every attachment kept)."""
    page = page[page.index('<form method="post" action="/mail/compose/app/"'):]

    def value(name):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
        return match.group(1) if match else ""

    text = re.search(r'<textarea id="field-text" name="text"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1)
    mailbox = re.search(r'<option value="(\d+)" selected', page).group(1)
    return {
        "reference": value("reference"), "next": html.unescape(value("next")), "key": value("key"),
        "mailbox": mailbox, "to": html.unescape(value("to")), "cc": "", "bcc": "",
        "subject": html.unescape(value("subject")), "text": html.unescape(text),
        "attachment": re.findall(r'name="attachment" value="([^"]+)"', page),
    }

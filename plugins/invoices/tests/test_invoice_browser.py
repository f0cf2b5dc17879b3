"""Acceptance, in a real browser against the real local mail stack: a clerk opens an invoice,
clicks "Send by e-mail", finds the dialog filled in with the PDF, sends; after the outbox worker
ran, the customer's INBOX has the mail with the very PDF frozen when the dialog opened, the
mailbox's Sent folder has the copy, and the invoice shows "sent" with the mail in its history.
The customer's reply, sent into the stack with smtplib, appears linked to the invoice after sync.

Screenshots (German) go to ``test-artifacts/screenshots/``."""
from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from tricoma_mail_invoices import INVOICES

from hostapp.extensions import db
from tricoma_mail_plugin import Reference, mail_history
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.models import FrozenAttachment, Mailbox
from tricoma_mail_plugin.sending import outbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def app(make_app, mailstack):
    """The host app as a browser meets it: CSRF on, mail leaving at once."""
    return make_app(WTF_CSRF_ENABLED=True, TRICOMA_MAIL_UNDO_SEND_SECONDS=0,
                    TRICOMA_MAIL_CA_FILE=str(mailstack.cert))


@pytest.fixture
def base_url(app, shop, live_server):
    """The app served by pytest-flask's live server (a forked process), once the shop exists."""
    live_server.start()
    return live_server.url()


@pytest.fixture
def browser_page(base_url):
    """A German Chromium page, started after the server: a server forked later would hold
    Playwright's pipes open and Playwright would wait for them at its close."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_clerk_sends_an_invoice_and_sees_the_reply(app, shop, make_record, base_url, browser_page,
                                                     mail_tools):
    base = base_url
    invoice_id, number = make_record(INVOICES, shop["customer"])
    page = browser_page

    page.goto(f"{base}/login")
    page.fill("#username", "clerk")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/")

    page.get_by_role("link", name="Rechnungen", exact=True).click()
    page.wait_for_url(f"{base}/invoices/")
    page.get_by_role("link", name=number).click()
    page.wait_for_url(f"{base}/invoices/{invoice_id}")
    assert page.locator("#invoice-state").inner_text() == "Entwurf"
    screenshot(page, "invoice-1-detail")

    page.get_by_role("link", name="Per E-Mail senden").click()
    page.wait_for_url(f"{base}/mail/compose/app/?**")
    assert page.locator("h1").inner_text() == f"Per E-Mail senden: Rechnung {number}"
    assert page.locator("#field-to").input_value() == f"Berger Bau GmbH <{shop['customer']}>"
    assert page.locator("#field-subject").input_value() == f"Rechnung {number}"
    assert "Guten Tag," in page.locator("#field-text").input_value()
    assert page.locator("#field-mailbox option:checked").inner_text().startswith("Buchhaltung")
    pdf_link = page.get_by_role("link", name=f"Rechnung-{number}.pdf")
    assert pdf_link.is_visible()
    token = page.locator("input[name=attachment]").get_attribute("value")
    with app.app_context():
        frozen_sha = db.session.scalar(select(FrozenAttachment.sha256).where(FrozenAttachment.token == token))
    with page.expect_download() as download:  # the PDF the user can open is the frozen one
        pdf_link.click()
    assert mail_tools.sha256(Path(download.value.path()).read_bytes()) == frozen_sha
    screenshot(page, "invoice-2-dialog")

    page.get_by_role("button", name="Senden", exact=True).click()
    page.wait_for_url(f"{base}/invoices/{invoice_id}")
    assert "Warteschlange" in page.locator(".flash.success").inner_text()
    screenshot(page, "invoice-3-queued")

    with app.app_context():
        assert outbox.run_once() == 1
    (received,) = mail_tools.wait_for_messages(shop["customer_imap"])
    ((filename, data),) = mail_tools.pdf_attachments(received)
    assert filename == f"Rechnung-{number}.pdf" and mail_tools.sha256(data) == frozen_sha
    (copy,) = mail_tools.wait_for_messages(shop["shop_imap"], "Sent")
    assert copy["Message-ID"] == received["Message-ID"]

    page.reload()
    assert page.locator("#invoice-state").inner_text() == "versendet"
    history = page.locator("table.mail-history tbody tr")
    assert history.count() == 1
    row = history.first.inner_text()
    assert f"Rechnung {number}" in row and shop["customer"] in row and "versendet" in row and "abgelegt" in row
    screenshot(page, "invoice-4-sent")

    reply = EmailMessage()
    reply["From"] = f"Berger Bau GmbH <{shop['customer']}>"
    reply["To"] = shop["shop_email"]
    reply["Subject"] = f"AW: Rechnung {number}"
    reply["Message-ID"] = f"<reply-{invoice_id}-{time.time_ns()}@hoster.test>"
    reply["In-Reply-To"] = received["Message-ID"]
    reply["References"] = received["Message-ID"]
    reply.set_content("Vielen Dank, der Betrag wird überwiesen.")
    with smtplib.SMTP("127.0.0.1", shop["customer_smtp_port"], timeout=30) as smtp:
        smtp.login(shop["customer"], shop["customer_password"])
        smtp.send_message(reply)
    mail_tools.wait_for_messages(shop["shop_imap"], "INBOX")
    with app.app_context():
        refresh.run_sync(db.session.get(Mailbox, shop["mailbox"]))
        entries = mail_history(Reference("invoice", str(invoice_id)))
    assert sorted(entry.direction for entry in entries) == ["received", "sent"]

    page.reload()
    assert history.count() == 2
    reply_row = page.locator("table.mail-history tr.direction-received").inner_text()
    assert f"AW: Rechnung {number}" in reply_row and "Antwort" in reply_row
    screenshot(page, "invoice-5-reply")

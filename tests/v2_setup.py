"""Set-up shared by the team, notes, tags and v2 tests (tests/ and plugins/v2_hosted/tests/):
mails of a conversation, a mailbox tested and synced (and marked as v2), the owner's language."""
from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime


def thread_mail(subject: str, sender: str, to: str, message_id: str, parents: list[str] = (), day: int = 1,
                text: str = "") -> bytes:
    """A mail of 9:30 on ``day`` November 2026, answering the last of ``parents`` (References: all
    of them); its body is the subject, then ``text`` after a blank line if given."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(datetime(2026, 11, day, 9, 30, tzinfo=UTC))
    if parents:
        message["In-Reply-To"] = parents[-1]
        message["References"] = " ".join(parents)
    message.set_content(f"{subject}\n\n{text}" if text else f"{subject}\n")
    return message.as_bytes()


def sync_now(mailbox_id: int, v2: bool = True) -> None:
    """Tests the mailbox's connection, syncs it and (``v2``) marks it as a v2 mailbox. Call it in
    an app context."""
    from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
    from tricoma_mail_plugin.mailboxes import service

    mailbox = live_mailbox(mailbox_id)
    assert service.run_test(mailbox) and mailbox.last_test_ok
    sync_mailbox_now(mailbox)
    if v2:
        from tricoma_mail_v2_hosted import marks

        marks.mark(mailbox_id)


def owner_speaks(language: str) -> None:
    """Sets the language of the user "owner" (in an app context)."""
    from sqlalchemy import update

    from hostapp.extensions import db
    from hostapp.models import User

    db.session.execute(update(User).where(User.username == "owner").values(language=language))
    db.session.commit()


def v2_settings(mailstack, **settings) -> dict:
    """The app settings of the v2 browser tests (CSRF on, the stack's CA, the push engine embedded
    in the live server), plus ``settings``: for ``make_app(**v2_settings(mailstack, ...))``."""
    return {"WTF_CSRF_ENABLED": True, "TRICOMA_MAIL_CA_FILE": str(mailstack.cert),
            "TRICOMA_MAIL_V2_PUSH": "embedded", **settings}


def open_v2(page, base_url: str, mailbox_id: int, username: str, password: str, ready: dict[str, str]):
    """Signs ``username`` in (not waiting for the redirect), opens the v2 client of the mailbox and
    waits for each attribute of ``ready`` (in that order) to have its value; → the client."""
    from playwright.sync_api import expect

    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.goto(f"{base_url}/mail/v2/m/{mailbox_id}/")
    client = page.locator("#v2-client")
    for attribute, value in ready.items():
        expect(client).to_have_attribute(attribute, value)
    return client


def append_invoice_mail(server, address: str, pdf: bytes) -> None:
    """Appends to INBOX (``server``: an IMAP client) the supplier's mail "Rechnung 2026-17" to
    ``address`` with ``pdf`` attached as Rechnung-2026-17.pdf."""
    import time

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Lieferant <l@example.test>", address, "Rechnung 2026-17"
    message["Message-ID"] = f"<r17-{time.time_ns()}@example.test>"
    message.set_content("Anbei die Rechnung.\n")
    message.add_attachment(pdf, "application", "pdf", filename="Rechnung-2026-17.pdf")
    server.append("INBOX", message.as_bytes())


def append_numbered_mails(server, address: str, count: int, folder: str = "INBOX") -> None:
    """Appends ``count`` mails "Bestellung 000" … to ``folder`` (``server``: an IMAP client), 50
    in one MULTIAPPEND."""
    mails = [thread_mail(f"Bestellung {n:03d}", "Kunde <k@kunde.test>", address, f"<b{n}-p@kunde.test>",
                         day=1 + n % 28) for n in range(count)]
    for start in range(0, count, 50):
        server.multiappend(folder, mails[start:start + 50])


def open_synced_v2(app, live_server, chromium, mailbox_id: int, username: str, password: str):
    """Syncs the mailbox (marked v2) with its owner speaking English, starts the live server and
    opens the v2 client in Chromium (en-US) as ``username``; → the page, once the client is ready."""
    with app.app_context():
        owner_speaks("en")
        sync_now(mailbox_id)
    live_server.start()
    page = chromium("en-US")
    open_v2(page, live_server.url(), mailbox_id, username, password, {"data-ready": "1"})
    return page

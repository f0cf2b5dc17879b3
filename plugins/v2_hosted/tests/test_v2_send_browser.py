"""Undo send and send later in the v2 compose dialog, in Debian's Chromium (headless, Playwright)
on the real stack, as v1 has them (core's outbox):

* Send, then "Rückgängig" in the toast: the mail is back in the editor with what was written,
  its outbox item is cancelled (nothing left to send) and the worker delivers nothing.
* "Später senden": a time two days ahead, "Planen" → queued in the outbox for that moment (the
  browser's local time), shown as scheduled with "Senden abbrechen"; the worker does not send it
  now.
* A mail sent normally is delivered by the same worker run once its undo window is over: the
  other two were held back, not lost in a worker that sends nothing.

Screenshots (German) go to ``<tmp>/screenshots``; the English compose dialog with "Send later" is
in test_v2_browser.py."""
from __future__ import annotations

import time
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from app_fixtures import PASSWORD, _fresh_account
from sqlalchemy import select
from v2_setup import open_v2, owner_speaks, sync_now, v2_settings

from hostapp.extensions import db
from tricoma_mail_plugin.models import OutboxItem
from tricoma_mail_plugin.sending import outbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNDO_SECONDS = 4

#: a local time two days ahead, as the datetime-local field takes it, and that moment in ms
LATER = """() => { const d = new Date(Date.now() + 2 * 86400000); d.setSeconds(0, 0);
  const two = n => String(n).padStart(2, '0');
  return [`${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`,
          d.getTime()]; }"""


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack, TRICOMA_MAIL_UNDO_SEND_SECONDS=UNDO_SECONDS))


@pytest.fixture
def v2_box(app, live_server, make_mailbox, mailstack, imap_client):
    email, password = _fresh_account(mailstack, 1)
    customer, customer_password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Vertrieb")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Kunde <{customer}>", email, "Anfrage"
    message["Message-ID"] = f"<anfrage-{time.time_ns()}@example.test>"
    message.set_content("Bitte um ein Angebot.\n")
    imap_client(1, email, password).append("INBOX", message.as_bytes())
    with app.app_context():
        owner_speaks("de")
        sync_now(mailbox_id)
    live_server.start()
    return {"app": app, "url": live_server.url(), "id": mailbox_id, "customer": customer,
            "customer_imap": imap_client(1, customer, customer_password)}


def items(app, mailbox_id: int) -> dict[str, OutboxItem]:
    with app.app_context():
        found = db.session.scalars(select(OutboxItem).where(OutboxItem.mailbox_id == mailbox_id)).all()
        db.session.expunge_all()
        return {item.subject: item for item in found}


def delivered(customer_imap) -> list[str]:
    customer_imap.select_folder("INBOX", readonly=True)
    fetched = customer_imap.fetch(customer_imap.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return sorted(data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for data in fetched.values())


def write(page, to: str, subject: str, body: str):
    from playwright.sync_api import expect

    page.locator("#v2-items").focus()
    page.keyboard.press("c")
    dialog = page.locator("#v2-compose-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=to]").fill(to)
    dialog.locator("input[name=subject]").fill(subject)
    dialog.locator("textarea[name=body]").fill(body)
    return dialog


def test_undo_send_and_send_later_in_chromium(v2_box, chromium):
    page = chromium("de-DE", viewport={"width": 1400, "height": 850}, full_page=False)
    try:
        walk_through(v2_box, page)
    except BaseException:
        page.shot("send-failure")
        raise
    assert not page.problems, page.problems


def walk_through(v2, page):
    from playwright.sync_api import expect

    app, customer = v2["app"], v2["customer"]
    open_v2(page, v2["url"], v2["id"], "owner", PASSWORD, {"data-ready": "1"})
    toast, undo = page.locator("#v2-toast-text"), page.locator("#v2-toast-undo")

    # send, then "Rückgängig": back in the editor, the outbox item cancelled
    dialog = write(page, customer, "Angebot 1", "Anbei unser Angebot.")
    page.keyboard.press("Control+Enter")
    expect(dialog).to_be_hidden()
    expect(toast).to_have_text("Die E-Mail wird gesendet.")
    expect(undo).to_have_text("Rückgängig")
    undo.click()
    expect(toast).to_have_text("Die E-Mail wurde nicht gesendet. Sie ist wieder im Editor.")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=to]")).to_have_value(customer)
    expect(dialog.locator("input[name=subject]")).to_have_value("Angebot 1")
    expect(dialog.locator("textarea[name=body]")).to_have_value("Anbei unser Angebot.")
    page.shot("send-1-undone-back-in-the-editor-de")
    assert {subject: item.state for subject, item in items(app, v2["id"]).items()} == {"Angebot 1": "cancelled"}
    dialog.get_by_role("button", name="Abbrechen").click()
    expect(dialog).to_be_hidden()

    # send later: the chosen time, "Planen" → queued for that moment, shown as scheduled
    dialog = write(page, customer, "Angebot 2", "Unser Angebot folgt.")
    later, moment_ms = page.evaluate(LATER)
    dialog.locator("#v2-send-later summary").click()
    dialog.get_by_label("Senden am").fill(later)
    page.shot("send-2-send-later-de")
    dialog.get_by_role("button", name="Planen").click()
    expect(dialog).to_be_hidden()
    expect(toast).to_contain_text("Geplant: Die E-Mail wird am ")
    expect(toast).to_contain_text(" gesendet.")
    expect(undo).to_have_text("Senden abbrechen")
    page.shot("send-3-scheduled-de")
    scheduled = items(app, v2["id"])["Angebot 2"]
    moment = datetime.fromtimestamp(moment_ms / 1000, UTC)
    assert scheduled.state == "queued"
    assert scheduled.not_before.replace(tzinfo=UTC) == moment, (scheduled.not_before, moment)

    # a third mail, sent now: the worker delivers it after its undo window, and only it
    write(page, customer, "Angebot 3", "Hier ist es.")
    page.keyboard.press("Control+Enter")
    expect(toast).to_have_text("Die E-Mail wird gesendet.")
    time.sleep(UNDO_SECONDS + 0.5)
    with app.app_context():
        assert outbox.run_once() == 1
    states = {subject: item.state for subject, item in items(app, v2["id"]).items()}
    assert states["Angebot 1"] == "cancelled" and states["Angebot 2"] == "queued", states
    assert states["Angebot 3"] == "sent", states
    deadline = time.monotonic() + 5
    while not delivered(v2["customer_imap"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert delivered(v2["customer_imap"]) == ["Angebot 3"]

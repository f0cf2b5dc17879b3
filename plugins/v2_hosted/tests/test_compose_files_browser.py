"""Attachments, forward and autosave of the v2 compose dialog in Debian's Chromium, headless
(Playwright), on the real stack; no page reload anywhere.

Too large a file shows the limit's error and nothing typed is lost; a file picked with the
button and one dropped onto the dialog show as chips, one is removed by keyboard, the mail that
leaves through the outbox has the other; a forward of a mail with a PDF carries the PDF to the
sent mail; a changed draft is saved to Drafts by itself (autosave, no click) with its file, and
reopened from Drafts it still has it; text typed while "Save draft" is on its way is saved by the
next autosave, and two saves never run at once (one copy in Drafts). Screenshots (German, and the dialog in English) go to
``<tmp>/screenshots``."""
from __future__ import annotations

import email
import re
import time
from email.policy import default as default_policy

import pytest
from app_fixtures import PASSWORD, _fresh_account
from sqlalchemy import update
from v2_setup import append_invoice_mail, owner_speaks, sync_now, v2_settings

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.web import compose_views

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.live]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
LIMIT = 200 * 1024


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack, TRICOMA_MAIL_UNDO_SEND_SECONDS=1, TRICOMA_MAIL_MAX_ATTACHMENT_BYTES=LIMIT))


@pytest.fixture
def v2_box(app, live_server, make_mailbox, mailstack, imap_client, monkeypatch):
    address, password = _fresh_account(mailstack, 1)
    customer = _fresh_account(mailstack, 1)[0]
    mailbox_id = make_mailbox(1, address, password, title="Vertrieb")
    server = imap_client(1, address, password)
    append_invoice_mail(server, address, PDF)
    with app.app_context():
        owner_speaks("de")
        sync_now(mailbox_id)
    # The server is a forked process: what it should see must be set before it starts.
    monkeypatch.setattr(compose_views, "AUTOSAVE_SECONDS", 1)
    live_server.start()
    return {"app": app, "url": live_server.url(), "id": mailbox_id, "server": server, "customer": customer}


@pytest.fixture
def page(v2_box, chromium):
    return chromium("de-DE", viewport={"width": 1400, "height": 950}, full_page=False)


def shot(page, name: str) -> None:
    page.shot(name)


def on_server(server, folder: str, subject: str) -> email.message.EmailMessage | None:
    server.select_folder(folder, readonly=True)
    uids = server.search(["SUBJECT", subject])
    if not uids:
        return None
    raw = server.fetch(uids[-1:], ["BODY.PEEK[]"])[uids[-1]][b"BODY[]"]
    return email.message_from_bytes(raw, policy=default_policy)


def attachments_of(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def deliver(box, subject: str) -> email.message.EmailMessage:
    """Runs the outbox (after the undo window) and answers the Sent copy on the server."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with box["app"].app_context():
            outbox.run_once()
            states = {item.subject: (item.state, item.sent_copy, item.last_error) for item in outbox.items()}
        if states.get(subject, ("",))[0:2] == ("sent", "done"):
            break
        time.sleep(0.5)
    assert states.get(subject, ("",))[0:2] == ("sent", "done"), states
    found = on_server(box["server"], "Sent", subject)
    assert found is not None
    return found


def pick_files(page, files) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("#v2-add-files").click()
    chooser.value.set_files(files)


def drop_file(page, name: str, text: str, mime: str) -> None:
    """A file dropped onto the compose dialog, as the browser delivers a drop from the desktop."""
    page.evaluate("""([name, text, mime]) => {
        const data = new DataTransfer();
        data.items.add(new File([text], name, { type: mime }));
        const dialog = document.getElementById('v2-compose-dialog');
        for (const type of ['dragenter', 'dragover', 'drop']) {
          dialog.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
        }
    }""", [name, text, mime])


def test_attachments_forward_and_autosave_in_chromium(v2_box, page):
    try:
        walk_through(v2_box, page)
    except BaseException:
        shot(page, "compose-failure")
        raise
    assert not page.problems, page.problems


def walk_through(box, page):
    from playwright.sync_api import expect

    page.goto(box["url"] + "/login")
    page.fill("#username", "owner")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.goto(f"{box['url']}/mail/v2/m/{box['id']}/")
    expect(page.locator("#v2-client")).to_have_attribute("data-ready", "1")
    page.evaluate("window.notReloaded = true")
    dialog = page.locator("#v2-compose-dialog")
    chips = dialog.locator("#v2-attachment-list > li.v2-attachment[data-token]")

    # -- a new mail: too large a file is refused, nothing typed is lost ------------------------
    page.keyboard.press("c")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#v2-attachments legend")).to_have_text("Anhänge")
    page.keyboard.type(box["customer"])
    dialog.locator("input[name=subject]").fill("Ihr Angebot")
    body = "Sehr geehrte Damen und Herren,\n\nanbei unser Angebot."
    dialog.locator("textarea[name=body]").fill(body)
    pick_files(page, [{"name": "gross.bin", "mimeType": "application/octet-stream", "buffer": b"x" * (LIMIT + 1)}])
    error = dialog.locator("#v2-attachment-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Die Anhänge sind größer als die Grenze von 200 KB")
    expect(dialog.locator("textarea[name=body]")).to_have_value(body)
    expect(dialog.locator("input[name=subject]")).to_have_value("Ihr Angebot")
    expect(chips).to_have_count(0)
    shot(page, "compose-1-too-large-de")

    # -- one file picked, one dropped, the dropped one removed by keyboard, then sent -----------
    pick_files(page, [{"name": "Angebot.txt", "mimeType": "text/plain", "buffer": b"Preis: 100 EUR\n"}])
    drop_file(page, "Preisliste.csv", "Artikel;Preis\nZahnrad;12\n", "text/csv")
    expect(chips).to_have_count(2)
    expect(error).to_be_hidden()
    expect(chips.nth(0)).to_contain_text("Angebot.txt")
    expect(chips.nth(1)).to_contain_text("Preisliste.csv")
    shot(page, "compose-2-attachments-de")
    remove = chips.nth(1).locator("button")
    expect(remove).to_have_attribute("aria-label", "Preisliste.csv entfernen")
    remove.focus()
    page.keyboard.press("Enter")
    expect(chips).to_have_count(1)
    expect(dialog.locator("#v2-attachment-status")).to_have_text("Preisliste.csv wurde entfernt.")
    page.keyboard.press("Control+Enter")
    expect(dialog).to_be_hidden()
    sent = deliver(box, "Ihr Angebot")
    assert attachments_of(sent) == {"Angebot.txt": b"Preis: 100 EUR\n"}
    assert on_server(box["server"], "Drafts", "Ihr Angebot") is None  # an autosaved copy went with sending

    # -- forward of a mail with a PDF: the PDF goes with it -------------------------------------
    page.locator("#v2-items > li", has_text="Rechnung 2026-17").click()
    expect(page.locator("#v2-reader-subject")).to_have_text("Rechnung 2026-17")
    expect(page.locator('.v2-reader-actions [data-action="forward_attachment"]')).to_have_text("Als Anhang weiterleiten")
    page.locator('.v2-reader-actions [data-action="forward"]').click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=subject]")).to_have_value("Fwd: Rechnung 2026-17")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("Rechnung-2026-17.pdf")
    dialog.locator("input[name=to]").fill(box["customer"])
    shot(page, "compose-3-forward-pdf-de")
    dialog.locator("#v2-send").click()
    expect(dialog).to_be_hidden()
    forwarded = deliver(box, "Fwd: Rechnung 2026-17")
    assert attachments_of(forwarded) == {"Rechnung-2026-17.pdf": PDF}

    # -- autosave: a changed draft reaches Drafts by itself, with its file ----------------------
    page.locator("#v2-compose").click()
    expect(dialog).to_be_visible()
    dialog.locator("input[name=subject]").fill("Skizze Zahnrad")
    dialog.locator("textarea[name=body]").fill("Erste Fassung der Skizze.")
    pick_files(page, [{"name": "Skizze.txt", "mimeType": "text/plain", "buffer": b"Zahnrad, 32 Zaehne\n"}])
    expect(chips).to_have_count(1)
    expect(page.locator("#v2-draft-status")).to_contain_text("Entwurf gespeichert", timeout=6000)
    draft = on_server(box["server"], "Drafts", "Skizze Zahnrad")
    assert draft is not None and attachments_of(draft) == {"Skizze.txt": b"Zahnrad, 32 Zaehne\n"}
    shot(page, "compose-4-autosaved-de")

    # -- typed while "Save draft" is on its way: the next autosave saves it ---------------------
    page.evaluate("""() => {
        document.getElementById('v2-save-draft').click();
        document.querySelector('#v2-compose-form textarea[name=body]').value += ' Zweite Fassung.';
    }""")
    deadline, copies = time.monotonic() + 10, []
    while time.monotonic() < deadline:
        draft = on_server(box["server"], "Drafts", "Skizze Zahnrad")
        copies = box["server"].search(["SUBJECT", "Skizze Zahnrad", "UNDELETED"])
        if len(copies) == 1 and "Zweite Fassung." in draft.get_body(("plain",)).get_content():
            break
        time.sleep(0.3)
    assert "Zweite Fassung." in draft.get_body(("plain",)).get_content()
    assert len(copies) == 1  # one save at a time: the old copy goes before the next is stored
    assert attachments_of(draft) == {"Skizze.txt": b"Zahnrad, 32 Zaehne\n"}
    dialog.locator("#v2-compose-cancel").click()
    expect(dialog).to_be_hidden()

    # -- reopened from Drafts, the draft still has its file -------------------------------------
    with box["app"].app_context():
        sync_mailbox_now(live_mailbox(box["id"]))
    page.locator(".v2-folder[data-role=drafts]").click()
    page.locator("#v2-items > li", has_text="Skizze Zahnrad").click()
    edit = page.locator('.v2-reader-actions [data-action="edit_draft"]')
    expect(edit).to_have_text("Entwurf bearbeiten")
    edit.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(page.locator("#v2-compose-title")).to_have_text("Entwurf bearbeiten")
    expect(dialog.locator("textarea[name=body]")).to_have_value(re.compile(r"^Erste Fassung der Skizze\. Zweite Fassung\.\s*$"))
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("Skizze.txt")
    shot(page, "compose-5-draft-reopened-de")
    dialog.locator("#v2-compose-cancel").click()
    assert page.evaluate("window.notReloaded") is True  # all of it without a page reload

    # -- the same dialog in English ------------------------------------------------------------
    with box["app"].app_context():
        db.session.execute(update(User).where(User.username == "owner").values(language="en"))
        db.session.commit()
    page.reload()
    expect(page.locator("#v2-client")).to_have_attribute("data-ready", "1")
    page.keyboard.press("c")
    expect(dialog.locator("#v2-attachments legend")).to_have_text("Attachments")
    expect(page.locator("#v2-add-files")).to_have_text("Add files")
    pick_files(page, [{"name": "big.bin", "mimeType": "application/octet-stream", "buffer": b"x" * (LIMIT + 1)}])
    expect(dialog.locator("#v2-attachment-error")).to_contain_text("The attachments are larger than the limit of 200 KB")
    shot(page, "compose-6-too-large-en")

"""The v2 interface in Debian's Chromium, headless, driven by Playwright, on the real stack: the
app serves on a random port (pytest-flask's live server, the push engine embedded in it), mail
lives on the local Dovecot.

One browser session walks through: the navigation opens the v2 mailbox in v2 (the interface
follows the mailbox); a thread of five mails across INBOX and Sent is one conversation; a mail
delivered over SMTP appears within 2 s with the unread counts changed (the folder pane and the
host's navigation: the mailbox's link and "Alle Posteingänge"), a flag set and a deletion made by
another IMAP client show within 2 s; search as you type and a range selection; open, reply, send,
delete and undo, and a move to any folder through the folder picker (key m) and its undo, by
keyboard alone (no mouse event reaches the page); a mail dragged onto Archive is moved there on
the server and undo brings it back; "?" lists every shortcut. Screenshots (German and English: the
list, conversations, reading pane, folder picker, compose) go to ``<tmp>/screenshots``; a failure
leaves one too."""
from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from app_fixtures import PASSWORD, _fresh_account
from sqlalchemy import select, update
from v2_setup import owner_speaks, sync_now, thread_mail, v2_settings

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.models import OutboxItem

pytestmark = [pytest.mark.browser, pytest.mark.slow]

THREAD = "Projekt Zahnrad"
#: the help's label of each shortcut the issue asks for (English)
REQUIRED_SHORTCUTS = {"next": "Next message", "previous": "Previous message", "open": "Open the message",
                      "reply": "Reply", "reply all": "Reply to all", "forward": "Forward", "delete": "Delete",
                      "archive": "Archive", "mark read": "Mark as read or unread", "search": "Search",
                      "move": "Move to a folder…"}


def mail(subject: str, sender: str, to: str, day: int, message_id: str, parents: list[str] = ()) -> bytes:
    return thread_mail(subject, sender, to, message_id, parents, day, text=f"Text der Nachricht vom {day}. November.\n")


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack, TRICOMA_MAIL_UNDO_SEND_SECONDS=10))


@pytest.fixture
def v2_app(app, live_server, make_mailbox, mailstack, imap_client):
    """A v2 mailbox (German UI) with a five-mail thread across INBOX and Sent and two other
    mails, synced, served by the live server."""
    email, password = _fresh_account(mailstack, 1)
    customer = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Projekte")
    ids = [f"<t{n}-{time.time_ns()}@example.test>" for n in range(1, 6)]
    them, us = f"Kunde <{customer[0]}>", f"Projekte <{email}>"
    client = imap_client(1, email, password)
    client.create_folder("Kunden")  # a folder of no role: the folder picker moves there
    client.multiappend("INBOX", [
        mail(THREAD, them, us, 1, ids[0]),
        mail(f"AW: {THREAD}", them, us, 3, ids[2], ids[:2]),
        mail(f"AW: {THREAD}", them, us, 5, ids[4], ids[:4]),
        mail("Liefertermin", "Einkauf <einkauf@example.test>", us, 6, "<lt@example.test>"),
        mail("Newsletter November", "News <news@example.test>", us, 2, "<nl@example.test>"),
    ])
    client.multiappend("Sent", [
        mail(f"Re: {THREAD}", us, them, 2, ids[1], ids[:1]),
        mail(f"Re: AW: {THREAD}", us, them, 4, ids[3], ids[:3]),
    ])
    client.select_folder("INBOX")
    client.add_flags(client.search(["SUBJECT", "Newsletter November"]), [b"$label4"])  # a tag: To Do
    with app.app_context():
        owner_speaks("de")
        sync_now(mailbox_id)
    live_server.start()
    return {"app": app, "url": live_server.url(), "id": mailbox_id, "email": email, "password": password,
            "customer": customer}


@pytest.fixture
def page(v2_app, chromium):
    return chromium("de-DE", viewport={"width": 1400, "height": 850}, full_page=False)


def shot(page, name: str) -> None:
    page.shot(name)


def test_v2_interface_in_chromium(v2_app, page, smtp_client, imap_client):
    try:
        walk_through(v2_app, page, smtp_client, imap_client)
    except BaseException:
        shot(page, "v2-failure")
        print(page.evaluate("""() => fetch(document.getElementById('v2-client').dataset.api
            + '/messages?folder=INBOX&conversations=0', {headers: {Accept: 'application/json'}})
            .then(r => r.json()).then(d => JSON.stringify(d.items.map(m => [m.id, m.uid, m.subject])))"""))
        raise
    assert not page.problems, page.problems
    assert len(list(page.shots.glob("*.png"))) == 11


def walk_through(v2, page, smtp_client, imap_client):
    from playwright.sync_api import expect

    page.goto(v2["url"] + "/login")
    page.fill("#username", "owner")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")

    # the navigation links the mailbox to the client its backend answer names: v2
    page.click("nav.sidebar a:has-text('Projekte')")
    expect(page).to_have_url(f"{v2['url']}/mail/v2/m/{v2['id']}/")
    client = page.locator("#v2-client")
    expect(client).to_have_attribute("data-ready", "1")
    expect(client).to_have_attribute("data-live", "on")
    inbox = page.locator(".v2-folder[data-role=inbox]")
    expect(inbox.locator(".v2-count")).to_have_text("5")
    # the unified inbox's badge: the unread mail of every mailbox the owner reads
    unified = page.locator("nav.sidebar a", has_text="Alle Posteingänge").locator(".badge")
    others = int(unified.inner_text()) - 5

    # conversations: the five mails of INBOX and Sent are one conversation, the others alone
    rows = page.locator("#v2-items > li.v2-row.conversation")
    expect(rows).to_have_count(3)
    thread = rows.filter(has_text=THREAD)
    expect(thread.locator(".v2-thread-count")).to_have_text("5")
    thread.locator(".v2-expand").click()
    members = page.locator("#v2-items > li.v2-row.member")
    expect(members).to_have_count(5)
    expect(members.locator(".v2-folder-badge", has_text="Sent")).to_have_count(2)
    shot(page, "v2-1-conversations-de")
    thread.locator(".v2-expand").click()
    expect(members).to_have_count(0)

    # live update: delivered over SMTP → in the open list within 2 s, the unread count moves
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = v2["customer"][0], v2["email"], "Eilt: Neue Bestellung"
    message["Message-ID"] = make_msgid(domain="example.test")
    message.set_content("Bitte 50 Stück.\n")
    smtp_client(1, *v2["customer"]).send_message(message)
    expect(page.locator("#v2-items > li", has_text="Eilt: Neue Bestellung")).to_be_visible(timeout=2000)
    expect(inbox.locator(".v2-count")).to_have_text("6", timeout=2000)
    expect(page.locator('nav a[aria-current="page"] .badge')).to_have_text("6", timeout=2000)
    expect(unified).to_have_text(str(others + 6), timeout=2000)
    shot(page, "v2-2-live-new-mail-de")

    # live update: a flag set by another IMAP client shows within 2 s
    other = imap_client(1, v2["email"], v2["password"])
    other.select_folder("INBOX")
    other.add_flags(other.search(["SUBJECT", "Liefertermin"]), [b"\\Flagged"])
    expect(page.locator("#v2-items > li", has_text="Liefertermin").locator(".v2-flag")).to_be_visible(timeout=2000)

    # search as you type over the local index; range selection with Shift
    page.fill("#v2-search", "Liefer")
    expect(page.locator("#v2-items > li.v2-row")).to_have_count(1)
    page.fill("#v2-search", "")
    expect(page.locator("#v2-items > li.v2-row")).to_have_count(4)
    page.locator("#v2-items").focus()
    page.keyboard.press("j")
    page.keyboard.press("Shift+J")
    page.keyboard.press("Shift+J")
    expect(page.locator('#v2-items > li[aria-selected="true"]')).to_have_count(3)

    # a deletion made elsewhere disappears within 2 s
    other.delete_messages(other.search(["SUBJECT", "Liefertermin"]))
    other.expunge()
    expect(page.locator("#v2-items > li", has_text="Liefertermin")).to_have_count(0, timeout=2000)
    expect(inbox.locator(".v2-count")).to_have_text("5", timeout=2000)  # it was unread
    expect(unified).to_have_text(str(others + 5), timeout=2000)

    # keyboard only: open, reply, send, delete, undo; the page sees no mouse event
    page.evaluate("""() => { window.mouseEvents = 0;
        ['mousedown', 'mouseup', 'pointerdown', 'pointerup'].forEach(name =>
          document.addEventListener(name, () => { window.mouseEvents += 1; }, true)); }""")
    page.locator("#v2-items").focus()
    for _ in range(4):
        page.keyboard.press("k")  # to the top: the newest mail
    page.keyboard.press("Enter")
    expect(page.locator("#v2-reader-subject")).to_have_text("Eilt: Neue Bestellung")
    expect(page.frame_locator("iframe.v2-body").locator("body")).to_contain_text("Bitte 50 Stück.")
    expect(inbox.locator(".v2-count")).to_have_text("4", timeout=3000)  # opened = read
    expect(unified).to_have_text(str(others + 4), timeout=3000)
    move_button = page.locator(".v2-reader-actions button[data-action=move]")
    expect(move_button).to_have_text("Verschieben …")
    expect(move_button).to_have_attribute("aria-keyshortcuts", "m")
    shot(page, "v2-3-reading-pane-de")
    page.keyboard.press("r")
    dialog = page.locator("#v2-compose-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=subject]")).to_have_value("Re: Eilt: Neue Bestellung")
    page.keyboard.type("Gern, wir liefern morgen.")
    page.keyboard.press("Control+s")  # a draft, saved by v1's draft service
    expect(page.locator("#v2-draft-status")).to_contain_text("Entwurf gespeichert")
    other.select_folder("Drafts")
    assert len(other.search("ALL")) == 1
    shot(page, "v2-4-reply-de")
    page.keyboard.press("Control+Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#v2-toast-text")).to_have_text("Die E-Mail wird gesendet.")
    other.select_folder("Drafts")
    assert other.search("ALL") == []  # the draft went when the mail was queued
    other.select_folder("INBOX")
    answered = other.get_flags(other.search(["SUBJECT", "Eilt: Neue Bestellung"]))
    assert all(b"\\Answered" in flags for flags in answered.values()) and answered
    page.keyboard.press("Delete")
    expect(page.locator("#v2-items > li", has_text="Eilt: Neue Bestellung")).to_have_count(0)
    expect(page.locator("#v2-toast-text")).to_have_text("In den Papierkorb verschoben.")
    page.keyboard.press("z")
    expect(page.locator("#v2-items > li", has_text="Eilt: Neue Bestellung")).to_have_count(1)
    move_by_keyboard(page, other)
    assert page.evaluate("window.mouseEvents") == 0
    with v2["app"].app_context():
        queued = db.session.scalars(select(OutboxItem).where(OutboxItem.mailbox_id == v2["id"])).all()
        assert [item.subject for item in queued] == ["Re: Eilt: Neue Bestellung"]
    other.select_folder("INBOX")
    assert other.search(["SUBJECT", "Eilt: Neue Bestellung"])  # back on the server

    # drag and drop onto Archive: moved on the server (UID MOVE), undo brings it back
    source = page.locator("#v2-items > li", has_text="Newsletter November")
    source.drag_to(page.locator(".v2-folder[data-role=archive]"))
    expect(page.locator("#v2-items > li", has_text="Newsletter November")).to_have_count(0)
    other.select_folder("Archive")
    assert other.search(["SUBJECT", "Newsletter November"])
    shot(page, "v2-5-moved-to-archive-de")
    page.locator("#v2-toast-undo").click()
    expect(page.locator("#v2-items > li", has_text="Newsletter November")).to_have_count(1)
    other.select_folder("Archive")
    assert not other.search(["SUBJECT", "Newsletter November"])
    other.select_folder("INBOX")
    assert other.search(["SUBJECT", "Newsletter November"])

    # the folder pane made wider by keyboard (the separator), remembered for the user
    page.locator(".v2-splitter[data-pane=folders_width]").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator(".v2-splitter[data-pane=folders_width]")).to_have_attribute("aria-valuenow", "260")
    page.wait_for_timeout(700)  # the layout is saved 0.4 s after the last change

    # English: the same page in the other language, with the shortcuts listed by "?"
    with v2["app"].app_context():
        db.session.execute(update(User).where(User.username == "owner").values(language="en"))
        db.session.commit()
    page.reload()
    expect(page.locator("#v2-client")).to_have_attribute("data-ready", "1")
    expect(page.locator("#v2-client")).to_have_attribute("data-folders-width", "260")
    page.keyboard.press("?")
    expect(page.locator("#v2-help-dialog")).to_contain_text("Show the keyboard shortcuts")
    listed = dict(page.evaluate("""() => Array.from(document.querySelectorAll('#v2-help-dialog tr'),
        row => [row.querySelector('td').textContent, row.querySelector('kbd').textContent])"""))
    assert not [label for label in REQUIRED_SHORTCUTS.values() if label not in listed], listed
    assert listed["Move to a folder…"] == "m" and listed["Next message"] == "j"
    shot(page, "v2-6-shortcuts-en")
    page.keyboard.press("Escape")
    english_screens(page)


def move_by_keyboard(page, other):
    """The folder picker: m opens it (a dialog with a listbox), Escape closes it and nothing
    moves; a letter and the arrow keys choose, Enter moves the mail (as a drop would), z undoes."""
    from playwright.sync_api import expect

    rows = page.locator("#v2-items > li.v2-row")
    urgent = rows.filter(has_text="Eilt: Neue Bestellung")
    page.keyboard.press("j")
    expect(page.locator("#v2-items > li.v2-row.cursor")).to_contain_text("Eilt: Neue Bestellung")
    page.keyboard.press("m")
    picker = page.get_by_role("dialog", name="In welchen Ordner verschieben?")
    expect(picker).to_be_visible()
    choices = picker.get_by_role("listbox")
    expect(choices).to_be_focused()
    expect(choices.get_by_role("option")).to_have_text(["Entwürfe", "Gesendet", "Archiv", "Spam", "Papierkorb",
                                                        "Kunden"])
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(page.locator("#v2-items")).to_be_focused()
    expect(urgent).to_have_count(1)
    page.keyboard.press("m")
    expect(choices.get_by_role("option", selected=True)).to_have_text("Entwürfe")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(choices.get_by_role("option", selected=True)).to_have_text("Archiv")
    page.keyboard.press("k")  # the first letter: the next folder starting with it
    expect(choices.get_by_role("option", selected=True)).to_have_text("Kunden")
    expect(choices).to_have_attribute("aria-activedescendant", "v2-move-option-5")
    shot(page, "v2-7-move-picker-de")
    reader = page.locator("#v2-reader")
    reading = reader.inner_text()
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(urgent).to_have_count(0)
    expect(page.locator("#v2-toast-text")).to_have_text("Nach Kunden verschoben.")
    expect(page.locator("#v2-items")).to_be_focused()  # back where the picker was opened from
    # the picker's Enter moved the mail and did nothing else (the list's Enter would open a mail)
    page.wait_for_timeout(400)
    assert reader.inner_text() == reading
    other.select_folder("Kunden")
    assert other.search(["SUBJECT", "Eilt: Neue Bestellung"])  # moved on the server
    page.keyboard.press("z")
    expect(urgent).to_have_count(1)
    other.select_folder("Kunden")
    assert not other.search(["SUBJECT", "Eilt: Neue Bestellung"])
    other.select_folder("INBOX")
    assert other.search(["SUBJECT", "Eilt: Neue Bestellung"])


def english_screens(page):
    """The screens in English: conversations, the reading pane (with its "Move…"), the folder
    picker, the compose dialog with "Send later"."""
    from playwright.sync_api import expect

    expect(page.locator("nav.sidebar a", has_text="Unified inbox").locator(".badge")).to_be_visible()
    thread = page.locator("#v2-items > li.v2-row.conversation", has_text=THREAD)
    thread.locator(".v2-expand").click()
    expect(page.locator("#v2-items > li.v2-row.member")).to_have_count(5)
    shot(page, "v2-8-conversations-en")
    page.locator("#v2-items > li.v2-row", has_text="Newsletter November").click()
    expect(page.locator("#v2-reader-subject")).to_have_text("Newsletter November")
    expect(page.frame_locator("iframe.v2-body").locator("body")).to_contain_text("Text der Nachricht")
    shot(page, "v2-9-reading-pane-en")
    page.get_by_role("button", name="Move…").click()
    picker = page.get_by_role("dialog", name="Move to which folder?")
    expect(picker.get_by_role("option", selected=True)).to_have_text("Drafts")
    shot(page, "v2-10-move-picker-en")
    picker.get_by_role("button", name="Cancel").click()
    expect(picker).to_be_hidden()
    expect(page.get_by_role("button", name="Move…")).to_be_focused()  # focus back on its opener
    page.locator("#v2-items").focus()
    page.keyboard.press("r")
    dialog = page.locator("#v2-compose-dialog")
    expect(dialog.locator("input[name=subject]")).to_have_value("Re: Newsletter November")
    dialog.locator("#v2-send-later summary").click()
    expect(dialog.get_by_role("button", name="Schedule")).to_be_visible()
    dialog.get_by_role("button", name="Schedule").scroll_into_view_if_needed()
    shot(page, "v2-11-compose-en")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_v2_on_a_phone_stacks_its_panes_and_scrolls_to_the_opened_mail(v2_app, chromium):
    """390 px wide: the folders a row, the list and the reading pane one above the other, no
    page wider than the window; opening a mail brings its reading pane into view."""
    from playwright.sync_api import expect

    page = chromium("de-DE", viewport={"width": 390, "height": 844}, full_page=False)
    page.sign_in(v2_app["url"], "owner", PASSWORD)
    page.goto(f"{v2_app['url']}/mail/v2/m/{v2_app['id']}/")
    expect(page.locator("#v2-client")).to_have_attribute("data-ready", "1")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    folders = page.locator("#v2-folders").bounding_box()
    assert folders["height"] < 60 and folders["width"] <= 390, folders
    page.locator("#v2-items > li.v2-row", has_text="Liefertermin").click()
    expect(page.locator("#v2-reader-subject")).to_have_text("Liefertermin")
    expect(page.frame_locator("iframe.v2-body").locator("body")).to_contain_text("Text der Nachricht vom 6. November.")
    heading = page.locator("#v2-reader-subject").bounding_box()
    assert 0 <= heading["y"] < 150, heading  # scrolled to, not left below the list
    # the focus follows (a screen reader reads the mail, not the list row above it)
    assert page.evaluate("() => document.activeElement.id") == "v2-reader-subject"
    frame = page.locator("iframe.v2-body").bounding_box()
    assert frame["width"] > 300 and frame["y"] < 844, frame
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.shot("v2-phone")
    assert not page.problems, page.problems


def client_with(v2_app, imap_client, chromium, message):
    """The owner's v2 client (German) in Chromium, ready, with ``message`` delivered and synced."""
    from playwright.sync_api import expect

    imap_client(1, v2_app["email"], v2_app["password"]).append("INBOX", message.as_bytes())
    with v2_app["app"].app_context():
        sync_now(v2_app["id"])
    page = chromium("de-DE", viewport={"width": 1400, "height": 850}, full_page=False)
    page.sign_in(v2_app["url"], "owner", PASSWORD)
    page.goto(f"{v2_app['url']}/mail/v2/m/{v2_app['id']}/")
    expect(page.locator("#v2-client")).to_have_attribute("data-ready", "1")
    return page


def test_the_attachments_of_an_opened_mail_are_listed_and_download(v2_app, imap_client, chromium):
    """A received attachment could not be reached in v2 at all (the reading pane showed only
    the text): each is listed below the header, with core's download and, for a PDF, "open".
    The header names the mail's Cc too (it showed From and To only), and no Cc line for a mail
    without one."""
    from email.message import EmailMessage

    from playwright.sync_api import expect

    invoice = EmailMessage()
    invoice["From"], invoice["To"], invoice["Subject"] = "Buchhaltung <bh@example.test>", v2_app["email"], "Rechnung 42"
    invoice["Message-ID"] = "<rechnung42@example.test>"
    invoice["Cc"] = "=?utf-8?q?J=C3=BCrgen_Kr=C3=A4mer?= <jk@example.test>"
    invoice.set_content("Anbei die Rechnung.\n")
    pdf = b"%PDF-1.4\n% Rechnung 42\n"
    invoice.add_attachment(pdf, "application", "pdf", filename="Rechnung März.pdf")
    page = client_with(v2_app, imap_client, chromium, invoice)
    page.locator("#v2-items > li.v2-row", has_text="Rechnung 42").click()
    download = page.locator(".v2-reader-attachments a[download]")
    expect(download).to_have_text("Rechnung März.pdf")
    expect(page.locator(".v2-reader-attachments .v2-open")).to_have_count(1)
    answer = page.request.get(v2_app["url"] + download.get_attribute("href"))
    assert answer.status == 200 and answer.body() == pdf
    facts = page.locator(".v2-reader-head dl")
    expect(facts.locator("dt")).to_have_text(["Von", "An", "Kopie (Cc)", "Datum"])
    expect(facts.locator("dd").nth(2)).to_have_text("Jürgen Krämer <jk@example.test>")
    # core's print view and source of the mail, each in a new tab (v2 had neither)
    pages = page.locator(".v2-reader-actions a.v2-message-page")
    expect(pages).to_have_text(["Drucken", "Quelltext anzeigen"])
    assert pages.nth(0).get_attribute("target") == "_blank"
    source = page.request.get(v2_app["url"] + pages.nth(1).get_attribute("href"))
    assert source.status == 200 and "Message-ID: <rechnung42@example.test>" in source.text()
    printed = page.request.get(v2_app["url"] + pages.nth(0).get_attribute("href"))
    assert printed.status == 200 and "Anbei die Rechnung." in printed.text()
    page.shot("v2-attachments")
    page.locator("#v2-items > li.v2-row", has_text="Liefertermin").click()  # no attachment: no list
    expect(page.locator("#v2-reader-subject")).to_have_text("Liefertermin")
    expect(page.locator(".v2-reader-attachments")).to_have_count(0)
    expect(facts.locator("dt")).to_have_text(["Von", "An", "Datum"])
    assert not page.problems, page.problems


def test_a_mail_closed_before_it_was_saved_is_kept_as_a_draft(v2_app, imap_client, chromium):
    """Escape in the compose dialog threw away what was typed since the last autosave."""
    from playwright.sync_api import expect

    page = chromium("de-DE", viewport={"width": 1400, "height": 850}, full_page=False)
    page.sign_in(v2_app["url"], "owner", PASSWORD)
    page.goto(f"{v2_app['url']}/mail/v2/m/{v2_app['id']}/")
    expect(page.locator("#v2-client")).to_have_attribute("data-ready", "1")
    page.keyboard.press("c")
    dialog = page.locator("#v2-compose-dialog")
    expect(dialog).to_be_visible()
    page.locator("#v2-compose-dialog textarea[name=body]").fill("Nur kurz notiert, noch nicht fertig.")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#v2-toast-text")).to_have_text("Die E-Mail ist als Entwurf gespeichert.")
    drafts = imap_client(1, v2_app["email"], v2_app["password"])
    drafts.select_folder("Drafts", readonly=True)
    found = drafts.fetch(drafts.search(["ALL"]), ["BODY.PEEK[TEXT]"])
    assert [b"Nur kurz notiert" in data[b"BODY[TEXT]"] for data in found.values()] == [True]
    assert not page.problems, page.problems


def test_remote_images_are_offered_once_or_always_for_the_sender(v2_app, imap_client, chromium):
    """v2 showed a mail's remote images never (the body frame leaves them out) and did not say
    so: a notice offers them once, or always for the sender, as the v1 reading page does."""
    from email.message import EmailMessage

    from playwright.sync_api import expect

    newsletter = EmailMessage()
    newsletter["From"], newsletter["To"], newsletter["Subject"] = "Werbung <news@shop.example>", v2_app["email"], "Angebote"
    newsletter.set_content("Angebote")
    newsletter.add_alternative('<p>Angebote</p><img src="http://127.0.0.1:9/pixel.gif" alt="Bild">', subtype="html")
    page = client_with(v2_app, imap_client, chromium, newsletter)
    row = page.locator("#v2-items > li.v2-row", has_text="Angebote")
    row.click()
    notice = page.locator(".v2-remote-notice")
    expect(notice).to_contain_text("Ein externes Bild wurde zum Schutz Ihrer Privatsphäre blockiert.")
    body = page.frame_locator("iframe.v2-body")
    expect(body.locator("p")).to_have_text("Angebote")
    assert body.locator("img").count() == 0 or "127.0.0.1:9" not in (body.locator("img").first.get_attribute("src") or "")
    page.shot("v2-remote-images")
    notice.locator("button", has_text="Externe Bilder anzeigen").click()
    expect(notice).to_have_count(0)
    expect(body.locator("img")).to_have_attribute("src", "http://127.0.0.1:9/pixel.gif")
    page.locator("#v2-items > li.v2-row", has_text="Liefertermin").click()  # a plain mail: no notice
    expect(page.locator("#v2-reader-subject")).to_have_text("Liefertermin")
    expect(notice).to_have_count(0)
    row.click()  # once was once: offered again
    expect(notice).to_have_count(1)
    notice.locator("button", has_text="Bilder dieses Absenders immer anzeigen").click()
    expect(notice).to_have_count(0)
    expect(body.locator("img")).to_have_attribute("src", "http://127.0.0.1:9/pixel.gif")
    page.locator("#v2-items > li.v2-row", has_text="Liefertermin").click()
    row.click()  # the sender is trusted now
    expect(body.locator("img")).to_have_attribute("src", "http://127.0.0.1:9/pixel.gif")
    expect(notice).to_have_count(0)
    assert not [problem for problem in page.problems if "127.0.0.1:9" not in problem], page.problems

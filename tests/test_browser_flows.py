"""The mail client in Debian's Chromium, headless, driven by Playwright (issue 7, point 6): log
in, open a mailbox, read a mail, reply with an attachment, find the reply in Sent, delete it and
find it in Trash, undo a delete, search, open the unified inbox. The real app serves on a random
port of 127.0.0.1 (pytest-flask's live_server) with CSRF on; mail lives on the local Dovecot
stack.

Screenshots of the main screens (German UI) go to ``test-artifacts/screenshots/``."""
from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import update

from app_fixtures import PASSWORD, _fresh_account
from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.mailboxes.server_folders import folder_for_role
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.web import compose_views

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def square_png(size: int = 40, rgb: tuple[int, int, int] = (31, 95, 153)) -> bytes:
    """A plain coloured square, so the inline image is visible on the screenshot."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = square_png()


def mail(subject: str, body: str, sender: str, day: int, html: str | None = None,
         attachment: tuple[str, str, bytes] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Vertrieb <vertrieb@example.test>"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.test")
    message["Date"] = format_datetime(datetime(2026, 6, day, 9, 30, tzinfo=timezone.utc))
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
        message.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@example.test>", filename="logo.png",
                                              disposition="inline")
    if attachment:
        name, content_type, data = attachment
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype, subtype, filename=name)
    return message.as_bytes()


OFFER_HTML = ("<p>Guten Tag,</p><p>anbei unser <b>Angebot 2026-117</b> für die Zahnräder.</p>"
              '<p><img src="cid:logo@example.test" alt="Logo" width="40" height="40"> '
              '<img src="https://tracker.example.com/open.gif" alt=""></p>'
              "<script>document.title='pwned'</script><p>Mit freundlichen Grüßen<br>Firma Beispiel</p>")


@pytest.fixture
def app(make_app, mailstack):
    """The app as a browser meets it: CSRF on, mail leaving at once."""
    return make_app(WTF_CSRF_ENABLED=True, TRICOMA_MAIL_CA_FILE=str(mailstack.cert),
                    TRICOMA_MAIL_UNDO_SEND_SECONDS=0)


@pytest.fixture
def live_app(app, live_server, make_mailbox, mailstack, imap_client, monkeypatch):
    """The app served on a random port (pytest-flask's live server), two mailboxes of the owner
    (German UI) with mail synced; a new message saves itself as a draft after one second."""
    sales_email, sales_password = _fresh_account(mailstack, 1)
    support_email, support_password = _fresh_account(mailstack, 1)
    customer_email, _customer_password = _fresh_account(mailstack, 1)  # replies must be deliverable
    sales = make_mailbox(1, sales_email, sales_password, title="Vertrieb")
    support = make_mailbox(1, support_email, support_password, title="Support")
    imap_client(1, sales_email, sales_password).multiappend("INBOX", [
        mail("Anfrage Zahnräder", "Wir brauchen 200 Zahnräder aus Messing.\n", "Kunde <kunde@example.test>", 3),
        mail("Angebot 2026-117", "Die Textfassung des Angebots.\n", f"Firma Beispiel <{customer_email}>", 4,
             html=OFFER_HTML, attachment=("Angebot-2026-117.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")),
        mail("Liefertermin", "Wann kommt die Lieferung?\n", "Einkauf <einkauf@example.test>", 5),
        mail("Newsletter Juni", "Neuigkeiten im Juni.\n", "News <news@example.test>", 1),
    ])
    imap_client(1, support_email, support_password).multiappend("INBOX", [
        mail("Ticket 4711: Drucker", "Der Drucker druckt nicht.\n", "Anwenderin <anna@example.test>", 6),
        mail("Passwort vergessen", "Bitte neues Passwort.\n", "Bernd <bernd@example.test>", 2),
    ])
    with app.app_context():
        db.session.execute(update(User).where(User.username == "owner").values(language="de"))
        db.session.commit()
        for mailbox_id in (sales, support):
            mailbox = db.session.get(Mailbox, mailbox_id)
            assert service.run_test(mailbox) and mailbox.last_test_ok
            refresh.run_sync(mailbox)
    # The server is a forked process: what it should see must be set before it starts.
    monkeypatch.setattr(compose_views, "AUTOSAVE_SECONDS", 1)
    live_server.start()
    return app, live_server.url(), {"sales": sales, "support": support}


class RemoteHost:
    """The remote host of OFFER_HTML's image on loopback: Chromium resolves tracker.example.com to
    this listener, which records each connection (the TLS handshake fails, nothing is served).
    Counted here because the requests of a ``srcdoc`` frame are invisible to Playwright's and
    CDP's network events."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[bytes] = []  # the first bytes of each (a ClientHello naming the host)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                data = b""
                while b"tracker.example.com" not in data and len(data) < 16_384:
                    try:
                        chunk = connection.recv(4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
                self.connections.append(data)


@pytest.fixture
def remote_host(live_app):
    """Started after ``live_app``'s forked server, so the server holds no copy of the listener."""
    host = RemoteHost()
    yield host
    host.listener.close()


@pytest.fixture
def browser_page(live_app, remote_host):
    """A German Chromium page. Started after ``live_app``'s server: that server is a forked
    process, and one forked later would hold Playwright's pipes open, so Playwright would wait
    for it forever when it closes. tracker.example.com leads to ``remote_host``."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP tracker.example.com 127.0.0.1:{remote_host.port}"])
        context = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 900},
                                      extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.problems = problems
        page.remote_host = remote_host
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str) -> None:
    """The owner signs in through the login form (German navigation)."""
    from playwright.sync_api import expect

    page.goto(base + "/login")
    page.fill("#username", "owner")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("nav.sidebar")).to_contain_text("Alle Posteingänge")


def run_outbox(app) -> None:
    with app.app_context():
        outbox.run_once()
        states = [(item.state, item.sent_copy, item.last_error) for item in outbox.items()]
    assert all(state == "sent" and copy == "done" for state, copy, _error in states), states


def test_read_reply_delete_undo_search_in_chromium(live_app, browser_page, tmp_path):
    try:
        flows(*live_app, browser_page, tmp_path)
    except BaseException:
        shot(browser_page, "mail-failure")  # what the browser showed when it went wrong
        raise


def flows(app, base, ids, page, tmp_path):
    from playwright.sync_api import expect

    sign_in(page, base)

    # the unified inbox: mail of both mailboxes, with the mailbox per row
    page.click("nav.sidebar >> text=Alle Posteingänge")
    expect(page.locator("h1")).to_contain_text("Alle Posteingänge")
    expect(page.locator("table.messages tbody tr")).to_have_count(6)
    expect(page.locator("table.messages td.mailbox", has_text="Support")).to_have_count(2)
    shot(page, "mail-1-mailboxes-and-unified-inbox")

    # open a mailbox from the navigation
    page.click("nav.sidebar a:has-text('Vertrieb')")
    expect(page.locator("h1")).to_contain_text("Posteingang")
    expect(page.locator("table.messages tbody tr")).to_have_count(4)
    shot(page, "mail-2-message-list")

    # read a mail: the sanitized HTML in the sandboxed frame (carried by the page: srcdoc), the
    # attachment, remote images blocked: no connection to the remote host
    page.click("table.messages >> text=Angebot 2026-117")
    expect(page.locator("h1")).to_have_text("Angebot 2026-117")
    assert page.locator("iframe.mail-body").get_attribute("srcdoc") is not None
    assert page.locator("iframe.mail-body").element_handle().content_frame().url == "about:srcdoc"
    frame = page.frame_locator("iframe.mail-body")
    expect(frame.locator("b")).to_have_text("Angebot 2026-117")
    expect(frame.locator("img[alt=Logo]")).to_have_js_property("naturalWidth", 40)  # inline image loaded
    assert page.title() != "pwned"
    expect(page.locator(".remote-notice")).to_contain_text("1 externes Bild wurde")
    expect(page.locator(".attachments")).to_contain_text("Angebot-2026-117.pdf")
    shot(page, "mail-3-reading-view-with-attachment")
    reading_url = page.url
    page.wait_for_timeout(300)
    assert not page.remote_host.connections, page.remote_host.connections
    # allowed once: now the frame asks the remote host (so the check above can see a request)
    page.click(".remote-notice >> text=Externe Bilder anzeigen")
    expect(page.locator(".remote-notice")).to_have_count(0)
    expect(frame.locator("img[alt=Logo]")).to_have_js_property("naturalWidth", 40)
    for _ in range(50):
        if page.remote_host.connections:
            break
        page.wait_for_timeout(100)
    assert any(b"tracker.example.com" in hello for hello in page.remote_host.connections), page.remote_host.connections
    page.goto(reading_url)

    # reply with an attachment, uploaded with progress
    page.click(".message-toolbar >> text=Antworten")
    expect(page.locator("#compose-subject")).to_have_value("Re: Angebot 2026-117")
    page.fill("#compose-body", "Vielen Dank, wir bestellen.\n\n" + page.input_value("#compose-body"))
    attachment = tmp_path / "Bestellung.txt"
    attachment.write_text("Bestellung: 200 Zahnräder\n", encoding="utf-8")
    page.set_input_files("#compose-files", str(attachment))
    expect(page.locator("#upload-list li.upload input[name=attachment]")).to_have_count(1)
    expect(page.locator("#upload-list")).to_contain_text("Bestellung.txt")
    shot(page, "mail-4-compose")
    page.click(".compose-actions >> text=Senden")
    expect(page.locator(".mail-banner")).to_contain_text("Gesendet")
    run_outbox(app)

    # find the reply in Sent
    page.click(".folder-tree >> text=Gesendet")
    page.click("text=Auf neue E-Mails prüfen")
    expect(page.locator("table.messages tbody tr")).to_have_count(1)
    page.click("table.messages >> text=Re: Angebot 2026-117")
    expect(page.locator(".attachments")).to_contain_text("Bestellung.txt")

    # delete it and find it in Trash
    page.click(".message-toolbar button:has-text('Löschen')")
    expect(page.locator(".mail-banner")).to_contain_text("1 Nachricht in den Papierkorb verschoben")
    page.click(".folder-tree >> text=Papierkorb")
    expect(page.locator("table.messages")).to_contain_text("Re: Angebot 2026-117")

    # undo a delete: from the list, with the checkbox
    page.click(".folder-tree >> text=Posteingang")
    page.check("input[aria-label='Auswählen: Newsletter Juni']")
    page.click(".bulk-actions button:has-text('Löschen')")
    expect(page.locator(".mail-banner")).to_contain_text("1 Nachricht in den Papierkorb verschoben")
    expect(page.locator("table.messages")).not_to_contain_text("Newsletter Juni")
    page.click(".mail-banner button:has-text('Rückgängig')")
    expect(page.locator(".flash.success")).to_contain_text("wieder an ihrem Platz")
    expect(page.locator("table.messages")).to_contain_text("Newsletter Juni")

    # search: a word of a body, from the local index
    page.fill("#search-q", "Messing")
    page.press("#search-q", "Enter")
    expect(page.locator("table.messages tbody tr")).to_have_count(1)
    expect(page.locator("table.messages")).to_contain_text("Anfrage Zahnräder")

    # the unified inbox once more, from the navigation
    page.click("nav.sidebar >> text=Alle Posteingänge")
    expect(page.locator("table.messages")).to_contain_text("Ticket 4711: Drucker")
    expect(page.locator("table.messages")).to_contain_text("Newsletter Juni")

    # a new message: addresses completed from earlier correspondents, the draft saved by itself
    page.click("nav.sidebar a:has-text('Vertrieb')")
    page.click(".folder-tree >> text=Schreiben")
    page.wait_for_selector("#compose-form[data-completion=ready]")  # letters typed before are not asked for
    page.type("#compose-to", "Eink")
    expect(page.locator("#suggest-to option")).to_have_count(1)
    assert "einkauf@example.test" in page.locator("#suggest-to option").get_attribute("value")
    page.fill("#compose-to", "Einkauf <einkauf@example.test>")
    page.fill("#compose-subject", "Lieferung am Freitag")
    page.fill("#compose-body", "Die Lieferung kommt am Freitag.")
    expect(page.locator("#draft-status")).to_contain_text("Entwurf gespeichert", timeout=10000)
    # the save that holds all three fields, not one started before the last of them was typed
    page.wait_for_selector("#compose-form[data-draft=saved]", state="attached", timeout=10000)
    page.click("nav.sidebar a:has-text('Vertrieb')")
    page.click(".folder-tree >> text=Entwürfe")
    page.click("text=Auf neue E-Mails prüfen")
    expect(page.locator("table.messages tbody tr")).to_have_count(1)
    expect(page.locator("table.messages")).to_contain_text("Lieferung am Freitag")

    # the mailbox settings in the same look: a Test result and Manage folders
    page.goto(base + f"/mail/settings/mailboxes/{ids['sales']}/")
    page.click("form.test-action button")
    expect(page.locator(".test-result")).to_be_visible()
    shot(page, "mail-5-test-result")
    page.goto(base + f"/mail/settings/mailboxes/{ids['sales']}/folders")
    expect(page.locator("h1")).to_contain_text("Vertrieb")
    shot(page, "mail-6-manage-folders")

    page.goto(reading_url)
    expect(page.locator("h1")).to_have_text("Angebot 2026-117")
    assert not [p for p in page.problems if "Content Security Policy" in p or "Uncaught" in p], page.problems


def compose_with_mail_js_held_back(page, base: str, mailbox_id: int) -> list:
    """The compose page as a slow connection shows it: its form is there, mail.js (deferred) not
    yet. Returns the held requests for :func:`let_mail_js_run`."""
    held: list = []
    page.route("**/mail.js*", lambda route: held.append(route))
    page.goto(base + f"/mail/m/{mailbox_id}/compose", wait_until="commit")
    page.wait_for_selector("#compose-files", state="attached")
    return held


def let_mail_js_run(page, held: list) -> None:
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for mail.js"
    assert page.get_attribute("#compose-form", "data-completion") is None  # the script has not run yet
    for route in held:
        route.continue_()


def test_a_file_chosen_while_the_page_still_loads_its_script_is_uploaded(live_app, browser_page, tmp_path):
    """On a slow connection a user can choose a file before mail.js runs (it is deferred): the
    upload starts when the script does, instead of the choice being ignored by a listener that
    came too late."""
    from playwright.sync_api import expect

    _app, base, ids = live_app
    page = browser_page
    sign_in(page, base)

    held = compose_with_mail_js_held_back(page, base, ids["sales"])
    attachment = tmp_path / "Lieferschein.txt"
    attachment.write_text("Lieferschein 17\n", encoding="utf-8")
    page.set_input_files("#compose-files", str(attachment))
    let_mail_js_run(page, held)
    expect(page.locator("#upload-list li.upload input[name=attachment]")).to_have_count(1)
    expect(page.locator("#upload-list")).to_contain_text("Lieferschein.txt")


def test_a_mail_typed_while_the_page_still_loads_its_script_is_saved_as_a_draft(live_app, browser_page):
    """On a slow connection a user can type before mail.js runs (it is deferred): the autosave
    compares with the form as the server sent it, so what was typed before is saved at the first
    interval instead of counting as saved already."""
    from playwright.sync_api import expect

    _app, base, ids = live_app
    page = browser_page
    sign_in(page, base)

    held = compose_with_mail_js_held_back(page, base, ids["sales"])
    page.fill("#compose-to", "Einkauf <einkauf@example.test>")
    page.fill("#compose-subject", "Lieferung am Montag")
    page.fill("#compose-body", "Die Lieferung kommt am Montag.")
    let_mail_js_run(page, held)
    page.wait_for_selector("#compose-form[data-draft=saved]", state="attached", timeout=10000)
    expect(page.locator("#draft-status")).to_contain_text("Entwurf gespeichert")
    expect(page.locator("#compose-form input[name=draft_uid]")).not_to_have_value("")


def test_leaving_a_mail_with_unsaved_changes_asks_first(live_app, browser_page):
    """A click away from a mail typed since its last save asks before the text is lost; after
    the draft is saved, or when sending, it does not."""
    from playwright.sync_api import expect

    _app, base, ids = live_app
    page = browser_page
    sign_in(page, base)
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    page.goto(f"{base}/mail/m/{ids['sales']}/compose")
    page.click("#compose-body")
    page.keyboard.type("Noch nicht gespeichert.")
    page.click("nav.sidebar a >> nth=0")
    assert asked == ["beforeunload"]
    expect(page.locator("#compose-body")).to_have_value("Noch nicht gespeichert.")  # still here
    page.click("#compose-form button[name=action][value=draft]")
    page.wait_for_load_state()
    page.click("nav.sidebar a >> nth=0")
    page.wait_for_load_state()
    assert asked == ["beforeunload"] and "/compose" not in page.url  # saved: no question


def test_the_cursor_starts_where_the_user_writes_first(live_app, browser_page):
    """A new mail at the recipients, a reply at the top of its text (as Thunderbird does)."""
    _app, base, ids = live_app
    page = browser_page
    sign_in(page, base)
    page.goto(f"{base}/mail/m/{ids['sales']}/compose")
    assert page.evaluate("() => document.activeElement.id") == "compose-to"
    page.goto(f"{base}/mail/m/{ids['sales']}/")
    page.click("td.subject a:has-text('Liefertermin')")
    page.click(".message-toolbar >> text=Antworten")
    page.wait_for_selector("#compose-body")
    assert page.evaluate("() => [document.activeElement.id, document.activeElement.selectionStart]") == ["compose-body", 0]


@pytest.fixture
def slow_draft_saves(monkeypatch):
    """Each autosave answers 2 s after it stored its copy (set before ``live_app`` forks its
    server): a mail can be sent while the save is on its way."""
    save = compose_views._save_draft

    def slow(*args, **kwargs):
        saved = save(*args, **kwargs)
        time.sleep(2.0)
        return saved

    monkeypatch.setattr(compose_views, "_save_draft", slow)


def test_a_mail_sent_while_its_draft_is_being_saved_leaves_no_draft(slow_draft_saves, live_app, browser_page):
    """Send clicked while an autosave is on its way: the send waits for the save's answer and
    goes with the draft it stored, which sending removes; before, that copy stayed in Drafts."""
    from playwright.sync_api import expect

    app, base, ids = live_app
    page = browser_page
    sign_in(page, base)
    page.click("nav.sidebar a:has-text('Vertrieb')")
    page.click(".folder-tree >> text=Schreiben")
    page.wait_for_selector("#compose-form[data-completion=ready]")
    page.fill("#compose-to", "Einkauf <einkauf@example.test>")
    page.fill("#compose-subject", "Gesendet während des Speicherns")
    with page.expect_request(lambda request: "/compose/draft" in request.url, timeout=10_000):
        page.fill("#compose-body", "Die Lieferung kommt am Montag.")
    page.click(".compose-actions >> text=Senden")  # the save's answer is 2 s away
    expect(page.locator(".mail-banner")).to_contain_text("Gesendet", timeout=15_000)  # queued; drafts tidied
    with app.app_context():
        mailbox = db.session.get(Mailbox, ids["sales"])
        with service.backend_for(mailbox) as backend:
            drafts = folder_for_role(mailbox, backend, "drafts", create=False)
            backend.select(drafts)
            left = [summary.subject for summary in backend.fetch_summaries(backend.search_uids(1))]
    assert "Gesendet während des Speicherns" not in left, left


def test_a_phone_sized_window_shows_the_mail_pages_without_sideways_scrolling(live_app, browser_page):
    """390 px wide, as a phone: the navigation is one row above the page, the message list a
    row of two lines per mail with its subject in view, and no page is wider than the window."""
    _app, base, ids = live_app
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, base)
    nav = page.locator("nav.sidebar").bounding_box()
    assert nav["height"] < 80, nav  # one row, not the column of a wide window
    top = page.locator("header.topbar").bounding_box()
    assert top["height"] < 50 and top["width"] <= 390, top  # one row (it took two)
    logout = page.locator("header.topbar button", has_text="Abmelden").bounding_box()
    assert logout["x"] + logout["width"] <= 390, logout
    inbox = f"{base}/mail/m/{ids['sales']}/"
    page.goto(inbox)
    subject = page.locator("table.messages td.subject", has_text="Liefertermin")
    box = subject.bounding_box()
    assert box["width"] > 250 and box["x"] + box["width"] <= 390, box
    assert page.locator("#select-all").is_visible()  # the header row gives way, "select all" stays
    tree = page.locator("nav.folder-tree").bounding_box()
    assert tree["height"] < 160, tree  # the folders a row, not a column above the list
    # The actions for chosen messages wait for a chosen message, then stay at the foot of the
    # screen: the list starts on the first screen.
    actions = page.locator("form.message-list .chosen-actions")
    first = page.locator("table.messages tbody tr").first.bounding_box()
    assert not actions.is_visible() and first["y"] + first["height"] <= 844, first
    page.locator("table.messages tbody input[name=ids]").first.check()
    bar = actions.bounding_box()
    assert actions.is_visible() and abs(bar["y"] + bar["height"] - 844) < 1 and bar["height"] < 300, bar
    shot(page, "mail-phone-list-chosen")
    page.locator("table.messages tbody input[name=ids]").first.uncheck()
    assert not actions.is_visible()
    page.set_viewport_size({"width": 1366, "height": 900})
    assert actions.is_visible()  # a wide window keeps them above the list, chosen or not
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "mail-phone-list")
    for url in (inbox, page.locator("td.subject a", has_text="Liefertermin").get_attribute("href"),
                f"/mail/m/{ids['sales']}/compose", "/mail/settings/mailboxes/", "/mail/unified"):
        page.goto(url if url.startswith("http") else base + url)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
    assert not page.problems, page.problems

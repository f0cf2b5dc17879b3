"""Settings → Move a mailbox in Debian's Chromium (headless, Playwright): an external mailbox
(profile 2 of the local mail stack: "INBOX." namespace, no SPECIAL-USE) moved into a hosted one
(imported from the portal on the real hosting stack) by a user who manages both.

The move runs as a background job of the live server; the progress bar moves without a reload.
2,000 messages in 3 folders (loaded with MULTIAPPEND); the live server is killed half-way (the job
with it) and started again: the page shows the move as interrupted, "Start again" resumes it, and
afterwards every folder of the target holds exactly the source's messages (counts, Message-IDs,
flags, internal dates: none missing, none twice), the folder literally named "Gesendet" (no
SPECIAL-USE) in the hosted Sent; the people allowed on the external mailbox are allowed on the
hosted one; a further run copies nothing. The source is unchanged. Screenshots (German, English)
go to ``<tmp>/screenshots``."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest
from app_fixtures import PASSWORD, _fresh_account
from imapclient import IMAPClient
from sqlalchemy import select, update
from tricoma_mail_v2_hosted import portal_import
from tricoma_mail_v2_hosted.tables import move_runs, portal_mailboxes

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import db_session, grant_mailbox_right
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.rights.access import grants_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SOURCE_FOLDERS = {"INBOX": 700, "INBOX.Gesendet": 700, "INBOX.Projekte": 600}
# the server's own (empty) "INBOX.Sent Mails" goes to Sent too
TARGET_FOLDERS = {"INBOX": "INBOX", "INBOX.Gesendet": "Sent", "INBOX.Projekte": "Projekte"}
FLAG_CYCLE = ((), (b"\\Seen",), (b"\\Seen", b"\\Flagged"), (b"\\Answered", b"\\Seen"), (b"\\Flagged",))


@pytest.fixture
def app(make_app, hostingstack, mailstack, tmp_path):
    bundle = tmp_path / "ca-bundle.pem"  # the two stacks' certificates
    bundle.write_text(open(hostingstack.client.info["cert"]).read() + open(mailstack.cert).read())
    return make_app(WTF_CSRF_ENABLED=True, TRICOMA_MAIL_CA_FILE=str(bundle), TRICOMA_MAIL_V2_PORTAL_HTTP_LOOPBACK=True,
                    TRICOMA_MAIL_V2_PUSH="process", TRICOMA_MAIL_V2_MOVE_STALE_SECONDS=3)


def seed(client: IMAPClient) -> None:
    start = datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    number = 0
    for folder, count in SOURCE_FOLDERS.items():
        if not client.folder_exists(folder):
            client.create_folder(folder)
        batch = []
        for _ in range(count):
            number += 1
            message = EmailMessage()
            message["From"], message["To"] = "kunde@extern.test", "anna@extern.test"
            message["Subject"] = f"Nachricht {number}"
            message["Message-ID"] = f"<umzug-{number}@extern.test>"
            message.set_content(f"Text {number}\n" + "x" * (number % 37))
            batch.append({"msg": message.as_bytes(), "flags": FLAG_CYCLE[number % len(FLAG_CYCLE)],
                          "date": start + timedelta(minutes=7 * number)})
        client.multiappend(folder, batch)


def snapshot(client: IMAPClient, folder: str) -> list[tuple[bytes, frozenset, int]]:
    """(Message-ID, flags, internal date) of every message in ``folder``, sorted."""
    client.select_folder(folder, readonly=True)
    rows = []
    for data in client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "FLAGS",
                                                      "INTERNALDATE"]).values():
        message_id = re.search(rb"<[^>]+>", data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]).group(0)
        flags = frozenset(f for f in data[b"FLAGS"] if f.lower() != b"\\recent")
        rows.append((message_id, flags, int(data[b"INTERNALDATE"].timestamp())))
    return sorted(rows)


def run_row(app):
    with app.app_context():
        return db.session.execute(select(move_runs).order_by(move_runs.c.id.desc())).first()


def test_move_a_mailbox_on_the_page_killed_half_way_and_resumed(app, live_server, make_mailbox, mailstack,
                                                                 imap_client, portal, hostingstack, chromium,
                                                                 tmp_path):
    from playwright.sync_api import expect

    # the external mailbox (the owner manages it) and a hosted one the owner imports (manage too)
    source_email, source_password = _fresh_account(mailstack, 2)
    source_id = make_mailbox(2, source_email, source_password, title="Altes Postfach")
    app.config["TRICOMA_MAIL_CA_FILE"] = str(tmp_path / "ca-bundle.pem")  # make_mailbox set the mail stack's
    target_login, target_password = portal.add_mailboxes(("anna", "Anna"))["anna"][1:]
    _token_id, token = portal.new_token()
    with app.app_context():
        db.session.execute(update(User).where(User.username == "owner").values(language="de"))
        db.session.commit()
        owner = mail_state().directory.load_user(str(db.session.scalar(select(User.id).where(User.username == "owner"))))
        portal_import.save_connection(portal.url, token, actor="test")
        assert len(portal_import.import_mailboxes(owner).created) == 1
        target_id = db.session.scalar(select(portal_mailboxes.c.mailbox_id))
        grant_mailbox_right(source_id, "user", "kollege", "read")  # carried over by the move
        grant_mailbox_right(source_id, "group", "buchhaltung", "write")
        db_session().commit()
        assert ("user", "kollege") not in grants_of(target_id)
    source = imap_client(2, source_email, source_password, security="starttls")
    source.normalise_times = False
    seed(source)
    before = {folder: snapshot(source, folder) for folder in SOURCE_FOLDERS}
    total = sum(SOURCE_FOLDERS.values())
    assert total == 2000 and before["INBOX.Gesendet"]

    live_server.start()
    base = live_server.url()
    page = chromium("de-DE")
    page.sign_in(base, "owner", PASSWORD)
    page.goto(base + "/mail/settings/")
    page.click("a:has-text('Postfach umziehen')")
    page.select_option("#move-source", str(source_id))
    page.select_option("#move-target", str(target_id))
    page.shot("move-1-choose-de")
    page.get_by_role("button", name="Umzug starten").click()
    expect(page).to_have_url(re.compile(r"/mail/v2/move/\d+$"))
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    # the bar moves while the job copies; then the server (and the job with it) is killed
    # the URL changes before the new page is parsed: until its bar is there, keep asking
    page.wait_for_function("() => (document.getElementById('move-bar') || {value: 0}).value > 0", timeout=15000)
    deadline = time.monotonic() + 30
    while (run_row(app).handled or 0) < total // 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    live_server.stop()
    live_server._process.join(10)
    killed = run_row(app)
    assert killed.state == "running" and 0 < killed.handled < total, (killed.state, killed.handled)
    recorded = killed_recorded(killed, app)
    expect(page.locator("#move-state")).to_have_text("Wird kopiert …")
    expect(page.locator("#move-count")).to_contain_text(f"von {total} Nachrichten")
    page.shot("move-2-copying-de")
    assert page.evaluate("window.sameDocument") is True

    # started again: the page (never reloaded) shows the move as interrupted and offers to resume
    live_server.start()  # forked after Playwright started: it must end before Playwright does
    try:
        resume_and_check(app, page, base, source, before, total, killed, recorded, hostingstack,
                         target_login, target_password, target_id)
    finally:
        live_server.stop()
        live_server._process.join(10)


def resume_and_check(app, page, base, source, before, total, killed, recorded, hostingstack,
                     target_login, target_password, target_id):
    from playwright.sync_api import expect

    expect(page.locator("#move-state")).to_have_text(
        "Der Umzug wurde unterbrochen. Starten Sie ihn erneut, um dort fortzufahren, wo er stehen blieb; "
        "nichts wird doppelt kopiert.", timeout=15000)
    assert page.evaluate("window.sameDocument") is True
    again = page.get_by_role("button", name="Erneut starten (fortsetzen)")
    expect(again).to_be_visible()
    page.shot("move-3-interrupted-de")
    again.click()
    expect(page.locator("#move-state")).to_contain_text("Fertig:", timeout=60000)
    expect(page.locator("#move-bar")).to_have_attribute("value", "100")
    expect(page.locator("#move-count")).to_have_text(f"{total} von {total} Nachrichten")  # the whole way
    resumed = run_row(app)
    assert resumed.id != killed.id and resumed.state == "done"
    # the batch cut off by the kill was appended but not recorded: found, not appended again
    assert resumed.copied + resumed.skipped == total - recorded and resumed.skipped <= 50
    page.shot("move-4-done-de")
    with app.app_context():
        granted = grants_of(target_id)
        assert "read" in granted[("user", "kollege")] and "write" in granted[("group", "buchhaltung")]

    target = IMAPClient(hostingstack.host, hostingstack.ports["imap"], ssl=False)
    target.starttls(hostingstack.client.ssl_context())
    target.login(target_login, target_password)
    target.normalise_times = False
    try:
        for source_folder, target_folder in TARGET_FOLDERS.items():
            found = snapshot(target, target_folder)
            assert len(found) == SOURCE_FOLDERS[source_folder], (target_folder, len(found))
            assert found == before[source_folder], f"{target_folder} ≠ {source_folder}"
        assert not target.folder_exists("Gesendet") and not target.folder_exists("Sent Mails")

        # a further run copies nothing
        page.get_by_role("button", name="Erneut starten (fortsetzen)").click()
        expect(page.locator("#move-state")).to_have_text(
            "Fertig: 0 Nachrichten kopiert, 0 waren schon vorhanden.", timeout=30000)
        for source_folder, target_folder in TARGET_FOLDERS.items():
            assert len(snapshot(target, target_folder)) == SOURCE_FOLDERS[source_folder]
    finally:
        target.logout()
    assert {folder: snapshot(source, folder) for folder in SOURCE_FOLDERS} == before  # the source is untouched

    # English
    with app.app_context():
        db.session.execute(update(User).where(User.username == "owner").values(language="en"))
        db.session.commit()
    page.goto(base + "/mail/v2/move/")
    expect(page.locator("h1")).to_have_text("Move a mailbox into tricoma")
    expect(page.locator("table.move-runs tbody tr")).to_have_count(3)
    page.shot("move-5-list-en")
    assert not page.problems, page.problems


def killed_recorded(killed, app) -> int:
    """How many messages the killed run had recorded as done (its batches' progress rows)."""
    from tricoma_mail_v2_hosted.tables import move_progress

    with app.app_context():
        return sum(db.session.scalars(select(move_progress.c.copied).where(
            move_progress.c.source_id == killed.source_id, move_progress.c.target_id == killed.target_id)))

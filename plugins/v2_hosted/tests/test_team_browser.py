"""Team mail in a shared v2 mailbox, in Debian's Chromium (headless, Playwright), two users side by
side on the real stack: Alice assigns a conversation to Bob, who sees it under "mine" without
reloading; Bob sets it to done by keyboard; the state survives a resync from scratch and a move
to another folder; Alice opens a reply and Bob, opening the conversation, sees "Alice is
answering" within 2 s; Bob's "reply anyway" asks first; when Alice sends, Bob's open reply shows
it; a conversation snoozed until tomorrow comes back on top when the job runs with the clock
moved a day on; "remind me in 3 days" with no reply gives a reminder, and a reply cancels the
next one. Screenshots (German for Alice, English for Bob) go to ``<tmp>/screenshots``."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from app_fixtures import PASSWORD, _fresh_account
from sqlalchemy import delete, func, select
from v2_setup import open_v2, sync_now, thread_mail, v2_settings

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin.jobs.tasks import TASKS
from tricoma_mail_plugin.mail.message_actions import move_with_undo
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Notice
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.team import reminders
from tricoma_mail_plugin.team.tables import TeamReminder

pytestmark = [pytest.mark.browser, pytest.mark.slow]

THREAD = "Angebot Lagerregal"
LIVE_MS = 2000  # what the issue asks: seen by the other user within 2 s


def mail(subject: str, sender: str, to: str, day: int, message_id: str, parents: list[str] = ()) -> bytes:
    return thread_mail(subject, sender, to, message_id, parents, day, text=f"Text vom {day}. November.\n")


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack, TRICOMA_MAIL_UNDO_SEND_SECONDS=0))


@pytest.fixture
def shared(app, live_server, make_mailbox, make_user, mailstack, imap_client):
    """info@ shared by Alice (German) and Bob (English): a conversation of three mails across
    INBOX and Sent, two other mails; synced, in v2, served by the live server."""
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Info")
    alice, bob = make_user("alice", language="de"), make_user("bob", language="en")
    with app.app_context():
        for person in (alice, bob):
            for right in ("read", "write", "delete", "send"):
                access.grant(mailbox_id, "user", person.id, right)
    stamp = time.time_ns()
    ids = [f"<r{n}-{stamp}@kunde.test>" for n in range(3)]
    them, us = "Kunde <k@kunde.test>", f"Info <{email}>"
    client = imap_client(1, email, password)
    client.multiappend("INBOX", [
        mail(THREAD, them, us, 1, ids[0]),
        mail(f"AW: {THREAD}", them, us, 3, ids[2], ids[:2]),
        mail("Liefertermin KW 50", "Einkauf <einkauf@lieferant.test>", us, 4, f"<lt-{stamp}@lieferant.test>"),
        mail("Rückfrage Rechnung 4711", them, us, 5, f"<rr-{stamp}@kunde.test>"),
    ])
    client.multiappend("Sent", [mail(f"Re: {THREAD}", us, them, 2, ids[1], ids[:1])])
    with app.app_context():
        sync_now(mailbox_id)
    live_server.start()
    return {"app": app, "url": live_server.url(), "id": mailbox_id, "email": email, "password": password,
            "ids": ids, "stamp": stamp, "imap": client}


@pytest.fixture
def browser(chromium):
    return chromium


def open_as(browser, shared, username: str, locale: str):
    page = browser(locale, viewport={"width": 1500, "height": 900}, full_page=False)
    open_v2(page, shared["url"], shared["id"], username, PASSWORD,
            {"data-ready": "1", "data-live": "on", "data-team": "ready"})
    return page


def shot(browser, page, name: str) -> None:
    page.shot(name)


def row(page, text: str):
    return page.locator("#v2-items > li.v2-row.conversation", has_text=text)


def seen_within(page, locator, what: str) -> float:
    """Seconds until ``locator`` is visible (the test fails after LIVE_MS)."""
    from playwright.sync_api import expect
    started = time.monotonic()
    expect(locator, what).to_be_visible(timeout=LIVE_MS)
    return time.monotonic() - started


def test_team_mail_with_two_users_in_chromium(shared, browser, monkeypatch):
    alice = open_as(browser, shared, "alice", "de-DE")
    bob = open_as(browser, shared, "bob", "en-GB")
    try:
        timings = walk_through(shared, browser, alice, bob, monkeypatch)
    except BaseException:
        shot(browser, alice, "team-failure-alice")
        shot(browser, bob, "team-failure-bob")
        raise
    print("\nteam mail, seconds until the other user saw it:", timings)
    assert not alice.problems and not bob.problems, (alice.problems, bob.problems)
    assert len(list(browser.shots.glob("*.png"))) == 8


def walk_through(shared, browser, alice, bob, monkeypatch) -> dict:
    from playwright.sync_api import expect
    timings = {}
    app = shared["app"]

    # the team keys are in the "?" list
    bob.locator("#v2-items").focus()
    bob.keyboard.press("?")
    help_dialog = bob.locator("#v2-help-dialog")
    for key, label in (("y", "Assign the conversation…"), ("i", "Assign the conversation to me"),
                       ("d", "Set the status to done"), ("s", "Snooze the conversation…"),
                       ("b", "Remind me if nobody answers…")):
        expect(help_dialog.locator("tr", has=bob.locator(f"kbd:text-is('{key}')"))).to_contain_text(label)
    help_dialog.locator("#v2-help-close").click()

    # Bob looks at "Mine": nothing yet
    bob.locator(".v2-team-view[data-view=mine]").click()
    expect(bob.locator("#v2-items > li.v2-row")).to_have_count(0)

    # Alice assigns the conversation to Bob from the list, by keyboard (y, choose, Enter)
    row(alice, THREAD).click()
    alice.locator("#v2-items").focus()
    alice.keyboard.press("y")
    dialog = alice.locator("dialog.v2-team-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Unterhaltung zuweisen")
    dialog.locator("#v2-team-assignee").select_option(label="Bob")
    shot(browser, alice, "team-1-assign-de")
    started = time.monotonic()
    dialog.locator("button[type=submit]").click()
    expect(alice.locator("#v2-toast-text")).to_have_text("Bob zugewiesen.")
    expect(row(bob, THREAD)).to_be_visible(timeout=LIVE_MS)  # under "mine", no reload
    timings["assigned, in Bob's 'mine'"] = round(time.monotonic() - started, 2)
    expect(row(bob, THREAD).locator(".v2-chip.assignee.mine")).to_have_text("→ Bob")
    expect(row(alice, THREAD).locator(".v2-chip.assignee")).to_have_text("→ Bob")
    shot(browser, bob, "team-2-mine-en")

    # Bob sets it to done by keyboard: it leaves "mine"; Alice's row says so, live
    row(bob, THREAD).click()
    bob.locator("#v2-items").focus()
    bob.keyboard.press("d")
    expect(bob.locator("#v2-toast-text")).to_have_text("Status: Done.")
    expect(bob.locator("#v2-items > li.v2-row")).to_have_count(0)
    expect(row(alice, THREAD).locator(".v2-chip.status-done")).to_have_text("Erledigt", timeout=LIVE_MS)

    # the state survives a resync from scratch and a move to another folder
    with app.app_context():
        db.session.execute(delete(CachedFolder).where(CachedFolder.mailbox_id == shared["id"]))
        db.session.commit()
        sync_mailbox_now(live_mailbox(shared["id"]), wait=30)  # the push engine may be syncing it
        owner = db.session.scalar(select(User).where(User.username == "alice"))
        first = db.session.scalar(select(CachedMessage.id).where(func.lower(CachedMessage.message_id) == shared["ids"][0]))
        move_with_undo(owner, shared["id"], [first], "Archive")
        sync_mailbox_now(live_mailbox(shared["id"]), wait=30)  # the push engine may be syncing it
    alice.locator(".v2-team-view[data-view=done]").click()
    expect(row(alice, THREAD)).to_be_visible()
    expect(row(alice, THREAD).locator(".v2-chip.assignee")).to_have_text("→ Bob")
    alice.locator(".v2-folder[data-role=archive]").click()  # the moved first mail alone, same state
    expect(row(alice, THREAD).locator(".v2-chip.status-done")).to_have_text("Erledigt")
    alice.locator(".v2-folder[data-role=inbox]").click()
    alice.locator(".v2-team-view[data-view='']").click()
    bob.locator(".v2-team-view[data-view='']").click()

    # who is answering: Bob has the conversation open when Alice starts a reply
    row(bob, THREAD).click()
    expect(bob.locator("#v2-team-bar")).to_be_visible()
    expect(bob.locator("#v2-answering")).to_be_hidden()
    row(alice, THREAD).click()
    alice.locator("#v2-items").focus()
    alice.keyboard.press("r")
    expect(alice.locator("#v2-compose-dialog")).to_be_visible()
    alice.keyboard.type("Guten Tag, anbei unser Angebot.")
    timings["Alice answering, seen by Bob (open)"] = round(seen_within(bob, bob.locator("#v2-answering"), "live banner"), 2)
    expect(bob.locator("#v2-answering")).to_contain_text("Alice is answering (since ")
    # and opening it afresh shows it too
    row(bob, "Liefertermin").click()
    started = time.monotonic()
    row(bob, THREAD).click()
    expect(bob.locator("#v2-answering")).to_contain_text("Alice is answering", timeout=LIVE_MS)
    timings["Alice answering, Bob opens it"] = round(time.monotonic() - started, 2)
    shot(browser, bob, "team-3-alice-is-answering-en")

    # Bob's "reply anyway" asks first
    bob.locator("#v2-items").focus()
    bob.keyboard.press("r")
    ask = bob.locator("#v2-reply-anyway")
    expect(ask).to_be_visible()
    expect(ask).to_contain_text("Alice has been writing a reply since")
    expect(bob.locator("#v2-compose-dialog")).to_be_hidden()
    shot(browser, bob, "team-4-reply-anyway-en")
    ask.locator("button[type=submit]").click()
    expect(bob.locator("#v2-compose-dialog")).to_be_visible()
    bob.keyboard.type("Hello, ")

    # Alice sends: Bob's open reply shows it before he sends
    started = time.monotonic()
    alice.keyboard.press("Control+Enter")
    expect(alice.locator("#v2-compose-dialog")).to_be_hidden()
    replied = bob.locator("#v2-team-replied")
    expect(replied).to_contain_text("Alice has sent a reply to this conversation", timeout=LIVE_MS)
    timings["Alice sent, shown in Bob's reply"] = round(time.monotonic() - started, 2)
    shot(browser, bob, "team-5-colleague-replied-en")
    bob.locator("#v2-compose-cancel").click()
    expect(bob.locator("#v2-answering")).to_be_hidden(timeout=LIVE_MS)  # Alice's editor is closed

    # snooze until tomorrow (the preset), by keyboard; back on top when the job runs a day later
    row(alice, "Liefertermin").click()
    alice.locator("#v2-items").focus()
    alice.keyboard.press("s")
    dialog = alice.locator("dialog.v2-team-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("button[data-preset=snooze_tomorrow]").click()
    expect(alice.locator("#v2-toast-text")).to_contain_text("Zurückgestellt bis")
    expect(row(alice, "Liefertermin")).to_have_count(0)
    alice.locator(".v2-team-view[data-view=snoozed]").click()
    expect(row(alice, "Liefertermin")).to_be_visible()
    alice.locator(".v2-team-view[data-view='']").click()
    with app.app_context():
        assert TASKS["team"].function(worker="test").startswith("0 snoozes ended")
        moved_on = datetime.now(UTC) + timedelta(days=1, hours=12)
        monkeypatch.setattr(reminders, "utcnow", lambda: moved_on)
        assert TASKS["team"].function(worker="test").startswith("1 snoozes ended")
        monkeypatch.undo()
    first_row = alice.locator("#v2-items > li.v2-row.conversation").first
    expect(first_row).to_contain_text("Liefertermin", timeout=LIVE_MS)  # on top, live
    expect(first_row.locator(".v2-chip.back")).to_have_text("Wieder da")
    shot(browser, alice, "team-6-back-from-snooze-de")
    first_row.hover()  # from the list, with the mouse: done without opening it
    first_row.locator(".v2-row-done").click()
    expect(row(alice, "Liefertermin").locator(".v2-chip.status-done")).to_have_text("Erledigt")

    # remind me in 3 days: nobody answers → a reminder (notice, back on top); a reply cancels the next
    row(alice, "Rückfrage Rechnung").click()
    alice.locator("#v2-items").focus()
    alice.keyboard.press("b")
    dialog = alice.locator("dialog.v2-team-dialog")
    expect(dialog.locator("input[name=days]")).to_have_value("3")
    dialog.locator("button[type=submit]").click()
    expect(alice.locator("#v2-team-bar .v2-chip.reminder")).to_contain_text("Erinnerung am")
    shot(browser, alice, "team-7-follow-up-de")
    with app.app_context():
        alice_id = str(db.session.scalar(select(User.id).where(User.username == "alice")))
        monkeypatch.setattr(reminders, "utcnow", lambda: datetime.now(UTC) + timedelta(days=3, hours=1))
        assert "1 reminders due" in TASKS["team"].function(worker="test")
        monkeypatch.undo()
        assert db.session.scalar(select(Notice.kind).where(Notice.user_id == alice_id)
                                 .order_by(Notice.id.desc())) == "follow_up_due"
    first_row = alice.locator("#v2-items > li.v2-row.conversation").first
    expect(first_row).to_contain_text("Rückfrage Rechnung", timeout=LIVE_MS)
    expect(alice.locator("#v2-team-bar .v2-chip.reminder")).to_have_count(0, timeout=LIVE_MS)
    alice.keyboard.press("b")
    alice.locator("dialog.v2-team-dialog button[type=submit]").click()
    expect(alice.locator("#v2-team-bar .v2-chip.reminder")).to_have_count(1)
    shared["imap"].append("INBOX", mail("AW: Rückfrage Rechnung 4711", "Kunde <k@kunde.test>", shared["email"], 6,
                                        f"<rr2-{time.time_ns()}@kunde.test>", [f"<rr-{shared['stamp']}@kunde.test>"]))
    with app.app_context():
        sync_mailbox_now(live_mailbox(shared["id"]), wait=30)  # the push engine may be syncing it
        states = db.session.scalars(select(TeamReminder.state).order_by(TeamReminder.id)).all()
        assert states == ["due", "cancelled"]  # the reply cancelled the second one
    row(alice, "Liefertermin").click()
    row(alice, "Rückfrage Rechnung").click()
    expect(alice.locator("#v2-team-bar")).to_be_visible()
    expect(alice.locator("#v2-team-bar .v2-chip.reminder")).to_have_count(0)
    shot(browser, alice, "team-8-reply-cancelled-reminder-de")
    return timings

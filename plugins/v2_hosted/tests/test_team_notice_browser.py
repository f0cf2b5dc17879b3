"""Team mail in a shared v2 mailbox, in Debian's Chromium (headless), two users on the real stack:
the assignee's notice shows on Bob's open page without a reload (the navigation's count and the
live line "New notice: Alice assigned a conversation to you: …"); and a reply template chosen in
the v2 compose dialog whose fields this mail has no value for keeps the mail from leaving (the
fields are named, Send and Ctrl+Enter wait) until they are filled in. Screenshots go to
``<tmp>/screenshots``."""
from __future__ import annotations

import time

import pytest
from app_fixtures import PASSWORD, _fresh_account
from sqlalchemy import select
from v2_setup import open_v2, sync_now, thread_mail, v2_settings

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.mail import reply_templates
from tricoma_mail_plugin.models import Notice, OutboxItem
from tricoma_mail_plugin.rights import access

pytestmark = [pytest.mark.browser, pytest.mark.slow]

THREAD = "Angebot Lagerregal"
#: the notices' count is asked for at once when a team change arrives over the event stream, and
#: every 5 s in any case
NOTICE_MS = 12_000


@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack, TRICOMA_MAIL_UNDO_SEND_SECONDS=0))


@pytest.fixture
def shared(app, live_server, make_mailbox, make_user, mailstack, imap_client):
    """info@ shared by Alice (German) and Bob (English), a conversation of two mails in INBOX; Bob
    has a personal reply template with invoice fields."""
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Info")
    alice, bob = make_user("alice", language="de"), make_user("bob", language="en")
    with app.app_context():
        for person in (alice, bob):
            for right in ("read", "write", "send"):
                access.grant(mailbox_id, "user", person.id, right)
        reply_templates.save(db.session.get(User, bob.id), None, scope="personal", kind="template",
                             name="Payment reminder", language="en", subject="Invoice {{ invoice_number }}",
                             body="Dear {{ customer_name }},\n\ninvoice {{ invoice_number }} is due on {{ due_date }}."
                                  "\n\n{{ my_name }}")
    stamp = time.time_ns()
    ids = [f"<n{n}-{stamp}@kunde.test>" for n in range(2)]
    client = imap_client(1, email, password)
    client.multiappend("INBOX", [thread_mail(THREAD, "Kunde <k@kunde.test>", email, ids[0]),
                                 thread_mail(f"AW: {THREAD}", "Kunde <k@kunde.test>", email, ids[1], ids[:1], 2)])
    with app.app_context():
        sync_now(mailbox_id)
    live_server.start()
    return {"app": app, "url": live_server.url(), "id": mailbox_id, "bob": str(bob.id)}


def open_as(browser, shared, username: str, locale: str):
    page = browser(locale, viewport={"width": 1500, "height": 900}, full_page=False)
    open_v2(page, shared["url"], shared["id"], username, PASSWORD,
            {"data-ready": "1", "data-live": "on", "data-team": "ready"})
    return page


def row(page, text: str):
    return page.locator("#v2-items > li.v2-row.conversation", has_text=text)


def test_the_assignee_sees_the_notice_without_reloading_in_chromium(shared, chromium):
    from playwright.sync_api import expect

    alice = open_as(chromium, shared, "alice", "de-DE")
    bob = open_as(chromium, shared, "bob", "en-GB")
    try:
        badge = bob.locator('nav a[href="/mail/notices/"] .badge')
        expect(badge).to_have_count(0)
        bob.evaluate("window.__notReloaded = true")  # gone if the page loaded again

        # Alice assigns the conversation to Bob, by keyboard
        row(alice, THREAD).first.click()
        alice.locator("#v2-items").focus()
        alice.keyboard.press("y")
        dialog = alice.locator("dialog.v2-team-dialog")
        expect(dialog).to_be_visible()
        dialog.locator("#v2-team-assignee").select_option(label="Bob")
        dialog.locator("button[type=submit]").click()
        expect(alice.locator("#v2-toast-text")).to_have_text("Bob zugewiesen.")

        # Bob's open page: the count and the live line, no reload
        expect(badge).to_have_text("1", timeout=NOTICE_MS)
        expect(bob.locator("#v2-live")).to_have_text(
            f"New notice: Alice assigned a conversation to you: AW: {THREAD}", timeout=NOTICE_MS)
        assert bob.evaluate("window.__notReloaded === true")
        bob.shot("assigned-notice-bob-en")
        # Alice, who assigned it, has no notice
        expect(alice.locator('nav a[href="/mail/notices/"] .badge')).to_have_count(0)
        with shared["app"].app_context():
            notices = db.session.scalars(select(Notice)).all()
            assert [(n.user_id, n.kind) for n in notices] == [(shared["bob"], "assigned")]

        # the notices page lists it
        bob.locator('nav a[href="/mail/notices/"]').click()
        expect(bob.locator("#notices-list .notice.unread")).to_contain_text(
            f"Alice assigned a conversation to you: AW: {THREAD}")
        bob.shot("assigned-notices-page-en")
    except BaseException:
        alice.shot("assigned-failure-alice")
        bob.shot("assigned-failure-bob")
        raise
    assert not alice.problems and not bob.problems, (alice.problems, bob.problems)


def test_a_template_field_without_a_value_keeps_a_v2_mail_from_leaving_in_chromium(shared, chromium):
    from playwright.sync_api import expect

    bob = open_as(chromium, shared, "bob", "en-GB")
    app = shared["app"]
    try:
        bob.locator("#v2-items").focus()
        bob.keyboard.press("c")  # a new mail: no record, so no invoice values
        compose = bob.locator("#v2-compose-dialog")
        expect(compose).to_be_visible()
        form = bob.locator("#v2-compose-form")
        form.locator('[name="to"]').fill("k@kunde.test")
        body = form.locator('[name="body"]')
        body.click()
        bob.keyboard.press("Alt+t")
        picker = bob.locator("dialog.reply-templates-picker")
        expect(picker).to_be_visible()
        bob.keyboard.type("Payment")
        bob.keyboard.press("Enter")
        expect(picker).to_be_hidden()
        expect(form.locator('[name="subject"]')).to_have_value("Invoice {{ invoice_number }}")
        expect(body).to_have_value("Dear {{ customer_name }},\n\ninvoice {{ invoice_number }} is due on {{ due_date }}."
                                   "\n\nBob")
        missing = form.locator(".reply-templates-missing")
        expect(missing).to_be_visible()
        for named in ("Invoice number ({{ invoice_number }})", "Due on ({{ due_date }})"):
            expect(missing).to_contain_text(named)
        send = bob.locator("#v2-send")
        expect(send).to_have_attribute("aria-disabled", "true")
        bob.shot("template-missing-v2-compose-en")

        # neither Ctrl+Enter nor the button sends it
        body.press("Control+Enter")
        send.click(force=True)
        expect(missing).to_be_focused()
        expect(compose).to_be_visible()
        with app.app_context():
            assert db.session.scalar(select(db.func.count(OutboxItem.id))) == 0

        # filled in: the note goes, the mail leaves
        form.locator('[name="subject"]').fill("Invoice 2026-0042")
        expect(missing).to_contain_text("Invoice number ({{ invoice_number }})")  # still in the text
        body.fill("Dear Berger Bau GmbH,\n\ninvoice 2026-0042 is due on 19.12.2026.\n\nBob")
        expect(missing).to_be_hidden()
        expect(send).not_to_have_attribute("aria-disabled", "true")
        body.press("Control+Enter")
        expect(compose).to_be_hidden()
        expect(bob.locator("#v2-toast")).to_be_visible()
        with app.app_context():
            [item] = db.session.scalars(select(OutboxItem)).all()
            assert item.subject == "Invoice 2026-0042"
    except BaseException:
        bob.shot("template-missing-failure-bob")
        raise
    assert not bob.problems, bob.problems

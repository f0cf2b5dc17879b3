"""Internal notes and reply templates in Debian's Chromium (headless), two users, real stack.

Alice (English) writes a note with @Bob in the v2 reading pane; Bob (German), whose page is
open, gets a notice without reloading and sees the note in the conversation; the note is on the
linked invoice's history and nowhere on the mail server. Alice opens the invoice's mail dialog,
picks a template by keyboard (Alt+T, filter, Enter): number, amount and due date are filled in; a
quick reply whose field the invoice lacks is named and keeps the mail from being sent. Bob picks
the template in a v2 reply to the customer's answer (linked to the invoice): the same values.
Screenshots go to ``<tmp>/screenshots``."""
from __future__ import annotations

import re
import subprocess
import uuid

import pytest
from app_fixtures import PASSWORD, _fresh_account
from record_fixtures import TEST_LINES
from sqlalchemy import select
from tricoma_mail_invoices import INVOICES
from v2_setup import sync_now, thread_mail, v2_settings

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import Reference
from tricoma_mail_plugin.mail import reply_templates
from tricoma_mail_plugin.models import CachedMessage, OutboxItem
from tricoma_mail_plugin.record_kit import formatting, store
from tricoma_mail_plugin.record_kit.amounts import totals
from tricoma_mail_plugin.records import mail_links
from tricoma_mail_plugin.rights import access

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.live]



@pytest.fixture
def app(make_app, mailstack):
    return make_app(**v2_settings(mailstack, TRICOMA_MAIL_UNDO_SEND_SECONDS=0))


@pytest.fixture
def team(app, live_server, make_mailbox, make_user, mailstack, imap_client):
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Rechnungen")
    alice, bob = make_user("alice", language="en"), make_user("bob", language="de")
    with app.app_context():
        for right in ("read", "write", "send", "send_from_apps", "manage"):
            access.grant(mailbox_id, "user", alice.id, right)
        for right in ("read", "write", "send"):
            access.grant(mailbox_id, "user", bob.id, right)
        customer = store.create_customer(INVOICES, "Berger Bau GmbH", "k@kunde.test", "Hauptstraße 5", "de")
        invoice = store.create_record(INVOICES, customer.id, list(TEST_LINES))
        invoice_id, number = invoice.id, invoice.number
        sums = totals(invoice.lines)
        values = {lang: (formatting.money(sums.gross_cents, lang, "EUR"), formatting.day(invoice.promised_on, lang))
                  for lang in ("en", "de")}
        for name, kind, subject, body in (
                ("Payment reminder", "template", "Invoice {{ invoice_number }}",
                 "Dear {{ customer_name }},\n\ninvoice {{ invoice_number }} over {{ amount }} is due on {{ due_date }}.\n"),
                ("Order ref", "quick_reply", "", "Your order {{ order_number }}")):
            reply_templates.save(db.session.get(User, alice.id), None, scope=str(mailbox_id), kind=kind, name=name, language="en",
                                 subject=subject, body=body)
    stamp = uuid.uuid4().hex[:10]
    ids = [f"<inv-{stamp}@rechnungen.test>", f"<answer-{stamp}@kunde.test>"]
    client = imap_client(1, email, password)
    client.multiappend("Sent", [thread_mail(f"Invoice {number}", f"Rechnungen <{email}>", "k@kunde.test", ids[0])])
    client.multiappend("INBOX", [thread_mail(f"AW: Invoice {number}", "Berger <k@kunde.test>", email, ids[1], ids[:1], 2)])
    with app.test_request_context():
        sync_now(mailbox_id)
        reference = Reference("invoice", str(invoice_id))
        mail_links.link(reference, mailbox_id, ids[0], "sent", f"Invoice {number}", "k@kunde.test")
        mail_links.link(reference, mailbox_id, ids[1], "received", f"AW: Invoice {number}", "k@kunde.test")
    live_server.start()
    return {"url": live_server.url(), "id": mailbox_id, "invoice": invoice_id, "number": number, "values": values,
            "imap": client, "paths": mailstack.paths(mailstack.profile(1))}


@pytest.fixture
def browser(chromium):
    return lambda locale: chromium(locale, viewport={"width": 1400, "height": 900})


def _sign_in(page, base: str, username: str) -> None:
    page.sign_in(base, username, PASSWORD)


def _open_v2(page, team) -> None:
    from playwright.sync_api import expect

    page.goto(f"{team['url']}/mail/v2/m/{team['id']}/")
    client = page.locator("#v2-client")
    expect(client).to_have_attribute("data-ready", "1")
    expect(client).to_have_attribute("data-live", "on")


def test_a_note_with_a_mention_in_chromium(team, browser):
    from playwright.sync_api import expect

    alice, bob = browser("en-GB"), browser("de-DE")
    try:
        _sign_in(alice, team["url"], "alice")
        _sign_in(bob, team["url"], "bob")
        _open_v2(bob, team)
        _open_v2(alice, team)
        expect(bob.locator('nav a[href="/mail/notices/"] .badge')).to_have_count(0)

        alice.locator("#v2-items > li.v2-row", has_text="AW: Invoice").first.click()
        notes = alice.locator("#v2-notes")
        expect(notes).to_be_visible()
        token = f"Rueckruf-{uuid.uuid4().hex[:10]}"
        text = alice.locator("#v2-note-text")
        alice.locator("#v2-items").focus()
        alice.keyboard.press("n")  # the keyboard's way to the note field
        expect(text).to_be_focused()
        text.type(f"Customer calls Friday ({token}), @bo")
        expect(alice.locator("#v2-note-mentions [role=option]")).to_have_text(["Bob (@bob)"])
        text.press("Enter")  # takes the suggestion
        text.type("please answer.")
        expect(text).to_have_value(f"Customer calls Friday ({token}), @bob please answer.")
        text.press("Control+Enter")
        note = alice.locator("#v2-notes-list .v2-note")
        expect(note).to_have_count(1)
        expect(note.locator(".v2-mention")).to_have_text("@bob")
        alice.shot("notes-alice-wrote")

        # Bob's open page: the notice counts without a reload, the note is in the conversation
        badge = bob.locator('nav a[href="/mail/notices/"] .badge')
        expect(badge).to_have_text("1", timeout=12_000)
        bob.locator("#v2-items > li.v2-row", has_text="AW: Invoice").first.click()
        expect(bob.locator("#v2-notes-list .v2-note-text")).to_contain_text(token)
        expect(bob.locator("#v2-notes-title")).to_have_text("Interne Notizen (1)")
        bob.shot("notes-bob-sees-it")
        # a second note while Bob has the conversation open: it shows without a reload
        text.fill("Called back, he pays on Monday.")
        text.press("Control+Enter")
        expect(note).to_have_count(2)
        expect(bob.locator("#v2-notes-list .v2-note")).to_have_count(2, timeout=5_000)
        bob.goto(team["url"] + "/mail/notices/")
        expect(bob.locator("#notices-list .notice.unread")).to_contain_text(
            f"Alice hat Sie in einer Notiz zu „AW: Invoice {team['number']}“ erwähnt")
        bob.shot("notices-bob")

        # on the invoice's mail history
        alice.goto(f"{team['url']}/invoices/{team['invoice']}")
        expect(alice.locator("#history-notes")).to_contain_text(token)
        alice.shot("notes-on-invoice")
    except BaseException:
        alice.shot("notes-failure-alice")
        bob.shot("notes-failure-bob")
        raise
    assert not alice.problems and not bob.problems, alice.problems + bob.problems
    # and on the server: not in any folder, not in the mail store's files, not in the SMTP log
    client = team["imap"]
    for _flags, _delimiter, folder in client.list_folders():
        client.select_folder(folder, readonly=True)
        assert client.search(["TEXT", token]) == [], folder
    paths = team["paths"]
    found = subprocess.run(["grep", "-rla", "--devices=skip", token, str(paths.root.parent)],
                           capture_output=True, text=True)
    assert found.returncode == 1, found.stdout


def test_templates_from_the_invoice_dialog_and_a_v2_reply_in_chromium(app, team, browser):
    from playwright.sync_api import expect

    alice, bob = browser("en-GB"), browser("de-DE")
    number = team["number"]
    amount, due = team["values"]["en"]
    try:
        _sign_in(alice, team["url"], "alice")
        alice.goto(f"{team['url']}/invoices/{team['invoice']}")
        alice.click("#send-by-mail")
        expect(alice.locator(".reply-templates-open")).to_be_visible()
        alice.locator("#field-text").click()
        alice.keyboard.press("Alt+t")
        picker = alice.locator("dialog.reply-templates-picker")
        expect(picker).to_be_visible()
        expect(picker.locator("[role=option]")).to_have_count(2)
        alice.keyboard.type("Payment")
        expect(picker.locator("[role=option]")).to_have_count(1)
        alice.keyboard.press("Enter")
        expect(picker).to_be_hidden()
        expect(alice.locator("#field-subject")).to_have_value(f"Invoice {number}")
        body = alice.locator("#field-text")
        expect(body).to_have_value(f"Dear Berger Bau GmbH,\n\ninvoice {number} over {amount} is due on {due}.\n")
        alice.shot("template-filled")

        # a quick reply whose field an invoice has not: named, and the mail does not leave
        body.press("End")
        alice.click(".reply-templates-open")
        picker.locator("[role=option]", has_text="Order ref").click()
        missing = alice.locator(".reply-templates-missing")
        expect(missing).to_be_visible()
        expect(missing).to_contain_text("Order number ({{ order_number }})")
        expect(alice.locator("button.primary")).to_have_attribute("aria-disabled", "true")
        alice.click("button.primary", force=True)  # pressed anyway: the form does not go
        expect(missing).to_be_focused()
        assert "/mail/compose/app" in alice.url
        alice.shot("template-missing-blocks")
        with app.app_context():
            assert db.session.scalar(select(db.func.count(OutboxItem.id))) == 0
        # removed: it may leave, filled in
        body.fill(body.input_value().replace("Your order {{ order_number }}", ""))
        expect(missing).to_be_hidden()
        alice.fill("#field-to", "k@kunde.test")
        alice.click("button.primary")
        alice.wait_for_url(lambda url: f"/invoices/{team['invoice']}" in url)
        with app.app_context():
            [item] = db.session.scalars(select(OutboxItem)).all()
            assert item.subject == f"Invoice {number}"

        # a v1 reply to the customer's answer (linked to the invoice): the same values, the subject stays
        with app.app_context():
            answer_pk = db.session.scalar(select(CachedMessage.id).where(CachedMessage.subject.like("AW: Invoice%")))
        alice.goto(f"{team['url']}/mail/m/{team['id']}/compose?source={answer_pk}&mode=reply")
        alice.locator("#compose-body").click()
        alice.keyboard.press("Alt+t")
        expect(picker).to_be_visible()
        alice.keyboard.type("Payment")
        alice.keyboard.press("Enter")
        expect(alice.locator("#compose-subject")).to_have_value(f"Re: Invoice {number}")
        expect(alice.locator("#compose-body")).to_have_value(
            re.compile(f"^Dear Berger Bau GmbH,\n\ninvoice {number} over {re.escape(amount)} is due on {due}.\n"))
        expect(alice.locator(".reply-templates-missing")).to_be_hidden()
        alice.shot("template-v1-reply")

        # Bob answers the customer in v2: the template takes the values of the linked invoice
        bob_amount, bob_due = team["values"]["en"]  # the template's language, though Bob reads German
        _sign_in(bob, team["url"], "bob")
        _open_v2(bob, team)
        bob.locator("#v2-items > li.v2-row", has_text="AW: Invoice").first.click()
        bob.keyboard.press("r")
        compose = bob.locator("#v2-compose-dialog")
        expect(compose).to_be_visible()
        bob.keyboard.press("Alt+t")
        bob_picker = bob.locator("dialog.reply-templates-picker")
        expect(bob_picker).to_be_visible()
        bob.keyboard.type("Payment")
        bob.keyboard.press("Enter")
        expect(bob.locator('#v2-compose-form [name="subject"]')).to_have_value(f"Re: Invoice {number}")
        reply = bob.locator('#v2-compose-form [name="body"]')
        expect(reply).to_have_value(
            re.compile(f"^Dear Berger Bau GmbH,\n\ninvoice {number} over {re.escape(bob_amount)} is due on {bob_due}.\n"))
        bob.shot("template-v2-reply")
        alice.goto(team["url"] + "/mail/templates/")
        expect(alice.locator("#reply-templates tbody tr")).to_have_count(2)
        alice.shot("templates-page")
    except BaseException:
        alice.shot("templates-failure-alice")
        bob.shot("templates-failure-bob")
        raise
    assert not alice.problems and not bob.problems, alice.problems + bob.problems

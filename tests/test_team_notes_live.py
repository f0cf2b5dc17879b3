"""Internal notes with @mentions and reply templates with record fields, on the real stack.

A shared mailbox "Rechnungen" that Alice (who manages it) and Bob may read, Carol may not; an
invoice whose mail and the customer's answer are a conversation of the mailbox (linked to the
invoice like the reply-link plugin links a reply). Notes and notices stay in the database: the
mail server's store and its SMTP log are searched for a note's words.
"""
from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import uuid

import pytest
from app_fixtures import _fresh_account, login
from record_fixtures import TEST_LINES
from notes_listener_plugin import calls as note_calls
from sqlalchemy import select
from tricoma_mail_invoices import INVOICES
from v2_setup import sync_now, thread_mail

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import Reference, TemplateField
from tricoma_mail_plugin.models import AuditEntry, Notice, OutboxItem, ReplyTemplate, TeamNote
from tricoma_mail_plugin.record_kit import formatting, store
from tricoma_mail_plugin.record_kit.amounts import totals
from tricoma_mail_plugin.records import mail_links
from tricoma_mail_plugin.rights import access

pytestmark = pytest.mark.live

EXTRA_PLUGINS = ("sample_plugin", "tricoma_mail_v1_imap", "tricoma_mail_invoices", "tricoma_mail_orders",
                 "tricoma_mail_v2_hosted", "notes_listener_plugin")


@pytest.fixture
def app(make_app, mailstack):
    note_calls.clear()
    return make_app(TRICOMA_MAIL_CA_FILE=str(mailstack.cert), TRICOMA_MAIL_EXTRA_PLUGINS=EXTRA_PLUGINS,
                    TRICOMA_MAIL_UNDO_SEND_SECONDS=0)


@pytest.fixture
def team(app, make_mailbox, make_user, imap_client, mailstack):
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password, title="Rechnungen")
    users = {name: make_user(name, language="en") for name in ("alice", "bob", "carol")}
    with app.app_context():
        for right in ("read", "write", "send", "send_from_apps", "manage"):
            access.grant(mailbox_id, "user", users["alice"].id, right)
        for right in ("read", "write", "send"):
            access.grant(mailbox_id, "user", users["bob"].id, right)
        customer = store.create_customer(INVOICES, "Berger Bau GmbH", "k@kunde.test", "Hauptstraße 5", "de")
        invoice = store.create_record(INVOICES, customer.id, list(TEST_LINES))
        invoice_id, number = invoice.id, invoice.number
    stamp = uuid.uuid4().hex[:10]
    ids = [f"<inv-{stamp}@rechnungen.test>", f"<answer-{stamp}@kunde.test>"]
    client = imap_client(1, email, password)
    client.multiappend("Sent", [thread_mail(f"Invoice {number}", f"Rechnungen <{email}>", "k@kunde.test", ids[0])])
    client.multiappend("INBOX", [thread_mail(f"AW: Invoice {number}", "Berger <k@kunde.test>", email, ids[1], ids[:1], 2)])
    with app.test_request_context():
        sync_now(mailbox_id, v2=False)
        reference = Reference("invoice", str(invoice_id))
        mail_links.link(reference, mailbox_id, ids[0], "sent", f"Invoice {number}", "k@kunde.test")
        mail_links.link(reference, mailbox_id, ids[1], "received", f"AW: Invoice {number}", "k@kunde.test")
    return {"id": mailbox_id, "email": email, "ids": ids, "users": users, "imap": client, "invoice": invoice_id,
            "number": number, "paths": mailstack.paths(mailstack.profile(1)), "stack": mailstack}


def _client(app, name):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def _nowhere_on_the_servers(team, token: str) -> None:
    """``token`` is in no message of any folder (IMAP SEARCH) and in no file of the mail stack:
    the mail stores and SMTP sinks (``sendmail/``) of both its servers, and every server log."""
    client = team["imap"]
    for _flags, _delimiter, folder in client.list_folders():
        client.select_folder(folder, readonly=True)
        assert client.search(["TEXT", token]) == [], folder
    paths = team["paths"]
    found = subprocess.run(["grep", "-rla", "--devices=skip", token, str(paths.root.parent)],
                           capture_output=True, text=True)
    assert found.returncode == 1 and found.stdout == "", found.stdout


def test_a_note_mentions_bob_who_gets_a_notice_and_it_never_reaches_the_servers(app, team):
    mailbox_id, ids = team["id"], team["ids"]
    alice, bob, carol = (_client(app, name) for name in ("alice", "bob", "carol"))
    token = f"Rueckruf-{uuid.uuid4().hex[:12]}"
    added = alice.post(f"/mail/team/notes/{mailbox_id}", json={
        "message_ids": [ids[1], ids[0]], "text": f"Customer calls Friday ({token}); @bob please take it.",
        "subject": f"AW: Invoice {team['number']}"})
    assert added.status_code == 201, added.get_data(as_text=True)
    note = added.get_json()["note"]
    assert note["author"]["label"] == "Alice" and [p["login"] for p in note["mentions"]] == ["bob"]

    # Bob has a notice (in his language), the navigation counts it; Alice and Carol have none
    unread = bob.get("/mail/notices/unread").get_json()
    assert unread["count"] == 1
    assert unread["items"][0]["text"] == f"Alice mentioned you in a note on “AW: Invoice {team['number']}”"
    assert re.search(r'href="/mail/notices/"[^>]*>Notices <span class="badge">1</span>',
                     bob.get("/mail/notices/").get_data(as_text=True))
    assert alice.get("/mail/notices/unread").get_json()["count"] == 0
    assert carol.get("/mail/notices/unread").get_json()["count"] == 0

    # the note is the conversation's, found by any of its Message-IDs (Bob opens the answer only)
    listed = bob.post(f"/mail/team/notes/{mailbox_id}/list", json={"message_ids": [ids[1]]}).get_json()["notes"]
    assert [n["text"] for n in listed] == [note["text"]]
    # Carol may not read the mailbox: she sees nothing of it, and cannot write one
    assert carol.post(f"/mail/team/notes/{mailbox_id}/list", json={"message_ids": ids}).status_code == 404
    assert carol.post(f"/mail/team/notes/{mailbox_id}", json={"message_ids": ids, "text": "x"}).status_code == 404

    # mentioning Carol is refused with a clear message, and nothing is stored or noticed
    refused = alice.post(f"/mail/team/notes/{mailbox_id}", json={"message_ids": ids, "text": "@carol look"})
    assert refused.status_code == 400
    assert refused.get_json()["error"].startswith("Carol (@carol) may not read this mailbox")
    # an @ that names nobody, and an address, are plain text
    plain = alice.post(f"/mail/team/notes/{mailbox_id}", json={"message_ids": ids, "text": "@home; write to k@kunde.test"})
    assert plain.status_code == 201 and plain.get_json()["note"]["mentions"] == []
    with app.app_context():
        assert db.session.scalar(select(db.func.count(TeamNote.id))) == 2
        assert [n.kind for n in db.session.scalars(select(Notice))] == ["mention"]
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "team_note_added")).all()
        assert len(audit) == 2 and audit[0].mailbox_id == mailbox_id

    # in the mailbox's audit log (Alice manages it), without the note's words
    log = alice.get(f"/mail/settings/mailboxes/{mailbox_id}/rights").get_data(as_text=True)
    assert "Internal note added" in log and token not in log
    assert "Internal note added" in alice.get(f"/api/mail/team/m/{mailbox_id}/audit.csv").get_data(as_text=True)

    # on the invoice's mail history, for those who may read the mailbox
    page = alice.get(f"/invoices/{team['invoice']}").get_data(as_text=True)
    assert token in page and "Internal notes on this record" in page
    assert token not in carol.get(f"/invoices/{team['invoice']}").get_data(as_text=True)

    # not a byte of it on the mail server: no message, no file of the store, no SMTP log line
    _nowhere_on_the_servers(team, token)
    # (the search does find what the server holds: the customer's answer, by its Message-ID)
    stamp = team["ids"][1].strip("<>").split("@")[0]
    assert subprocess.run(["grep", "-rlaq", "--devices=skip", stamp, str(team["paths"].root.parent)]).returncode == 0
    with app.app_context():
        assert db.session.scalar(select(db.func.count(OutboxItem.id))) == 0


def test_hook_note_added(app, team):
    mailbox_id, ids = team["id"], team["ids"]
    alice = _client(app, "alice")
    answer = alice.post(f"/mail/team/notes/{mailbox_id}", json={"message_ids": [ids[1], ids[0]], "text": "@Bob, see this."})
    assert answer.status_code == 201
    with app.app_context():
        bob_id = str(db.session.scalar(select(User.id).where(User.username == "bob")))
        alice_id = str(db.session.scalar(select(User.id).where(User.username == "alice")))
    [call] = note_calls
    assert call["mailbox"].id == mailbox_id and call["note_id"] == answer.get_json()["note"]["id"]
    assert (call["author_id"], tuple(call["mentioned_ids"]), call["text"]) == (alice_id, (bob_id,), "@Bob, see this.")
    assert set(call["conversation"].message_ids) >= {ids[1].lower(), ids[0].lower()}


# -- reply templates ------------------------------------------------------------------------------


def _invoice_values(app, invoice_id, language="en"):
    with app.app_context():
        record = store.get_record(INVOICES, invoice_id)
        return (record.number, formatting.money(totals(record.lines).gross_cents, language, "EUR"),
                formatting.day(record.promised_on, language))


def test_hook_template_fields(app, team):
    """The invoices app offers its fields: declared without a record, filled in for one."""
    number, amount, due = _invoice_values(app, team["invoice"])
    with app.test_request_context():
        hooks = app.extensions["tricoma_mail"].hooks
        declared = {f.name: f for f in hooks.collect("template_fields", reference=None, user=None, language=None)}
        assert {"invoice_number", "invoice_date", "due_date", "amount", "customer_name", "order_number"} <= set(declared)
        assert declared["due_date"].value is None and declared["due_date"].kind == "invoice"
        alice = db.session.scalar(select(User).where(User.username == "alice"))
        reference = Reference("invoice", str(team["invoice"]))
        fields = hooks.collect("template_fields", reference=reference, user=alice, language="en")
        assert all(isinstance(f, TemplateField) for f in fields)
        values = {f.name: f.value for f in fields}
        assert values == {"invoice_number": number, "invoice_date": values["invoice_date"], "due_date": due,
                          "amount": amount, "customer_name": "Berger Bau GmbH"}
        labels = {f.name: f.label for f in fields}
        assert labels["invoice_number"] == "Invoice number" and labels["amount"] == "Invoice amount"
        # the values are written in the language asked for (the template's), whoever writes
        german = {f.name: f.value for f in hooks.collect("template_fields", reference=reference, user=alice,
                                                          language="de")}
        assert (german["amount"], german["due_date"]) == _invoice_values(app, team["invoice"], "de")[1:]
        # a record that does not exist offers its fields without values (named as missing)
        missing = hooks.collect("template_fields", reference=Reference("order", "999"), user=alice, language="en")
        assert [(f.kind, f.value) for f in missing] == [("order", None)] * 5


def _save(client, **form):
    values = {"scope": "personal", "kind": "template", "language": "en", "subject": "", **form}
    return client.post("/mail/templates/new", data=values)


def test_templates_fill_invoice_fields_and_a_missing_one_blocks_sending(app, team):
    mailbox_id = team["id"]
    alice, bob, carol = (_client(app, name) for name in ("alice", "bob", "carol"))
    number, amount, due = _invoice_values(app, team["invoice"])
    saved = _save(alice, scope=str(mailbox_id), name="Payment reminder", subject="Invoice {{ invoice_number }}",
                  body="Dear {{ customer_name }},\n\ninvoice {{ invoice_number }} over {{ amount }} is due on "
                       "{{ due_date }}.\n\n{{ my_name }}")
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert _save(alice, scope=str(mailbox_id), kind="quick_reply", name="Order ref",
                 body="Your order {{ order_number }}").status_code == 302
    # a variable no app offers is refused when saving; so is a mailbox Bob does not manage
    unknown = _save(alice, name="Broken", body="Hello {{ invoice_numbr }}")
    assert unknown.status_code == 400 and "{{ invoice_numbr }}" in unknown.get_data(as_text=True)
    assert _save(bob, scope=str(mailbox_id), name="Mine", body="x").status_code == 400
    assert _save(bob, name="Bob's own", body="Thanks, {{ my_name }}").status_code == 302

    # the settings page: Alice manages the mailbox's templates; Bob sees only his own there
    page = alice.get("/mail/templates/").get_data(as_text=True)
    assert "Payment reminder" in page and "Order ref" in page and "{{ due_date }}" in page and "Invoice amount" in page
    assert "Payment reminder" not in bob.get("/mail/templates/").get_data(as_text=True)
    assert "Reply templates" in alice.get("/mail/settings/").get_data(as_text=True)

    # the picker's list: the mailbox's templates for everyone who may read it, personal ones for their owner
    def names(client):
        answer = client.get(f"/mail/templates/api/available?mailbox={mailbox_id}").get_json()
        return sorted(t["name"] for t in answer["templates"])
    assert names(alice) == ["Order ref", "Payment reminder"]
    assert names(bob) == ["Bob's own", "Order ref", "Payment reminder"]
    assert [t["name"] for t in alice.get(f"/mail/templates/api/available?mailbox={mailbox_id}").get_json()["templates"]] \
        == ["Payment reminder", "Order ref"]  # templates first, then quick replies
    assert names(carol) == []
    with app.app_context():
        reminder_id = db.session.scalar(select(ReplyTemplate.id).where(ReplyTemplate.name == "Payment reminder"))
        order_ref_id = db.session.scalar(select(ReplyTemplate.id).where(ReplyTemplate.name == "Order ref"))
    assert carol.post(f"/mail/templates/api/{reminder_id}/render", json={}).status_code == 404  # tells nothing
    assert bob.get(f"/mail/templates/{reminder_id}").status_code == 403  # reads the mailbox, does not manage it
    assert carol.get(f"/mail/templates/{reminder_id}").status_code == 404

    # from the invoice's mail dialog: number, amount and due date filled in
    reference = f"invoice:{team['invoice']}"
    filled = alice.post(f"/mail/templates/api/{reminder_id}/render",
                        json={"reference": reference, "mailbox_id": mailbox_id}).get_json()
    assert filled["subject"] == f"Invoice {number}" and filled["missing"] == []
    assert filled["body"] == (f"Dear Berger Bau GmbH,\n\ninvoice {number} over {amount} is due on {due}.\n\nAlice")
    # answering the customer's mail, linked to the invoice: the same values
    linked = bob.post(f"/mail/templates/api/{reminder_id}/render",
                      json={"mailbox_id": mailbox_id, "message_ids": [team["ids"][1]]}).get_json()
    assert linked["body"].startswith("Dear Berger Bau GmbH,") and linked["reference"] == reference
    # a German template writes the invoice's values in German, for the German reader
    assert _save(alice, scope=str(mailbox_id), name="Zahlungserinnerung", language="de",
                 body="Rechnung {{ invoice_number }} über {{ amount }}, fällig am {{ due_date }}.").status_code == 302
    with app.app_context():
        german_id = db.session.scalar(select(ReplyTemplate.id).where(ReplyTemplate.name == "Zahlungserinnerung"))
    _n, german_amount, german_due = _invoice_values(app, team["invoice"], "de")
    german = alice.post(f"/mail/templates/api/{german_id}/render", json={"reference": reference}).get_json()
    assert german["body"] == f"Rechnung {number} über {german_amount}, fällig am {german_due}."
    # an invoice has no order number: it stays a visible field, named
    missing = alice.post(f"/mail/templates/api/{order_ref_id}/render", json={"reference": reference}).get_json()
    assert missing["body"] == "Your order {{ order_number }}"
    assert missing["missing"] == [{"name": "order_number", "label": "Order number"}]

    # sending it from the invoice's dialog is refused, naming the field; nothing is queued
    dialog = alice.get(f"/mail/compose/app/?reference={reference}").get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', dialog).group(1)
    refused = alice.post("/mail/compose/app/", data={
        "reference": reference, "key": key, "mailbox": str(mailbox_id), "to": "k@kunde.test", "subject": "x",
        "text": "Your order {{ order_number }}"})
    assert refused.status_code == 400
    assert "Order number ({{ order_number }})" in refused.get_data(as_text=True).replace("&#34;", '"')
    with app.app_context():
        assert db.session.scalar(select(db.func.count(OutboxItem.id))) == 0


def _dialog_key(client, reference: str) -> str:
    dialog = client.get(f"/mail/compose/app/?reference={reference}").get_data(as_text=True)
    return re.search(r'name="key" value="([^"]+)"', dialog).group(1)


def _unescaped(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_mail_sent_on_behalf_of_the_mailbox_is_in_its_audit_csv(app, team):
    """Build point 7: "sent on behalf of the mailbox" is a team action of the mailbox's audit log
    and of its CSV export, with who sent what to whom from which record."""
    mailbox_id, number = team["id"], team["number"]
    alice, bob = _client(app, "alice"), _client(app, "bob")
    reference = f"invoice:{team['invoice']}"
    subject = f"Invoice {number} (copy)"
    sent = alice.post("/mail/compose/app/", data={
        "reference": reference, "key": _dialog_key(alice, reference), "mailbox": str(mailbox_id),
        "to": "k@kunde.test", "subject": subject, "text": "Dear Berger Bau GmbH,\n\nplease find the invoice."})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    with app.app_context():
        [item] = db.session.scalars(select(OutboxItem)).all()
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "send_on_behalf")).all()
        assert entry.mailbox_id == mailbox_id and entry.details["outbox_item"] == item.id
    answer = alice.get(f"/api/mail/team/m/{mailbox_id}/audit.csv")  # Alice manages the mailbox
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["When (UTC)", "Who", "Action", "Details"]
    [row] = [row for row in rows[1:] if row[2] == "Sent on behalf"]
    assert row[1] == "Alice"
    assert row[3].startswith(f"“{subject}” to k@kunde.test · from ") and number in row[3]
    assert rows[1] == row  # the newest entry first
    # the same line on the rights page's log; Bob (reads, does not manage) gets no export
    assert f"“{subject}” to k@kunde.test" in _unescaped(alice.get(f"/mail/settings/mailboxes/{mailbox_id}/rights"))
    assert bob.get(f"/api/mail/team/m/{mailbox_id}/audit.csv").status_code == 403


def test_mail_a_person_sends_from_a_shared_mailbox_is_in_its_audit_csv(app, team, make_mailbox, mailstack):
    """Build point 7: sending as the shared mailbox from the client (v1 form, v2 dialog) is in the
    mailbox's audit log and CSV with who sent what to whom; a send repeated under the same key is
    one entry; a personal mailbox's mail is not audited."""
    mailbox_id = team["id"]
    bob = _client(app, "bob")
    form = {"from": str(mailbox_id), "to": "k@kunde.test", "subject": "Ihr Angebot", "body": "Guten Tag",
            "compose_id": uuid.uuid4().hex, "action": "send"}
    assert bob.post(f"/mail/m/{mailbox_id}/compose", data=form).status_code == 302
    assert bob.post(f"/mail/m/{mailbox_id}/compose", data=form).status_code == 302  # the same key again
    message = {"to": "x@kunde.test, y@kunde.test", "subject": "Lieferung", "body": "Hallo", "compose_id": uuid.uuid4().hex}
    assert bob.post(f"/mail/v2/api/m/{mailbox_id}/send", json=message).status_code == 200
    # sent later, and one taken back with undo: the log says so
    later = bob.post(f"/mail/v2/api/m/{mailbox_id}/send", json={
        **message, "subject": "Erinnerung", "compose_id": uuid.uuid4().hex, "schedule": True,
        "send_at": "2099-01-02T09:30", "tz_offset": "0"})
    assert later.status_code == 200 and later.get_json()["scheduled"] is True
    undone = bob.post(f"/mail/v2/api/m/{mailbox_id}/send", json={**message, "subject": "Vertippt",
                                                                   "compose_id": uuid.uuid4().hex})
    item_id = undone.get_json()["item_id"]
    assert bob.post(f"/mail/v2/api/m/{mailbox_id}/sent/{item_id}/undo").status_code == 200
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "sent_from_shared")
                                     .order_by(AuditEntry.id)).all()
        items = db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        assert [entry.details["outbox_item"] for entry in entries] == [item.id for item in items]
        assert [entry.details["subject"] for entry in entries] == ["Ihr Angebot", "Lieferung", "Erinnerung", "Vertippt"]
        assert [entry.details.get("scheduled_for", "")[:16] for entry in entries] == ["", "", "2099-01-02T09:30", ""]
        [cancelled] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "send_cancelled")).all()
        assert cancelled.details["outbox_item"] == item_id and cancelled.details["subject"] == "Vertippt"
        bob_id = str(team["users"]["bob"].id)
        assert {entry.actor for entry in [*entries, cancelled]} == {bob_id}
    rows = list(csv.reader(io.StringIO(_client(app, "alice").get(f"/api/mail/team/m/{mailbox_id}/audit.csv")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    sent = [(row[1], row[2], row[3]) for row in rows[1:] if row[2] in ("Sent from the shared mailbox", "Sending cancelled")]
    assert sent[0] == ("Bob", "Sending cancelled", "“Vertippt” to x@kunde.test, y@kunde.test")
    assert sent[2][2].startswith("“Erinnerung” to x@kunde.test, y@kunde.test · scheduled for ") and "2099" in sent[2][2]
    assert sent[3:] == [("Bob", "Sent from the shared mailbox", "“Lieferung” to x@kunde.test, y@kunde.test"),
                        ("Bob", "Sent from the shared mailbox", "“Ihr Angebot” to k@kunde.test")]

    # Carol's own mailbox (only she holds rights on it): her mail is hers, not audited
    email, password = _fresh_account(mailstack, 1)
    own = make_mailbox(1, email, password, title="Carol")
    with app.app_context():
        owner_id = db.session.scalar(select(User.id).where(User.username == "owner"))
        for right in ("read", "write", "delete", "send", "send_from_apps", "manage"):
            access.grant(own, "user", team["users"]["carol"].id, right)
            access.revoke(own, "user", owner_id, right, actor="test")
        assert not access.is_shared(own)
    with app.test_request_context():
        sync_now(own, v2=False)
    carol = _client(app, "carol")
    answer = carol.post(f"/mail/m/{own}/compose", data={**form, "from": str(own), "compose_id": uuid.uuid4().hex})
    assert answer.status_code == 302, [line for line in _unescaped(answer).splitlines() if 'error' in line][:5]
    with app.app_context():
        assert db.session.scalar(select(OutboxItem.id).where(OutboxItem.mailbox_id == own)) is not None
        assert db.session.scalars(select(AuditEntry).where(AuditEntry.mailbox_id == own,
                                                           AuditEntry.action == "sent_from_shared")).all() == []


# what a reply template tries beyond its values: Python's insides through a string, a global of
# the template engine, an item, the attr filter
ESCAPES = ("{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}",
           "{{ customer_name['__class__'] }}", "{{ customer_name|attr('__class__') }}",
           "{{ lipsum(1) }}", "{% for c in range(3) %}{{ c }}{% endfor %}")


def test_reply_templates_are_refused_what_the_sandbox_would_not_give_them(app, team):
    """Rendered in the sandbox of the mail templates: a template that reaches for more than its
    values is refused with a clear message when saved, and a row that holds one anyway (saved
    before the check) is refused when chosen, without being rendered."""
    mailbox_id = team["id"]
    alice = _client(app, "alice")
    for source in ESCAPES:
        for field in ("body", "subject"):
            refused = _save(alice, scope=str(mailbox_id), name="Escape", subject=source if field == "subject" else "",
                            body=source if field == "body" else "Hello")
            assert refused.status_code == 400, (source, field)
            text = _unescaped(refused)
            assert "which belongs to the program, not to the mail. Use only the variables listed below." in text, \
                (source, text)
    assert "__mro__, __class__" in _unescaped(_save(alice, name="Escape", body=ESCAPES[0]))
    assert "__globals__, __init__, cycler" in _unescaped(_save(alice, name="Escape", body=ESCAPES[1]))
    # a variable named like an engine global, set by the template itself, is its own
    assert _save(alice, name="Own", body="{% set items = 'a' %}{{ items }} {{ my_name }}").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(ReplyTemplate.name)).all() == ["Own"]
        owner_id = str(db.session.scalar(select(User.id).where(User.username == "alice")))
        # rows as an older version (or a direct write) may have stored them
        for index, source in enumerate(ESCAPES):
            db.session.add(ReplyTemplate(mailbox_id=mailbox_id, owner_id=None, kind="template", name=f"Old {index}",
                                         language="en", subject="", body=source, updated_by=owner_id))
        db.session.commit()
        old = dict(db.session.execute(select(ReplyTemplate.name, ReplyTemplate.id)).all())
    for index, source in enumerate(ESCAPES):
        answer = alice.post(f"/mail/templates/api/{old[f'Old {index}']}/render",
                            json={"reference": f"invoice:{team['invoice']}", "mailbox_id": mailbox_id})
        assert answer.status_code == 400, source
        data = answer.get_json()
        assert set(data) == {"error"}  # no text at all: "[0, 1, 2]", lorem ipsum or a class list never made
        assert data["error"].startswith("The template reads ") and "belongs to the program" in data["error"]
    german = _client(app, "bob")
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "bob")).language = "de"
        db.session.commit()
    answer = german.post(f"/mail/templates/api/{old['Old 1']}/render", json={"mailbox_id": mailbox_id})
    assert answer.get_json()["error"] == ("Die Vorlage liest __globals__, __init__, cycler; das gehört zum Programm, "
                                          "nicht zur Mail. Verwenden Sie nur die unten aufgeführten Variablen.")


PAYMENT_REMINDER = ("Dear {{ customer_name }},\n\ninvoice {{ invoice_number }} over {{ amount }} is due on "
                    "{{ due_date }}.\n\n{{ my_name }}")


def _payment_reminder(app, team) -> int:
    alice = _client(app, "alice")
    assert _save(alice, scope=str(team["id"]), name="Payment reminder", subject="Invoice {{ invoice_number }}",
                 body=PAYMENT_REMINDER).status_code == 302
    with app.app_context():
        return db.session.scalar(select(ReplyTemplate.id).where(ReplyTemplate.name == "Payment reminder"))


def _chosen(client, mailbox_id: int, template_id: int, **about) -> dict:
    """What the compose page's picker does when the template is chosen: list, then fill in."""
    listed = client.get(f"/mail/templates/api/available?mailbox={mailbox_id}").get_json()["templates"]
    assert template_id in [t["id"] for t in listed]
    answer = client.post(f"/mail/templates/api/{template_id}/render", json={"mailbox_id": mailbox_id, **about})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def _queued(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count(OutboxItem.id)))


def test_a_template_field_left_missing_stops_a_v1_and_a_v2_compose_send(app, team):
    """A plain compose page (v1 and v2), no record: Bob chooses the invoice template, its invoice
    fields stay as {{ … }} and are named; sending is refused naming them, nothing is queued; once
    filled in, the same mail leaves."""
    mailbox_id = team["id"]
    template_id = _payment_reminder(app, team)
    bob = _client(app, "bob")
    filled = _chosen(bob, mailbox_id, template_id)
    assert [field["name"] for field in filled["missing"]] == ["amount", "customer_name", "due_date", "invoice_number"]
    assert filled["body"].startswith("Dear {{ customer_name }},") and filled["body"].endswith("\n\nBob")
    assert filled["subject"] == "Invoice {{ invoice_number }}"
    named = ("Invoice number ({{ invoice_number }})", "Due on ({{ due_date }})")

    # v1: the compose form as the browser posts it
    form = {"from": str(mailbox_id), "to": "k@kunde.test", "subject": "Invoice 2026-0042", "body": filled["body"],
            "compose_id": uuid.uuid4().hex, "action": "send"}
    refused = bob.post(f"/mail/m/{mailbox_id}/compose", data=form)
    assert refused.status_code == 400
    text = _unescaped(refused)
    assert "The mail still holds a template field without a value:" in text and all(name in text for name in named)
    # only the subject left unfilled: refused as well, naming that one field
    subject_only = bob.post(f"/mail/m/{mailbox_id}/compose", data={**form, "subject": filled["subject"],
                                                                     "body": "Dear customer", "compose_id": uuid.uuid4().hex})
    assert subject_only.status_code == 400 and named[0] in _unescaped(subject_only)
    assert named[1] not in _unescaped(subject_only)

    # v2: the compose dialog's send
    message = {"to": "k@kunde.test", "subject": "Invoice 2026-0042", "body": filled["body"], "compose_id": uuid.uuid4().hex}
    answer = bob.post(f"/mail/v2/api/m/{mailbox_id}/send", json=message)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error.startswith("The mail still holds a template field without a value:") and all(n in error for n in named)
    assert _queued(app) == 0

    # filled in by hand: both leave
    written = (filled["body"].replace("{{ customer_name }}", "Berger Bau GmbH").replace("{{ invoice_number }}", "2026-0042")
               .replace("{{ amount }}", "449,07 €").replace("{{ due_date }}", "19.12.2026"))
    assert bob.post(f"/mail/m/{mailbox_id}/compose", data={**form, "body": written}).status_code == 302
    assert bob.post(f"/mail/v2/api/m/{mailbox_id}/send", json={**message, "body": written}).status_code == 200
    assert _queued(app) == 2


class _WithoutDueDate:
    """An invoice as an app whose invoices may lack a due date gives it: the record kit's invoices
    always have one (their column is required), so the test reads the real invoice with it empty."""

    promised_on = None

    def __init__(self, record):
        self._record = record

    def __getattr__(self, name):
        return getattr(self._record, name)


def test_an_invoice_without_a_due_date_blocks_the_send_naming_the_field(app, team, monkeypatch):
    mailbox_id, number = team["id"], team["number"]
    template_id = _payment_reminder(app, team)
    real_get_record = store.get_record

    def get_record(record_app, record_id, include_deleted=False):
        record = real_get_record(record_app, record_id, include_deleted)
        return _WithoutDueDate(record) if record is not None and record.id == team["invoice"] else record

    monkeypatch.setattr(store, "get_record", get_record)
    alice, bob = _client(app, "alice"), _client(app, "bob")
    _n, amount, _due = _invoice_values(app, team["invoice"])
    reference = f"invoice:{team['invoice']}"

    # from the invoice's mail dialog: number and amount filled in, the due date named as missing
    filled = _chosen(alice, mailbox_id, template_id, reference=reference)
    assert filled["missing"] == [{"name": "due_date", "label": "Due on"}]
    assert filled["body"] == (f"Dear Berger Bau GmbH,\n\ninvoice {number} over {amount} is due on {{{{ due_date }}}}."
                              "\n\nAlice")
    refused = alice.post("/mail/compose/app/", data={
        "reference": reference, "key": _dialog_key(alice, reference), "mailbox": str(mailbox_id),
        "to": "k@kunde.test", "subject": filled["subject"], "text": filled["body"]})
    assert refused.status_code == 400
    assert ("The mail still holds a template field without a value: Due on ({{ due_date }}). Fill it in before "
            "sending.") in _unescaped(refused)

    # Bob answers the customer's mail (linked to the invoice) in v2: the same field is named and blocks
    answer = _chosen(bob, mailbox_id, template_id, message_ids=[team["ids"][1]])
    assert answer["reference"] == reference and answer["missing"] == [{"name": "due_date", "label": "Due on"}]
    sent = bob.post(f"/mail/v2/api/m/{mailbox_id}/send", json={
        "to": "k@kunde.test", "subject": f"AW: Invoice {number}", "body": answer["body"],
        "in_reply_to": team["ids"][1], "references": " ".join(team["ids"]), "compose_id": uuid.uuid4().hex})
    assert sent.status_code == 400 and "Due on ({{ due_date }})" in sent.get_json()["error"]
    assert _queued(app) == 0

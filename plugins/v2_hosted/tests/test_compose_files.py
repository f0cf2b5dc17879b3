"""Attachments, forward and drafts of the v2 compose dialog on the real stack (Dovecot, Postfix):
a file uploaded through core's upload store is in the mail that leaves through the outbox; a
forward carries the original's PDF (inline) or the original itself (as attachment); a draft
saved with a file and reopened keeps it; too large a file is refused with the limit's message;
a file taken out is gone from the store; undo send brings the attachments back; another
session's tokens attach nothing."""
from __future__ import annotations

import email
import time
from email.policy import default as default_policy

import pytest
from app_fixtures import _fresh_account, login
from v2_setup import append_invoice_mail, sync_now

from hostapp.extensions import db
from tricoma_mail_plugin import live_mailbox, sync_mailbox_now
from tricoma_mail_plugin.models import StoredUpload
from tricoma_mail_plugin.sending import outbox

pytestmark = pytest.mark.live

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
HEADERS = {"Content-Type": "application/octet-stream", "X-Requested-With": "XMLHttpRequest"}


@pytest.fixture
def app(make_app, mailstack):
    return make_app(TRICOMA_MAIL_CA_FILE=str(mailstack.cert), TRICOMA_MAIL_UNDO_SEND_SECONDS=0,
                    TRICOMA_MAIL_MAX_ATTACHMENT_BYTES=64 * 1024)


@pytest.fixture
def box(app, make_mailbox, mailstack, imap_client):
    """A mailbox with a mail carrying a PDF in its INBOX, synced; the owner signed in."""
    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password, title="Vertrieb")
    customer = _fresh_account(mailstack, 1)[0]  # a recipient the stack accepts
    server = imap_client(1, address, password)
    append_invoice_mail(server, address, PDF)
    with app.app_context():
        sync_now(mailbox_id, v2=False)
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    return {"id": mailbox_id, "address": address, "customer": customer, "server": server, "client": client, "app": app}


def api(box, path: str) -> str:
    return f"/mail/v2/api/m/{box['id']}{path}"


def upload(box, name: str, data: bytes, content_type: str = "text/plain", client=None):
    headers = dict(HEADERS, **{"X-File-Name": name, "X-File-Type": content_type})
    return (client or box["client"]).post(f"/mail/m/{box['id']}/compose/upload", data=data, headers=headers)


def message_id_of(box, subject: str, folder: str = "INBOX") -> int:
    with box["app"].app_context():
        sync_mailbox_now(live_mailbox(box["id"]))
    items = box["client"].get(api(box, f"/messages?folder={folder}")).get_json()["items"]
    return next(item["id"] for item in items if item["subject"] == subject)


def sent_copy(box, subject: str) -> email.message.EmailMessage:
    """Delivers the outbox and answers the Sent copy of ``subject`` from the server."""
    with box["app"].app_context():
        outbox.run_once()
        states = [(item.subject, item.state, item.sent_copy) for item in outbox.items()]
        errors = [item.last_error for item in outbox.items()]
    assert (subject, "sent", "done") in states, (states, errors)
    server = box["server"]
    server.select_folder("Sent", readonly=True)
    uids = server.search(["SUBJECT", subject])
    assert len(uids) == 1
    raw = server.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
    return email.message_from_bytes(raw, policy=default_policy)


def attachments_of(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() if part.get_content_maintype() != "message"
            else part.get_content().as_bytes() for part in message.iter_attachments()}


def stored_tokens(app) -> set[str]:
    with app.app_context():
        return {row.token for row in db.session.query(StoredUpload).all()}


def test_an_uploaded_file_leaves_with_the_mail_and_the_store_forgets_it(box):
    uploaded = upload(box, "Angebot%20%C3%BC.txt", b"Preis: 100 EUR\n")
    assert uploaded.status_code == 200
    token = uploaded.get_json()["token"]
    sent = box["client"].post(api(box, "/send"), json={
        "to": box["customer"], "subject": "Ihr Angebot", "body": "Anbei das Angebot.",
        "compose_id": "c-upload", "attachments": [token]})
    assert sent.status_code == 200, sent.get_json()
    assert token not in stored_tokens(box["app"])  # the outbox holds the mail now
    copy = sent_copy(box, "Ihr Angebot")
    assert attachments_of(copy) == {"Angebot ü.txt": "Preis: 100 EUR\n"}
    assert "Anbei das Angebot." in copy.get_body(("plain",)).get_content()


def test_a_forward_carries_the_pdf_and_a_removed_file_is_gone(box):
    source = message_id_of(box, "Rechnung 2026-17")
    start = box["client"].get(api(box, f"/compose?mode=forward&source={source}")).get_json()
    assert start["subject"] == "Fwd: Rechnung 2026-17" and "Anbei die Rechnung." in start["body"]
    assert [(a["filename"], a["size"], a["content_type"]) for a in start["attachments"]] == [
        ("Rechnung-2026-17.pdf", len(PDF), "application/pdf")]
    assert start["attachments"][0]["size_text"] == f"{len(PDF)} B"
    # a file added and taken out again before sending: gone from the store, not in the mail
    extra = upload(box, "notiz.txt", b"nur intern\n").get_json()["token"]
    assert box["client"].delete(api(box, f"/uploads/{extra}")).get_json() == {"removed": True}
    assert extra not in stored_tokens(box["app"])
    sent = box["client"].post(api(box, "/send"), json=dict(
        start, to=box["customer"], attachments=[a["token"] for a in start["attachments"]] + [extra]))
    assert sent.status_code == 200, sent.get_json()
    copy = sent_copy(box, "Fwd: Rechnung 2026-17")
    assert attachments_of(copy) == {"Rechnung-2026-17.pdf": PDF}


def test_forward_as_attachment_sends_the_original(box):
    source = message_id_of(box, "Rechnung 2026-17")
    start = box["client"].get(api(box, f"/compose?mode=forward_attachment&source={source}")).get_json()
    assert [(a["filename"], a["content_type"]) for a in start["attachments"]] == [
        ("Rechnung 2026-17.eml", "message/rfc822")]
    sent = box["client"].post(api(box, "/send"), json=dict(
        start, to=box["customer"], attachments=[a["token"] for a in start["attachments"]]))
    assert sent.status_code == 200, sent.get_json()
    forwarded = next(sent_copy(box, "Fwd: Rechnung 2026-17").iter_attachments())
    assert forwarded.get_content_type() == "message/rfc822"
    original = forwarded.get_content()
    assert original["Subject"] == "Rechnung 2026-17"
    assert attachments_of(original) == {"Rechnung-2026-17.pdf": PDF}


def test_a_draft_keeps_its_attachments_when_reopened(box):
    token = upload(box, "Skizze.txt", b"Entwurf der Skizze\n").get_json()["token"]
    form = {"from": str(box["id"]), "to": box["customer"], "subject": "Skizze", "body": "erste Fassung",
            "attachment": [token]}
    saved = box["client"].post(f"/mail/m/{box['id']}/compose/draft", data=form,
                               headers={"Accept": "application/json"})
    assert saved.status_code == 200, saved.get_json()
    draft = message_id_of(box, "Skizze", "Drafts")
    start = box["client"].get(api(box, f"/compose?mode=draft&source={draft}")).get_json()
    assert start["body"].startswith("erste Fassung") and start["to"] == box["customer"]
    assert start["draft_uid"] == saved.get_json()["draft_uid"] and start["draft_mailbox"] == str(box["id"])
    assert [a["filename"] for a in start["attachments"]] == ["Skizze.txt"]
    # saved again from the reopened dialog: one draft, still with its file
    again = box["client"].post(f"/mail/m/{box['id']}/compose/draft", headers={"Accept": "application/json"}, data=dict(
        form, body="zweite Fassung", draft_uid=start["draft_uid"], draft_mailbox=start["draft_mailbox"],
        attachment=[a["token"] for a in start["attachments"]]))
    assert again.status_code == 200
    server = box["server"]
    server.select_folder("Drafts", readonly=True)
    uids = server.search(["ALL"])
    assert len(uids) == 1
    stored = email.message_from_bytes(server.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"], policy=default_policy)
    assert attachments_of(stored) == {"Skizze.txt": "Entwurf der Skizze\n"}
    # sending it removes the draft, as in v1
    sent = box["client"].post(api(box, "/send"), json=dict(
        start, draft_uid=again.get_json()["draft_uid"], attachments=[a["token"] for a in start["attachments"]]))
    assert sent.status_code == 200, sent.get_json()
    server.select_folder("Drafts", readonly=True)
    assert server.search(["ALL"]) == []


def test_too_large_is_refused_with_the_limit(box):
    too_big = upload(box, "gross.bin", b"x" * (65 * 1024), "application/octet-stream")
    assert too_big.status_code == 413
    assert too_big.get_json()["error"] == "The attachments are larger than the limit of 64 KB."
    # two files each within the limit, together over it: refused when the mail is sent
    first = upload(box, "a.bin", b"a" * (40 * 1024)).get_json()["token"]
    second = upload(box, "b.bin", b"b" * (40 * 1024)).get_json()["token"]
    sent = box["client"].post(api(box, "/send"), json={
        "to": box["customer"], "subject": "Zu viel", "body": "x", "attachments": [first, second]})
    assert sent.status_code == 400 and "limit of 64 KB" in sent.get_json()["error"]
    with box["app"].app_context():
        assert not [item for item in outbox.items() if item.subject == "Zu viel"]


def test_undo_send_brings_the_attachments_back(app, box):
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 60
    token = upload(box, "Plan.txt", b"Plan B\n").get_json()["token"]
    sent = box["client"].post(api(box, "/send"), json={
        "to": box["customer"], "subject": "Plan", "body": "Hier der Plan.", "compose_id": "c-undo",
        "attachments": [token]}).get_json()
    undone = box["client"].post(api(box, f"/sent/{sent['item_id']}/undo"), json={}).get_json()
    assert undone["cancelled"] is True
    assert [(a["filename"], a["size"]) for a in undone["attachments"]] == [("Plan.txt", 7)]
    assert undone["attachments"][0]["token"] in stored_tokens(box["app"])


def test_another_sessions_upload_attaches_nothing(app, box, make_user):
    token = upload(box, "geheim.txt", b"geheim\n").get_json()["token"]
    other = app.test_client()
    assert login(other, "owner").status_code == 302  # the same user, another browser session
    sent = other.post(api(box, "/send"), json={"to": box["customer"], "subject": "Fremd", "body": "x",
                                               "compose_id": "c-other", "attachments": [token, "../x", 7]})
    assert sent.status_code == 200
    assert attachments_of(sent_copy(box, "Fremd")) == {}
    assert other.delete(api(box, f"/uploads/{token}")).get_json() == {"removed": False}
    assert token in stored_tokens(app)  # nor can it remove it


def test_a_reader_may_not_reopen_a_draft(app, box, make_user):
    from tricoma_mail_plugin.rights import access

    reader = make_user("leser", language="en")
    with app.app_context():
        access.grant(box["id"], "user", reader.id, "read")
    client = app.test_client()
    assert login(client, "leser").status_code == 302
    source = message_id_of(box, "Rechnung 2026-17")
    assert client.get(api(box, f"/compose?mode=draft&source={source}")).status_code in (403, 404)
    assert client.get(api(box, f"/compose?mode=forward&source={source}")).status_code == 200


def test_bcc_reaches_its_recipient_and_no_one_sees_it(box, mailstack, imap_client):
    hidden, hidden_password = _fresh_account(mailstack, 1)
    sent = box["client"].post(api(box, "/send"), json={
        "to": box["customer"], "bcc": hidden, "subject": "Mit Blindkopie", "body": "Hallo.",
        "compose_id": "c-bcc"})
    assert sent.status_code == 200, sent.get_json()
    sent_copy(box, "Mit Blindkopie")
    inbox = imap_client(1, hidden, hidden_password)
    deadline = time.monotonic() + 10
    while True:
        inbox.select_folder("INBOX", readonly=True)
        uids = inbox.search(["SUBJECT", "Mit Blindkopie"])
        if uids or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(uids) == 1, "the Bcc recipient got the mail"
    raw = inbox.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
    headers = email.message_from_bytes(raw, policy=default_policy)
    assert headers["Bcc"] is None and hidden not in str(headers["To"]) + str(headers["Cc"]), \
        "no header the sender wrote names the Bcc recipient"

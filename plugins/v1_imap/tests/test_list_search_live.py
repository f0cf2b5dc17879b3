"""Lists (keyset pages, sorts, unified inbox) and search (headers in the cache, bodies in the
full-text index) over mail synced from the real server."""
from email.message import EmailMessage

import pytest

from hostapp.extensions import db
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.cache.listing import folder_ids, inbox_folder_ids, list_messages
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.cache.search import SearchQuery, search


def mail(number: int, body: str, subject: str | None = None, seen: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = f"Absender {number % 7} <a{number % 7}@example.test>"
    message["To"] = "owner@example.test"
    message["Subject"] = subject or f"Nachricht {number:03d}"
    message["Date"] = f"Mon, {1 + number % 28:02d} Jun 2026 {number % 24:02d}:00:00 +0000"
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def synced(app, make_mailbox, mailstack, imap_client):
    from app_fixtures import _fresh_account

    ids = []
    for profile in (1, 2):
        email, password = _fresh_account(mailstack, profile)
        mailbox_id = make_mailbox(profile, email, password)
        client = imap_client(profile, email, password)
        client.multiappend("INBOX", [mail(n + 1000 * profile, f"Text {n} über Zahnräder" if n % 10 == 0 else f"Text {n}")
                                      for n in range(120)])
        with app.app_context():
            refresh.run_sync(db.session.get(Mailbox, mailbox_id))
        ids.append(mailbox_id)
    return ids


def test_keyset_pages_cover_every_message_once_in_order(app, synced):
    with app.app_context():
        folders = folder_ids(synced[0], ["INBOX"])
        seen, cursor, pages = [], None, 0
        while True:
            page = list_messages(folders, cursor=cursor, limit=50)
            seen.extend(page.messages)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert pages == 3 and len(seen) == 120 and len({m.id for m in seen}) == 120
        dates = [(m.date, m.id) for m in seen]
        assert dates == sorted(dates, reverse=True)
        by_subject = list_messages(folders, sort="subject", descending=False, limit=200).messages
        assert [m.subject for m in by_subject] == sorted(m.subject for m in by_subject)
        with pytest.raises(ValueError):
            list_messages(folders, cursor="not-a-cursor")


def test_unified_inbox_spans_mailboxes(app, synced):
    with app.app_context():
        page = list_messages(inbox_folder_ids(synced), limit=500)
    assert {m.mailbox_id for m in page.messages} == set(synced)
    assert len(page.messages) == 240


def test_search_headers_and_bodies(app, synced):
    with app.app_context():
        folders = inbox_folder_ids(synced)
        assert len(search(folders, SearchQuery(text="zahnräder"), limit=500).messages) == 24
        assert len(search(folders, SearchQuery(text="Zahnrader"), limit=500).messages) == 24  # diacritics
        assert len(search(folders, SearchQuery(subject="Nachricht 1005"), limit=500).messages) == 1
        from_one = search(folders, SearchQuery(from_="a3@example.test"), limit=500).messages
        assert from_one and all("a3@" in m.from_ for m in from_one)
        assert search(folders, SearchQuery(text='" OR * NEAR("'), limit=10).messages == []
        assert len(search(folders, SearchQuery(unread=True), limit=500).messages) == 240
        assert search(folders, SearchQuery(subject="100%_"), limit=10).messages == []

"""What the folder page and the reading view remember between requests (issue 14, point 4): a
mailbox's tags, the navigation (readable mailboxes with their unread counts, the unread
notices), the folder tree of the reading view and a mail's linked records are read once per
web process and then only their versions (``cache_versions``). Each change below is written by
"another process" with its own SQL, so only the database's triggers can tell the page."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest
from app_fixtures import login
from sqlalchemy import event, insert, select, text, update

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import cache_versions
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import (
    CachedBody,
    CachedFolder,
    CachedMessage,
    Mailbox,
    MailboxTag,
    Notice,
    RecordLink,
    utcnow,
)
from tricoma_mail_plugin.rights import access

MESSAGE_ID = "<page-caches@example.test>"


def raw_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Kunde <kunde@example.test>"
    message["To"] = "olga@example.test"
    message["Subject"] = "Angebot"
    message["Message-ID"] = MESSAGE_ID
    message["Date"] = "Mon, 01 Jun 2026 09:00:00 +0000"
    message.set_content("Hallo,\nwie besprochen.\n")
    return message.as_bytes()


@pytest.fixture
def cached(app, make_user) -> tuple[int, int]:
    """olga reads and writes a mailbox whose cache holds INBOX and Archiv with one read message
    in INBOX, its body cached (nothing asks a mail server); (mailbox id, message pk)."""
    olga = make_user("olga", language="en")
    with app.app_context():
        mailbox = service.create_mailbox("Vertrieb", olga)
        for right in ("read", "write"):
            access.grant(mailbox.id, "user", olga.id, right, actor="test")
        mailbox.last_sync_at = utcnow()
        inbox = CachedFolder(mailbox_id=mailbox.id, name="INBOX", delimiter="/", flags=[], uidvalidity=1,
                             messages=1, unseen=3)
        archive = CachedFolder(mailbox_id=mailbox.id, name="Archiv", delimiter="/", flags=[], uidvalidity=1)
        db.session.add_all([inbox, archive])
        db.session.flush()
        raw = raw_mail()
        message = CachedMessage(folder_id=inbox.id, uid=1, seen=True, size=len(raw), subject="Angebot",
                                from_="Kunde <kunde@example.test>", message_id=MESSAGE_ID,
                                date=datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc))
        db.session.add(message)
        db.session.flush()
        db.session.add(CachedBody(message_pk=message.id, mailbox_id=mailbox.id, raw=raw, size=len(raw)))
        db.session.commit()
        return mailbox.id, message.id


def client_of(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def other_process(app, statement) -> None:
    """``statement`` on a connection of its own, committed, as another process would write."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(statement)


def page_and_queries(app, client, url: str) -> tuple[str, list[str]]:
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lstrip())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return response.get_data(as_text=True), seen


def asked(queries: list[str], table: str) -> list[str]:
    return [query for query in queries if f"FROM {table}" in query or f"JOIN {table}" in query]


def test_every_watched_table_moves_its_kind_after_all_migrations(app):
    """On SQLite a migration that makes a table anew (a batch alter) drops its triggers: after
    every migration each kind still has one per watched table and event."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's triggers; PostgreSQL keeps them through ALTER TABLE")
        triggers = db.session.execute(text("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    for kind, tables in cache_versions.WATCHED_TABLES.items():
        for table in tables:
            moving = [sql for on, sql in triggers if on == table and f"WHERE name = '{kind}'" in sql]
            events = {name for name in ("INSERT", "UPDATE", "DELETE") for sql in moving if f"AFTER {name}" in sql}
            assert events == {"INSERT", "UPDATE", "DELETE"}, (kind, table, moving)


def test_a_tag_defined_by_another_process_shows_at_the_next_request(app, cached):
    mailbox_id, _pk = cached
    olga = client_of(app, "olga")
    folder = f"/mail/m/{mailbox_id}/"
    olga.get(folder)  # the process learns the tags (Thunderbird's five are made)
    html, queries = page_and_queries(app, olga, folder)
    assert "Important" in html and "Kundenprojekt" not in html
    assert not asked(queries, "tricoma_mail_tag"), queries
    other_process(app, insert(MailboxTag.__table__).values(mailbox_id=mailbox_id, keyword="kundenprojekt",
                                                           name="Kundenprojekt", colour="#009999", position=9,
                                                           created_at=utcnow()))
    html, queries = page_and_queries(app, olga, folder)
    assert '<option value="kundenprojekt">Kundenprojekt</option>' in html
    assert asked(queries, "tricoma_mail_tag")


def test_the_navigation_follows_a_renamed_mailbox_a_new_unread_count_and_a_new_notice(app, cached):
    mailbox_id, message_pk = cached
    olga = client_of(app, "olga")
    start = f"/mail/m/{mailbox_id}/messages/{message_pk}"  # a page that lists no mailboxes itself
    olga.get(start)
    html, queries = page_and_queries(app, olga, start)
    assert "Vertrieb" in html and '<span class="badge">3</span>' in html
    assert not asked(queries, "tricoma_mail_notice") and not asked(queries, "tricoma_mail_grant"), queries

    other_process(app, update(Mailbox.__table__).where(Mailbox.__table__.c.id == mailbox_id)
                  .values(title="Verkauf"))
    html = olga.get(start).get_data(as_text=True)
    assert "Verkauf" in html and "Vertrieb" not in html.split('<main class="content">')[0]

    folders = CachedFolder.__table__
    other_process(app, update(folders).where(folders.c.mailbox_id == mailbox_id, folders.c.name == "INBOX")
                  .values(unseen=7))
    assert '<span class="badge">7</span>' in olga.get(start).get_data(as_text=True)

    with app.app_context():
        olga_id = db.session.scalar(select(User.id).where(User.username == "olga"))
    assert notices_badge(olga.get(start).get_data(as_text=True)) is None
    other_process(app, insert(Notice.__table__).values(user_id=str(olga_id), kind="mention", text_key="Hallo",
                                                       params={}, created_at=utcnow()))
    assert notices_badge(olga.get(start).get_data(as_text=True)) == "1"


def notices_badge(html: str) -> str | None:
    entry = re.search(r'<a href="/mail/notices/"[^>]*>[^<]*(?:<span class="badge">(\d+)</span>)?', html)
    assert entry, "no notices entry in the navigation"
    return entry.group(1)


def test_a_sync_writing_its_bookkeeping_keeps_what_the_navigation_remembers(app, cached):
    """Only the columns a remembered answer holds move the versions: a sync's pass moves none."""
    mailbox_id, _pk = cached
    with app.app_context():
        before = cache_versions.versions()
    other_process(app, update(Mailbox.__table__).where(Mailbox.__table__.c.id == mailbox_id)
                  .values(last_sync_at=utcnow(), sync_lease_until=None))
    folders = CachedFolder.__table__
    other_process(app, update(folders).where(folders.c.mailbox_id == mailbox_id)
                  .values(uidnext=99, synced_at=utcnow(), server_messages=1))
    with app.app_context():
        after = cache_versions.versions()
    assert {kind: after[kind] for kind in ("mailboxes", "folders", "unread")} == \
        {kind: before[kind] for kind in ("mailboxes", "folders", "unread")}


def test_the_reading_view_shows_a_new_folder_and_a_new_record_link_at_the_next_request(app, cached):
    mailbox_id, pk = cached
    olga = client_of(app, "olga")
    url = f"/mail/m/{mailbox_id}/messages/{pk}"
    olga.get(url)
    html, queries = page_and_queries(app, olga, url)
    assert '<option value="Archiv">' in html and "Projekte" not in html
    assert not [query for query in queries if query.startswith("SELECT tricoma_mail_folder.name")], queries
    assert not asked(queries, "tricoma_mail_record_link"), queries
    assert not asked(queries, "tricoma_mail_tag"), queries
    # the message, its folder and the mailbox whose right is checked: one query, for the page
    # and for its body frame; the page asks one more, for the messages above and below it
    _body, frame_queries = page_and_queries(app, olga, f"{url}/body")
    for asked_by_page, messages_asked in ((queries, 2), (frame_queries, 1)):
        assert not [query for query in asked_by_page if query.startswith("SELECT tricoma_mail_mailbox.")], asked_by_page
        assert len([query for query in asked_by_page if query.startswith("SELECT tricoma_mail_message.")
                    ]) == 1, asked_by_page
        assert len([query for query in asked_by_page if "FROM tricoma_mail_message" in query]) == messages_asked, \
            asked_by_page

    other_process(app, insert(CachedFolder.__table__).values(mailbox_id=mailbox_id, name="Projekte", delimiter="/",
                                                             flags=[], messages=0, unseen=0))
    assert '<option value="Projekte">' in olga.get(url).get_data(as_text=True)

    other_process(app, insert(RecordLink.__table__).values(reference="invoice:2026-0042", mailbox_id=mailbox_id,
                                                           message_id=MESSAGE_ID, direction="received",
                                                           subject="Angebot", counterpart="", at=utcnow()))
    html = olga.get(url).get_data(as_text=True)
    assert "Linked to" in html and "2026-0042" in html

"""The message list's cost per page, not per row (issue 14): translations and URLs are looked up a
fixed number of times whatever the number of rows, and the JSON list of a folder shows the same
rows as the page, formatted the same way, page by page."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from app_fixtures import login
from flask_babel import Domain
from sqlalchemy import select, update
from test_cache_versions import statements_of
from werkzeug.routing.map import MapAdapter

from hostapp.extensions import db
from tricoma_mail_plugin import FetchedBatch, MessageSummary
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox

START = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def summary(uid: int) -> MessageSummary:
    flags = ("\\Seen",) if uid % 3 else ()
    if uid % 5 == 0:
        flags += ("\\Flagged", "\\Answered")
    return MessageSummary(
        uid=uid, flags=flags, size=700 + uid * 997, internal_date=START + timedelta(hours=uid),
        from_=f'"Kunde {uid}" <kunde{uid}@example.test>', to="owner@example.test", cc="",
        subject=f"Anfrage {uid:03d}" if uid % 7 else "", date=START + timedelta(hours=uid),
        message_id=f"<list-{uid}@example.test>", in_reply_to="", references="",
        has_attachment=uid % 4 == 0, preview=f"Vorschau {uid}")


@pytest.fixture
def folder_with(app, make_mailbox):
    """Factory: a mailbox whose cached INBOX holds ``count`` messages, stored the way a sync
    stores them (no mail server involved); returns the mailbox id."""

    def make(count: int) -> int:
        mailbox_id = make_mailbox()
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            folder = CachedFolder(mailbox_id=mailbox_id, name="INBOX", uidvalidity=7, uidnext=1, messages=0,
                                  unseen=0, flags=[])
            db.session.add(folder)
            db.session.commit()
            uids = tuple(range(1, count + 1))
            sync.store_new_messages(mailbox, folder, FetchedBatch(uids, tuple(summary(uid) for uid in uids)))
            sync.recount_folder(folder)
            db.session.commit()
        return mailbox_id

    return make


@pytest.fixture
def owner(app):
    """Factory: a client signed in as the mailboxes' owner (call it after making them)."""

    def signed_in():
        client = app.test_client()
        assert login(client, "owner").status_code == 302
        return client

    return signed_in


def lookups(client, url: str, monkeypatch) -> tuple[int, int, str]:
    """(translation lookups, URLs built, page) of one request."""
    counts = {"translations": 0, "urls": 0}
    get_translations, build = Domain.get_translations, MapAdapter.build

    def counting_translations(self):
        counts["translations"] += 1
        return get_translations(self)

    def counting_build(self, *args, **kwargs):
        counts["urls"] += 1
        return build(self, *args, **kwargs)

    monkeypatch.setattr(Domain, "get_translations", counting_translations)
    monkeypatch.setattr(MapAdapter, "build", counting_build)
    response = client.get(url)
    monkeypatch.undo()
    assert response.status_code == 200
    return counts["translations"], counts["urls"], response.get_data(as_text=True)


def test_the_folder_page_looks_up_translations_and_urls_per_page_not_per_row(folder_with, owner, monkeypatch):
    few, many = folder_with(3), folder_with(40)  # both with unread mail (the folder tree shows a badge)
    owner = owner()
    owner.get(f"/mail/m/{few}/")  # the first request of a client signs in its session
    few_translations, few_urls, few_page = lookups(owner, f"/mail/m/{few}/", monkeypatch)
    many_translations, many_urls, many_page = lookups(owner, f"/mail/m/{many}/", monkeypatch)
    assert few_page.count('<td class="subject">') == 3 and many_page.count('<td class="subject">') == 40
    assert many_translations == few_translations, (few_translations, many_translations)
    assert many_urls == few_urls, (few_urls, many_urls)
    # each row still carries its own values
    assert 'aria-label="Select: Anfrage 040"' in many_page and "(no subject)" in many_page
    assert many_page.count("attachment-marker") == 10 and many_page.count('class="unread') == 13


def test_the_json_list_shows_the_rows_of_the_page_page_by_page(folder_with, owner):
    mailbox_id = folder_with(60)
    owner = owner()
    page = owner.get(f"/mail/m/{mailbox_id}/").get_data(as_text=True)
    listed = owner.get(f"/api/mail/m/{mailbox_id}/messages?folder=INBOX")
    assert listed.status_code == 200 and listed.mimetype == "application/json"
    data = listed.get_json()
    rows = data["messages"]
    assert len(rows) == 50 and data["sort"] == "date" and data["order"] == "desc"
    shown = [unescape(s) for s in re.findall(r'<td class="subject"><a href="[^"]+">([^<]*)</a>', page)]
    assert [row["subject"] for row in rows] == shown
    newest = rows[0]
    assert newest["subject"] == "Anfrage 060" and newest["correspondent"] == "Kunde 60"
    assert newest["unread"] is True and newest["flagged"] is True and newest["answered"] is True
    assert newest["url"] == f"/mail/m/{mailbox_id}/messages/{newest['id']}" and newest["url"] in page
    assert newest["date"] == (START + timedelta(hours=60)).isoformat()
    assert newest["message_id"] == "<list-60@example.test>"  # for clients that group conversations
    assert f'title="{newest["date_title"]}">{newest["date_label"]}</time>' in page
    assert newest["size"] in page and newest["size"].endswith(" KB")

    rest = owner.get(f"/api/mail/m/{mailbox_id}/messages?folder=INBOX&cursor={data['next_cursor']}").get_json()
    assert [row["subject"] for row in rest["messages"]] == [
        f"Anfrage {uid:03d}" if uid % 7 else "(no subject)" for uid in range(10, 0, -1)]
    assert rest["next_cursor"] is None
    oldest_first = owner.get(f"/api/mail/m/{mailbox_id}/messages?folder=INBOX&order=asc").get_json()
    assert oldest_first["messages"][0]["subject"] == "Anfrage 001"

    assert owner.get(f"/api/mail/m/{mailbox_id}/messages?folder=Nowhere").status_code == 404
    broken = owner.get(f"/api/mail/m/{mailbox_id}/messages?folder=INBOX&cursor=not-a-cursor")
    assert broken.status_code == 400 and "error" in broken.get_json()


def sqlite_list_query_plan(app, client, url: str) -> str:
    """SQLite's plan of the message list's query (the one with ORDER BY … LIMIT) that the request
    to ``url`` ran, as text."""
    (statement, parameters), = [(statement, parameters) for statement, parameters in statements_of(app, client, url)
                                if "FROM tricoma_mail_message" in statement and "LIMIT" in statement]
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_a_later_page_seeks_where_the_last_ended_and_pages_meet_without_gap_or_double(app, folder_with, owner):
    mailbox_id = folder_with(130)
    with app.app_context():  # many messages at one moment: the cursor's id decides between them
        folder = db.session.scalars(select(CachedFolder).where(CachedFolder.mailbox_id == mailbox_id)).one()
        db.session.execute(update(CachedMessage).where(CachedMessage.folder_id == folder.id,
                                                       CachedMessage.uid.between(30, 110))
                           .values(date=START + timedelta(days=30)))
        db.session.commit()
        expected = [row.id for row in db.session.scalars(
            select(CachedMessage).where(CachedMessage.folder_id == folder.id)
            .order_by(CachedMessage.date.desc(), CachedMessage.id.desc()))]
        dialect = db.engine.dialect.name
    client = owner()
    seen, cursor, cursors = [], None, []
    while True:
        url = f"/api/mail/m/{mailbox_id}/messages?folder=INBOX" + (f"&cursor={cursor}" if cursor else "")
        data = client.get(url).get_json()
        seen += [int(row["id"]) for row in data["messages"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    assert seen == expected and len(cursors) == 2

    # SQLite plans by rules, not by statistics: its plan is the same for a test's rows as for a big
    # folder's. The index is entered at the cursor's date, not read from the folder's newest on,
    # and read in its order, stopping after the page: not every row after the cursor sorted.
    if dialect == "sqlite":
        plan = sqlite_list_query_plan(app, client, f"/mail/m/{mailbox_id}/?folder=INBOX&cursor={cursors[-1]}")
        assert re.search(r"USING (COVERING )?INDEX ix_tricoma_mail_message_folder_date \(folder_id=\? AND date<\?\)",
                         plan), plan
        assert "TEMP B-TREE" not in plan and "MULTI-INDEX OR" not in plan, plan

"""Going from message to message in the v1 reading view, and opening a draft, as Thunderbird and
Roundcube users expect: "Previous message" and "Next message" go to the messages the folder's
list shows above and below, in the list's own order (its sort, direction and tag, carried by the
list's links), one query of a row each; a draft in the Drafts folder opens in the editor from the
list for who may write it. Nothing here asks a mail server: the cache holds the messages and
their bodies."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from html import unescape

import pytest
from sqlalchemy import event
from test_cache_versions_pages import client_of

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import CachedBody, CachedFolder, CachedMessage, utcnow
from tricoma_mail_plugin.rights import access

START = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
# subject, hours after START, size, keywords; two share a date (the list breaks the tie by id)
INBOX = [("Delta", 0, 400, ""), ("Alpha", 1, 100, "projekt"), ("Charlie", 2, 300, ""),
         ("Bravo", 2, 200, "projekt"), ("Echo", 3, 500, "projekt")]


def raw_mail(subject: str, message_id: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Kunde <kunde@example.test>"
    message["To"] = "olga@example.test"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 01 Jun 2026 09:00:00 +0000"
    message.set_content("Hallo,\nwie besprochen.\n")
    return message.as_bytes()


@pytest.fixture
def mailbox(app, make_user) -> int:
    """A mailbox whose cache holds INBOX (the messages of ``INBOX``), Archiv (one message) and
    Drafts (one draft), every body cached. olga may read, write and send; paul (who reads German)
    may only read; nina may do nothing."""
    olga = make_user("olga", language="en")
    paul = make_user("paul", language="de")
    make_user("nina", language="en")
    with app.app_context():
        box = service.create_mailbox("Vertrieb", olga)
        for right in ("read", "write", "send"):
            access.grant(box.id, "user", olga.id, right, actor="test")
        access.grant(box.id, "user", paul.id, "read", actor="test")
        box.last_sync_at = utcnow()
        inbox = CachedFolder(mailbox_id=box.id, name="INBOX", delimiter="/", flags=[], uidvalidity=1)
        archive = CachedFolder(mailbox_id=box.id, name="Archiv", delimiter="/", flags=[], uidvalidity=1)
        drafts = CachedFolder(mailbox_id=box.id, name="Drafts", delimiter="/", flags=["\\Drafts"], uidvalidity=1)
        db.session.add_all([inbox, archive, drafts])
        db.session.flush()
        kept = [(inbox, subject, START + timedelta(hours=hours), size, keywords)
                for subject, hours, size, keywords in INBOX]
        kept += [(archive, "Abgelegt", START + timedelta(hours=1, minutes=30), 150, ""),
                 (drafts, "Halbfertiges Angebot", START, 120, "")]
        for uid, (folder, subject, date, size, keywords) in enumerate(kept, start=1):
            raw = raw_mail(subject, f"<navigation-{uid}@example.test>")
            message = CachedMessage(folder_id=folder.id, uid=uid, seen=True, size=size, subject=subject,
                                    from_="Kunde <kunde@example.test>", message_id=f"<navigation-{uid}@example.test>",
                                    date=date, flags=keywords)
            db.session.add(message)
            db.session.flush()
            db.session.add(CachedBody(message_pk=message.id, mailbox_id=box.id, raw=raw, size=len(raw)))
        db.session.commit()
        return box.id


def subject_of(html: str) -> str:
    return unescape(re.search(r'<h1 id="message-subject">([^<]*)</h1>', html).group(1))


def row_links(html: str) -> list[tuple[str, str]]:
    """(link, subject) of each row of a list page, top to bottom."""
    return [(unescape(href), unescape(subject))
            for href, subject in re.findall(r'<td class="subject"><a href="([^"]+)">([^<]*)</a>', html)]


def neighbour(html: str, rel: str) -> str | None:
    found = re.search(rf'<a class="button" rel="{rel}" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def opened(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def walk(client, url: str, rel: str) -> list[str]:
    """The subjects from the message at ``url`` on, following ``rel`` until the end."""
    seen = []
    while url:
        html = opened(client, url)
        seen.append(subject_of(html))
        url = neighbour(html, rel)
        assert len(seen) < 20
    return seen


@pytest.mark.parametrize("query", ["", "?sort=subject&order=asc", "?sort=size", "?order=asc",
                                   "?sort=from&order=asc", "?tag=projekt"])
def test_previous_and_next_go_through_the_list_in_its_order(app, mailbox, query):
    olga = client_of(app, "olga")
    rows = row_links(opened(olga, f"/mail/m/{mailbox}/{query}"))
    listed = [subject for _link, subject in rows]
    assert len(listed) == (3 if "tag" in query else 5)
    # each row carries the list's order to the reading view (and only when it is not the default)
    assert all(link.endswith(f"/messages/{link.rsplit('/', 1)[1].split('?')[0]}{query}") for link, _s in rows)
    assert walk(olga, rows[0][0], "next") == listed
    assert walk(olga, rows[-1][0], "prev") == listed[::-1]
    # at the ends a link that goes nowhere, shown as unavailable
    first, last = opened(olga, rows[0][0]), opened(olga, rows[-1][0])
    assert neighbour(first, "prev") is None and neighbour(last, "next") is None
    unavailable = '<span class="button disabled" aria-disabled="true">'
    assert f'{unavailable}<span aria-hidden="true">‹</span> Previous message' in first
    assert f"{unavailable}Next message" in last
    # back to the list in the same order
    assert f'<a href="/mail/m/{mailbox}/?folder=INBOX{query.replace("?", "&")}">'.replace("&", "&amp;") in first


def test_newer_mail_is_previous_and_older_is_next_by_default(app, mailbox):
    olga = client_of(app, "olga")
    rows = dict((subject, link) for link, subject in row_links(opened(olga, f"/mail/m/{mailbox}/")))
    assert list(rows) == ["Echo", "Bravo", "Charlie", "Alpha", "Delta"]  # newest first, ties by the later id
    assert all("?" not in link for link in rows.values())
    html = opened(olga, rows["Charlie"])
    assert neighbour(html, "prev") == rows["Bravo"] and neighbour(html, "next") == rows["Alpha"]
    # a message of another folder in between by date is not a neighbour: Archiv's is at 10:30
    assert neighbour(opened(olga, rows["Alpha"]), "prev") == rows["Charlie"]


def test_the_neighbours_cost_one_query_of_one_row_from_each_side(app, mailbox):
    olga = client_of(app, "olga")
    link = dict((s, link) for link, s in row_links(opened(olga, f"/mail/m/{mailbox}/")))["Charlie"]
    opened(olga, link)  # the process learns the tags, folders and the render
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.lstrip(), parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        opened(olga, link)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    (query, parameters), = [(q, p) for q, p in seen if "ORDER BY tricoma_mail_message" in q]
    assert query.count("tricoma_mail_message.folder_id = ") == 2 and query.count("LIMIT") == 2, query
    if engine.dialect.name == "sqlite":  # by date, each side reads the folder's index from the message on
        with engine.connect() as connection:
            plan = [str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", parameters)]
        searches = [step for step in plan if step.startswith("SEARCH")]
        assert len(searches) == 2, plan
        assert not [step for step in plan if "TEMP B-TREE" in step or "SCAN tricoma" in step], plan
        assert all("ix_tricoma_mail_message_folder_date (folder_id=? AND date" in step for step in searches), plan


def test_the_reading_view_keeps_its_rights(app, mailbox):
    olga = client_of(app, "olga")
    link = row_links(opened(olga, f"/mail/m/{mailbox}/"))[1][0]
    paul, nina = client_of(app, "paul"), client_of(app, "nina")
    as_paul = opened(paul, link)
    assert neighbour(as_paul, "next")  # read alone is enough to go on
    assert "Vorherige Nachricht" in as_paul and "Nächste Nachricht" in as_paul
    for url in (link, link + "?sort=subject&order=asc", link + "?sort=nonsense&tag=projekt"):
        assert nina.get(url).status_code == 404
    # an unknown sort is the default one, as in the list
    unknown_sort = opened(olga, link.split("?")[0] + "?sort=nonsense")
    assert neighbour(unknown_sort, "next") == neighbour(opened(olga, link), "next")


def test_a_draft_opens_in_the_editor_from_the_drafts_list(app, mailbox):
    olga = client_of(app, "olga")
    ((link, subject),) = row_links(opened(olga, f"/mail/m/{mailbox}/?folder=Drafts"))
    assert subject == "Halbfertiges Angebot"
    assert re.fullmatch(rf"/mail/m/{mailbox}/compose\?mode=draft&source=\d+", link), link
    editor = opened(olga, link)
    assert 'value="Halbfertiges Angebot"' in editor and 'name="draft_uid" value="7"' in editor
    # still readable as it is, with its own way into the editor
    draft_pk = link.rsplit("=", 1)[1]
    read_only = opened(olga, f"/mail/m/{mailbox}/messages/{draft_pk}")
    assert "Edit draft" in read_only and link.replace("&", "&amp;").split("?")[0] in read_only
    # who may not write it reads it
    ((paul_link, _subject),) = row_links(opened(client_of(app, "paul"), f"/mail/m/{mailbox}/?folder=Drafts"))
    assert paul_link == f"/mail/m/{mailbox}/messages/{draft_pk}"
    # the other folders' rows open the reading view
    assert all("/messages/" in row for row, _s in row_links(opened(olga, f"/mail/m/{mailbox}/?folder=Archiv")))

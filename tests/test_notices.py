"""A user's notices: notify, the navigation's count, the page, mark read, other users see none."""
from __future__ import annotations

import re

from app_fixtures import login

from sqlalchemy import select

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin import notify
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Notice
from tricoma_mail_plugin.notices import latest, mark_read, unread_count
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.rights.catalogue import CORE_RIGHT_KEYS


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _client(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_notify_counts_and_marks_read(app, make_user):
    make_user("anna", language="en")
    bob_id = make_user("bob", language="de").id
    with app.app_context():
        anna, bob = _user("anna"), _user("bob")
        notify(bob_id, "mention", "%(author)s mentioned you in a note on “%(subject)s”",
               {"author": "Anna", "subject": "Rechnung 7"}, "/mail/1")
        notify(bob_id, "assigned", "%(actor)s assigned a conversation to you", {"actor": "Anna"}, None)
        db.session.commit()
        assert unread_count(bob) == 2
        assert unread_count(anna) == 0
        first = latest(bob)[-1]
        assert mark_read(anna, first.id) is None  # not hers
        assert unread_count(bob) == 2
        assert mark_read(bob, first.id).read_at is not None
        assert unread_count(bob) == 1


def test_a_notice_about_a_mailbox_shows_only_while_its_reader_may_read_it(app, make_user):
    bob_id = make_user("bob", language="en").id
    with app.app_context():
        mailbox = service.create_mailbox("Info", _user("bob"))
        access.grant(mailbox.id, "user", bob_id, "read")
        notify(bob_id, "mention", "%(author)s mentioned you in a note on “%(subject)s”",
               {"author": "Anna", "subject": "Secret offer"}, None, mailbox_id=mailbox.id)
        notify(bob_id, "other", "Plain notice", {}, None)
        db.session.commit()
        assert [n.text for n in latest(_user("bob"))] == ["Plain notice", "Anna mentioned you in a note on “Secret offer”"]
        for right in CORE_RIGHT_KEYS:
            access.revoke(mailbox.id, "user", bob_id, right, actor="test")
    client = _client(app, "bob")
    page = client.get("/mail/notices/").get_data(as_text=True)
    assert "Plain notice" in page and "Secret offer" not in page
    assert client.get("/mail/notices/unread").get_json()["count"] == 1
    with app.app_context():
        hidden = db.session.scalar(select(Notice.id).where(Notice.mailbox_id.is_not(None)))
    assert client.post(f"/mail/notices/{hidden}/open").status_code == 404


def test_notify_refuses_a_link_to_another_site(app, make_user):
    bob = make_user("bob")
    with app.app_context():
        for link in ("https://evil.test/", "//evil.test/x"):
            try:
                notify(bob.id, "mention", "x", {}, link)
            except ValueError:
                continue
            raise AssertionError(link)


def test_notices_page_navigation_badge_and_open(app, make_user):
    make_user("anna", language="en")
    bob = make_user("bob", language="de")
    with app.app_context():
        notify(bob.id, "mention", "%(author)s mentioned you in a note on “%(subject)s”",
               {"author": "Anna", "subject": "Rechnung 7"}, "/mail/notices/?from=note")
        db.session.commit()
        notice_id = latest(_user("bob"))[0].id
    bob_client, anna_client = _client(app, "bob"), _client(app, "anna")
    page = bob_client.get("/mail/notices/").get_data(as_text=True)
    # translated for the reader (Bob reads German), and counted in the navigation
    assert "Anna hat Sie in einer Notiz zu „Rechnung 7“ erwähnt" in page
    assert re.search(r'href="/mail/notices/"[^>]*>Hinweise <span class="badge">1</span>', page)
    assert bob_client.get("/mail/notices/unread").get_json()["count"] == 1
    # Anna sees none of it and cannot open Bob's notice
    assert anna_client.get("/mail/notices/unread").get_json() == {"count": 0, "items": [], "url": "/mail/notices/"}
    assert anna_client.post(f"/mail/notices/{notice_id}/open").status_code == 404
    opened = bob_client.post(f"/mail/notices/{notice_id}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == "/mail/notices/?from=note"
    assert bob_client.get("/mail/notices/unread").get_json()["count"] == 0
    assert re.search(r'href="/mail/notices/"[^>]*>Hinweise</a>', bob_client.get("/mail/notices/").get_data(as_text=True))


def test_read_all(app, make_user):
    bob = make_user("bob", language="en")
    with app.app_context():
        for n in range(3):
            notify(bob.id, "mention", "Note %(n)s", {"n": n}, None)
        db.session.commit()
    client = _client(app, "bob")
    answer = client.post("/mail/notices/read-all", headers={"X-Requested-With": "XMLHttpRequest"})
    assert answer.get_json()["marked"] == 3
    assert client.get("/mail/notices/unread").get_json()["count"] == 0

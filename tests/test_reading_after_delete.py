"""Deleting or moving the message one reads, as Thunderbird and Roundcube do: the reading view of
the message below it in the list it was opened from (its sort, direction and tag) opens next, else
the one above; the folder's list only when the folder has no other message (in that list). The
flash and the undo of the delete come along. From the list, the list stays.

The first tests run on the cache of test_reading_navigation's mailbox, the server's part of a
move or delete replaced by dropping the rows from the cache (what the real one does once the
server is done): the neighbour must be found before the message leaves. The last ones run against
the local mail stack, undo included."""
from __future__ import annotations

import re
from contextlib import contextmanager
from html import unescape
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, select
from test_cache_versions_pages import client_of
from test_mail_views import account, owner, pk_of, plain, subjects_on_server, undo_token  # noqa: F401 (fixtures)
from test_reading_navigation import (  # noqa: F401 (mailbox: the fixture)
    START, mailbox, neighbour, opened, raw_mail, row_links, subject_of)

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.cache import intents
from tricoma_mail_plugin.mail import message_actions
from tricoma_mail_plugin.models import CachedBody, CachedFolder, CachedMessage
from tricoma_mail_plugin.rights import access


@pytest.fixture
def server_done(app, mailbox, monkeypatch):
    """The server's part of move, delete and delete for good, done on the cache alone: the
    messages leave their folder's cache (as ``intents`` drops them once the server moved them);
    a delete names their Message-IDs for undo. Adds a Trash folder with two messages; olga may
    delete as well."""
    with app.app_context():
        olga = db.session.scalar(select(User).where(User.username == "olga"))
        access.grant(mailbox, "user", olga.id, "delete", actor="test")
        trash = CachedFolder(mailbox_id=mailbox, name="Trash", delimiter="/", flags=["\\Trash"], uidvalidity=1)
        db.session.add(trash)
        db.session.flush()
        for uid, subject in ((20, "Alter Müll"), (21, "Neuer Müll")):
            message = CachedMessage(folder_id=trash.id, uid=uid, seen=True, size=10, subject=subject,
                                    from_="Kunde <kunde@example.test>", message_id=f"<trash-{uid}@example.test>",
                                    date=START, flags="")
            db.session.add(message)
            db.session.flush()
            raw = raw_mail(subject, message.message_id)
            db.session.add(CachedBody(message_pk=message.id, mailbox_id=mailbox, raw=raw, size=len(raw)))
        db.session.commit()

    @contextmanager
    def no_server(_mailbox):
        yield None

    def leave(mailbox_row, folder_name, uids):
        session = db.session
        folder_id = session.scalar(select(CachedFolder.id).where(CachedFolder.mailbox_id == mailbox_row.id,
                                                                 CachedFolder.name == folder_name))
        pks = list(session.scalars(select(CachedMessage.id).where(CachedMessage.folder_id == folder_id,
                                                                  CachedMessage.uid.in_(list(uids)))))
        session.execute(delete(CachedBody).where(CachedBody.message_pk.in_(pks)))
        session.execute(delete(CachedMessage).where(CachedMessage.id.in_(pks)))
        session.commit()

    def move(mailbox_row, _backend, folder_name, uids, _target):
        leave(mailbox_row, folder_name, uids)
        return {}

    def delete_to_trash(mailbox_row, _backend, folder_name, uids):
        leave(mailbox_row, folder_name, uids)
        return "Trash", {}

    def delete_permanently(mailbox_row, _backend, folder_name, uids):
        leave(mailbox_row, folder_name, uids)

    monkeypatch.setattr(message_actions, "backend_for", no_server)
    monkeypatch.setattr(message_actions, "folder_for_role", lambda *_a, **_k: "Trash")
    monkeypatch.setattr(intents, "move", move)
    monkeypatch.setattr(intents, "delete", delete_to_trash)
    monkeypatch.setattr(intents, "delete_permanently", delete_permanently)
    return mailbox


def action_form(html: str) -> tuple[str, dict[str, str]]:
    """The reading view's form of actions: where it posts and its hidden fields."""
    form = re.search(r'<form method="post" action="([^"]+)" class="inline-actions">(.*?)</form>', html, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    return unescape(form.group(1)), {name: unescape(value) for name, value in fields.items()}


def act_from_reading_view(client, url: str, action: str, **more: str):
    """What the button ``action`` of the reading view at ``url`` posts."""
    target, fields = action_form(opened(client, url))
    return client.post(target, data={**fields, "action": action, **more})


def location(response) -> str:
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


QUERIES = ["", "?sort=subject&order=asc", "?sort=size", "?order=asc", "?sort=from&order=asc", "?tag=projekt"]


@pytest.mark.parametrize("query", QUERIES)
def test_delete_from_the_reading_view_opens_the_message_below_in_the_same_list(app, server_done, query):
    olga = client_of(app, "olga")
    rows = row_links(opened(olga, f"/mail/m/{server_done}/{query}"))
    # the second row goes, the third opens, in the list's order (the link carries it on)
    went = location(act_from_reading_view(olga, rows[1][0], "delete"))
    assert went == rows[2][0]
    html = opened(olga, went)
    assert subject_of(html) == rows[2][1]
    assert "1 message moved to Trash." in html and ">Undo</button>" in html
    # the message is gone from the list and the new neighbours skip it
    assert neighbour(html, "prev") == rows[0][0]
    # the last row has none below: the one above opens (of those left)
    left = [link for link, _subject in rows if link != rows[1][0]]
    assert location(act_from_reading_view(olga, left[-1], "delete")) == left[-2]


def test_move_from_the_reading_view_opens_the_next_message_with_its_flash(app, server_done):
    olga = client_of(app, "olga")
    rows = dict((subject, link) for link, subject in row_links(opened(olga, f"/mail/m/{server_done}/")))
    went = location(act_from_reading_view(olga, rows["Charlie"], "move", target="Archiv"))
    assert went == rows["Alpha"]  # older is below by default
    html = opened(olga, went)
    assert subject_of(html) == "Alpha" and "1 message moved to Archive." in html  # Archiv plays that role
    # moving with no folder chosen moves nothing and stays
    assert location(act_from_reading_view(olga, rows["Alpha"], "move")) == rows["Alpha"]


def test_without_another_message_the_folder_list_opens_in_its_order(app, server_done):
    olga = client_of(app, "olga")
    ((link, subject),) = row_links(opened(olga, f"/mail/m/{server_done}/?folder=Archiv&sort=subject"))
    assert subject == "Abgelegt" and link.endswith("?sort=subject")
    assert location(act_from_reading_view(olga, link, "delete")) == f"/mail/m/{server_done}/?folder=Archiv&sort=subject"
    # a tag's list whose last tagged message is moved away: its list, not the untagged mail
    tagged = row_links(opened(olga, f"/mail/m/{server_done}/?tag=projekt"))
    for link, _subject in tagged[:-1]:
        act_from_reading_view(olga, link, "move", target="Archiv")
    went = location(act_from_reading_view(olga, tagged[-1][0], "move", target="Archiv"))
    assert went == f"/mail/m/{server_done}/?folder=INBOX&tag=projekt"


def test_delete_for_good_in_trash_from_the_reading_view_opens_the_next_message(app, server_done):
    olga = client_of(app, "olga")
    rows = row_links(opened(olga, f"/mail/m/{server_done}/?folder=Trash&sort=subject&order=asc"))
    assert [subject for _link, subject in rows] == ["Alter Müll", "Neuer Müll"]
    asked = act_from_reading_view(olga, rows[0][0], "delete")
    assert asked.status_code == 200 and "Delete for good?" in asked.get_data(as_text=True)
    # the question goes back to the message (Cancel) and on to the next one (confirmed)
    confirm = asked.get_data(as_text=True)
    assert f'<a href="{rows[0][0]}">Cancel</a>'.replace("&", "&amp;") in confirm
    target, fields = re.search(r'action="([^"]+)" class="form"', confirm).group(1), dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', confirm))
    fields = {name: unescape(value) for name, value in fields.items()}
    went = location(olga.post(unescape(target), data={**fields, "action": "delete_forever", "confirm": "1"}))
    assert went == rows[1][0]
    assert "1 message deleted for good." in opened(olga, went)


def test_from_the_list_the_list_stays(app, server_done):
    olga = client_of(app, "olga")
    listing = f"/mail/m/{server_done}/?sort=subject&order=asc"
    rows = row_links(opened(olga, listing))
    pk = rows[1][0].split("/messages/")[1].split("?")[0]
    response = olga.post(f"/mail/m/{server_done}/actions",
                         data={"action": "delete", "ids": [pk], "folder": "INBOX", "next": listing})
    assert location(response) == listing
    assert "1 message moved to Trash." in opened(olga, listing)


def test_rights_are_unchanged_and_a_foreign_next_shows_no_neighbour(app, server_done):
    olga, paul, nina = client_of(app, "olga"), client_of(app, "paul"), client_of(app, "nina")
    rows = row_links(opened(olga, f"/mail/m/{server_done}/"))
    target, fields = action_form(opened(olga, rows[1][0]))
    # paul reads only, nina nothing: refused as before, nothing gone, no neighbour named
    for client, status in ((paul, 403), (nina, 404)):
        for action, more in (("delete", {}), ("move", {"target": "Archiv"})):
            response = client.post(target, data={**fields, "action": action, **more})
            assert response.status_code == status, (action, response.status_code)
            assert "Location" not in response.headers
    assert len(row_links(opened(olga, f"/mail/m/{server_done}/"))) == 5
    # a reading view that is not of the message acted on leads to the list, not a neighbour
    other = rows[3][0]
    response = olga.post(target, data={**fields, "action": "delete", "next": other})
    assert location(response) == f"/mail/m/{server_done}/?folder=INBOX"


# -- against the mail server: the delete and its undo, a move -------------------------------------


def test_delete_from_the_reading_view_and_undo_on_the_next_message(app, account, owner):
    mailbox_id, server, _email = account([plain("Anton"), plain("Berta"), plain("Caesar")])
    client = owner()
    query = "?sort=subject&order=asc"
    rows = row_links(opened(client, f"/mail/m/{mailbox_id}/{query}"))
    assert [subject for _link, subject in rows] == ["Anton", "Berta", "Caesar"]
    went = location(act_from_reading_view(client, rows[1][0], "delete"))
    assert went == rows[2][0]
    assert subjects_on_server(server, "Trash") == ["Berta"]
    html = opened(client, went)
    assert subject_of(html) == "Caesar" and "1 message moved to Trash." in html
    # undo from there: Berta is back, the reader stays at Caesar
    undo = re.search(r'<form method="post" action="([^"]+/undo)">', html).group(1)
    back = re.search(r'name="token" value="[^"]+">\s*<input type="hidden" name="next" value="([^"]+)"', html).group(1)
    response = client.post(undo, data={"token": undo_token(html), "next": unescape(back)})
    assert location(response) == went
    assert subjects_on_server(server, "INBOX") == ["Anton", "Berta", "Caesar"]
    assert subjects_on_server(server, "Trash") == []
    html = opened(client, went)
    assert subject_of(html) == "Caesar" and "1 message is back where it was." in html
    # Berta is in the list again, above Caesar
    assert neighbour(html, "prev") == f"/mail/m/{mailbox_id}/messages/{pk_of(app, mailbox_id, 'Berta')}{query}"

    # a move from the reading view: the next one opens, the moved one is in its new folder
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Kunden"})
    went = location(act_from_reading_view(client, neighbour(html, "prev"), "move", target="Kunden"))
    assert went == rows[2][0]
    assert subjects_on_server(server, "Kunden") == ["Berta"]
    assert "1 message moved to Kunden." in opened(client, went)

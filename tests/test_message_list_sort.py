"""Sorting a list by sender sorts by the name the list shows (display name, else address), not by
the From text as written: quotes and case do not count, accents do not either, and the pages of
the sorted list meet without gap or double."""
from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from app_fixtures import login

from hostapp.extensions import db
from tricoma_mail_plugin import FetchedBatch, MessageSummary
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.cache.listing import folder_named, list_messages
from tricoma_mail_plugin.mime.headers import sender_label, sender_sort_key
from tricoma_mail_plugin.models import CachedFolder, Mailbox

START = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
# From texts as the cache holds them, and the subject that names each
SENDERS = {
    '"Zoe Zander" <zoe@example.test>': "zoe",
    "anna@example.test": "anna",
    "Bert Berger <bert@example.test>": "bert",
    '"bernd" <aaa@example.test>': "bernd",
    "Ärger GmbH <info@example.test>": "aerger",
    "CARLA <carla@example.test>": "carla",
    "Dora Dorn <dora@example.test>": "dora",
}
EXPECTED = ["anna", "aerger", "bernd", "bert", "carla", "dora", "zoe"]


def summary(uid: int, from_: str, subject: str) -> MessageSummary:
    return MessageSummary(
        uid=uid, flags=(), size=1000, internal_date=START + timedelta(hours=uid), from_=from_,
        to="owner@example.test", cc="", subject=subject, date=START + timedelta(hours=uid),
        message_id=f"<sort-{uid}@example.test>", in_reply_to="", references="", has_attachment=False, preview="")


@pytest.fixture
def sorted_folder(app, make_mailbox):
    """A mailbox whose cached INBOX holds one message from each of ``SENDERS``, stored the way a
    sync stores them; returns the mailbox id."""
    mailbox_id = make_mailbox()
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        folder = CachedFolder(mailbox_id=mailbox_id, name="INBOX", uidvalidity=7, uidnext=1, messages=0,
                              unseen=0, flags=[])
        db.session.add(folder)
        db.session.commit()
        uids = tuple(range(1, len(SENDERS) + 1))
        summaries = tuple(summary(uid, from_, subject) for uid, (from_, subject) in zip(uids, SENDERS.items()))
        sync.store_new_messages(mailbox, folder, FetchedBatch(uids, summaries))
        db.session.commit()
    return mailbox_id


def test_a_list_sorted_by_sender_sorts_by_the_shown_name_ignoring_case_and_quotes(app, sorted_folder):
    with app.app_context():
        inbox = folder_named(sorted_folder, "INBOX")
        ascending = [m.subject for m in list_messages(inbox, "from", descending=False).messages]
        descending = [m.subject for m in list_messages(inbox, "from").messages]
        # pages of two, each after the last one's cursor, meet without gap or double
        paged, cursor = [], None
        while True:
            page = list_messages(inbox, "from", descending=False, cursor=cursor, limit=2)
            paged += [m.subject for m in page.messages]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert ascending == EXPECTED
    assert descending == EXPECTED[::-1]
    assert paged == EXPECTED


def test_the_folder_page_sorted_by_sender_lists_by_the_shown_name(app, sorted_folder):
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    data = client.get(f"/api/mail/m/{sorted_folder}/messages?folder=INBOX&sort=from&order=asc").get_json()
    assert [row["subject"] for row in data["messages"]] == EXPECTED
    assert data["messages"][1]["correspondent"] == "Ärger GmbH"


@pytest.mark.parametrize("from_", [
    *SENDERS, "Anna Müller <anna@example.test>", '"Müller, Anna" <a@example.test>', "<a@example.test>",
    '"" <a@example.test>', '"Zoe"<z@x>', "Dr. Anna <a@x>", "Anna  Maria <a@x>", " a@x ", "x@y@z", "a@b, c@d",
    "a@b (Anna)", '"a\\"b" <a@b>', "Anna <a@b", "Anna <@b>", '""Zoe"" <z@x>', "Group: a@b;", "a@b.",
    "Ελένη <e@x>", "", "   ", "Anna", "<>", '"" <>', "Anna\t<a@b>", "x" * 300,
    # encoded words (most senders' names in a European mailbox), read without the address parser
    "=?utf-8?q?J=C3=BCrgen_Kr=C3=A4mer?= <jk@x>", "=?utf-8?b?5bGx55SwIOWkqumDjg==?= <y@x>",
    "Herr =?iso-8859-1?q?M=FCller?= <m@x>", "=?utf-8?q?A?= =?utf-8?q?B?= <ab@x>", "=?utf-8?q?Zo=C3=AB?=<z@x>",
    '"=?utf-8?q?Zo=C3=AB?=" <z@x>', "=?bogus?q?x?= <a@x>", "=?utf-8?b?!!!?= <a@x>",
])
def test_the_sort_key_is_the_shown_name_folded(from_):
    shown = unicodedata.normalize("NFKD", sender_label(from_).casefold())
    assert sender_sort_key(from_) == "".join(char for char in shown if not unicodedata.combining(char))[:200]

"""The reading page's article, remembered per web process (``web/reading_page_cache.py``, issue
14 point 4): a second open of the same message does not build it again, yet every value it shows
is part of its key, so a change to any of them (written by "another process" with its own SQL,
or a different request) shows at the next open. Its forms carry the request's own CSRF token."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest
from app_fixtures import PASSWORD
from test_cache_versions_pages import client_of, other_process
from flask import template_rendered
from sqlalchemy import delete, insert, select, update

from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import (
    CachedBody,
    CachedFolder,
    CachedMessage,
    Mailbox,
    MailboxGrant,
    MailboxTag,
    RecordLink,
    TrustedSender,
    utcnow,
)
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.web import reading_page_cache
from tricoma_mail_plugin.web.mail_common import BANNER_KEY

ARTICLE = "tricoma_mail/mail/_message_article.html"
PLAIN_ID = "<reading-cache-plain@example.test>"
HTML_ID = "<reading-cache-html@example.test>"


def raw_mail(message_id: str, html: bool) -> bytes:
    message = EmailMessage()
    message["From"] = "Kunde <kunde@example.test>"
    message["To"] = "olga@example.test"
    message["Subject"] = "Angebot"
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 01 Jun 2026 09:00:00 +0000"
    message.set_content("Hallo,\nwie besprochen.\n")
    if html:
        message.add_alternative('<p style="color:#333">Hallo, <img src="https://img.example.test/a.png"></p>',
                                subtype="html")
    return message.as_bytes()


@pytest.fixture
def messages(app, make_user) -> tuple[int, int, int]:
    """olga reads and writes a mailbox whose cache holds INBOX and Archiv, with a read plain
    and a read HTML message in INBOX, bodies cached (nothing asks a mail server); (mailbox id,
    plain pk, HTML pk)."""
    olga = make_user("olga", language="en")
    with app.app_context():
        mailbox = service.create_mailbox("Vertrieb", olga)
        for right in ("read", "write", "delete"):
            access.grant(mailbox.id, "user", olga.id, right, actor="test")
        mailbox.last_sync_at = utcnow()
        inbox = CachedFolder(mailbox_id=mailbox.id, name="INBOX", delimiter="/", flags=[], uidvalidity=1)
        archive = CachedFolder(mailbox_id=mailbox.id, name="Archiv", delimiter="/", flags=[], uidvalidity=1)
        db.session.add_all([inbox, archive])
        db.session.flush()
        pks = []
        for uid, (message_id, html) in enumerate(((PLAIN_ID, False), (HTML_ID, True)), start=1):
            raw = raw_mail(message_id, html)
            message = CachedMessage(folder_id=inbox.id, uid=uid, seen=True, size=len(raw), subject="Angebot",
                                    from_="Kunde <kunde@example.test>", message_id=message_id,
                                    date=datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc))
            db.session.add(message)
            db.session.flush()
            db.session.add(CachedBody(message_pk=message.id, mailbox_id=mailbox.id, raw=raw, size=len(raw)))
            pks.append(message.id)
        db.session.commit()
        return mailbox.id, pks[0], pks[1]


@pytest.fixture
def article_renders(app):
    """How often the article template has been rendered so far (a list of one count)."""
    count = [0]

    def count_article(sender, template, context, **extra):
        if template.name == ARTICLE:
            count[0] += 1

    template_rendered.connect(count_article, app)
    try:
        yield count
    finally:
        template_rendered.disconnect(count_article, app)


def settled(client, url: str, renders: list[int]) -> None:
    """Open ``url`` once and count from there: the first page of a mailbox makes its default
    tags, which moves the tags' version."""
    opened(client, url)
    renders[0] = 0


def opened(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def article(html: str) -> str:
    return html[html.index('<article class="mail-message"'):html.index("</article>")]


def without_tokens(html: str) -> str:
    """``html`` with its CSRF tokens blanked: each request gets its own token, signed with the
    time in seconds, so two opens a second apart differ there whether or not anything changed."""
    return re.sub(r'(name="csrf_token" value=")[^"]+"', r'\1"', html)


def csrf_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


def meta_token(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', html).group(1)


def test_a_second_open_reuses_the_article_with_the_requests_own_csrf_token(app, messages, article_renders):
    mailbox_id, plain_pk, _html_pk = messages
    url = f"/mail/m/{mailbox_id}/messages/{plain_pk}"
    olga = client_of(app, "olga")
    settled(olga, url, article_renders)
    first = opened(olga, url)
    second = opened(olga, url)
    assert article_renders[0] == 1
    assert article(first) == article(second).replace(meta_token(second), meta_token(first))
    # another session of the same user: the same article, with that session's token in every form
    other = client_of(app, "olga")
    third = opened(other, url)
    assert article_renders[0] == 1
    assert csrf_tokens(article(third)) == {meta_token(third)}
    assert meta_token(third) != meta_token(first)
    assert "csrf-mark-" not in third


def test_a_remembered_article_posts_with_its_token_when_csrf_is_checked(make_app, messages):
    mailbox_id, plain_pk, _html_pk = messages
    app = make_app(WTF_CSRF_ENABLED=True)
    url = f"/mail/m/{mailbox_id}/messages/{plain_pk}"
    renders = []

    def note(sender, template, context, **extra):
        renders.append(template.name)

    template_rendered.connect(note, app)  # held by this frame: blinker keeps only a weak reference
    for _session in range(3):  # the third session's article is the one remembered from the second
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', opened(client, "/login")).group(1)
        assert client.post("/login", data={"username": "olga", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        (form_token,) = csrf_tokens(article(opened(client, url)))
        answer = client.post(f"{url}/remote-images", data={"allow": "0", "csrf_token": form_token})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    assert renders.count(ARTICLE) == 2  # the first page of the mailbox made its tags


@pytest.mark.parametrize("change", ["flag", "tag on the message", "new tag", "right taken", "mailbox renamed",
                                    "folder added", "folder renamed", "record linked", "sender trusted",
                                    "language", "newer mail arrived"])
def test_each_value_the_article_shows_changes_the_next_open(app, messages, article_renders, change):
    mailbox_id, _plain_pk, html_pk = messages
    url = f"/mail/m/{mailbox_id}/messages/{html_pk}"
    olga = client_of(app, "olga")
    settled(olga, url, article_renders)
    before = without_tokens(article(opened(olga, url)))
    assert without_tokens(article(opened(olga, url))) == before and article_renders[0] == 1  # remembered
    messages_table, folders = CachedMessage.__table__, CachedFolder.__table__
    with app.app_context():
        olga_id = db.session.scalar(select(User.id).where(User.username == "olga"))
    writes = {
        "flag": (update(messages_table).where(messages_table.c.id == html_pk).values(flagged=True),
                 "Remove flag"),
        "tag on the message": (update(messages_table).where(messages_table.c.id == html_pk).values(flags="$label1"),
                               'class="tag-chips"'),
        "new tag": (insert(MailboxTag.__table__).values(mailbox_id=mailbox_id, keyword="kundenprojekt",
                                                        name="Kundenprojekt", colour="#009999", position=9,
                                                        created_at=utcnow()),
                    '<option value="kundenprojekt">Kundenprojekt</option>'),
        "right taken": (delete(MailboxGrant.__table__).where(MailboxGrant.__table__.c.mailbox_id == mailbox_id,
                                                              MailboxGrant.__table__.c.right == "delete"),
                        None),
        "mailbox renamed": (update(Mailbox.__table__).where(Mailbox.__table__.c.id == mailbox_id)
                            .values(title="Verkauf"), "Verkauf"),
        "folder added": (insert(folders).values(mailbox_id=mailbox_id, name="Projekte", delimiter="/", flags=[],
                                                messages=0, unseen=0), '<option value="Projekte">'),
        "folder renamed": (update(folders).where(folders.c.mailbox_id == mailbox_id, folders.c.name == "Archiv")
                           .values(name="Ablage"), '<option value="Ablage">'),
        "record linked": (insert(RecordLink.__table__).values(reference="invoice:2026-0042", mailbox_id=mailbox_id,
                                                              message_id=HTML_ID, direction="received",
                                                              subject="Angebot", counterpart="", at=utcnow()),
                          "2026-0042"),
        "sender trusted": (insert(TrustedSender.__table__).values(user_id=str(olga_id), address="kunde@example.test",
                                                                  created_at=utcnow()),
                           "are always shown"),
        "language": (update(User.__table__).where(User.__table__.c.id == olga_id).values(language="de"),
                     "Antworten"),
        # the newest message had none above it in the list: now it has (the article's neighbours)
        "newer mail arrived": (insert(messages_table).values(
            folder_id=select(folders.c.id).where(folders.c.mailbox_id == mailbox_id, folders.c.name == "INBOX")
            .scalar_subquery(), uid=9, seen=True, size=10, subject="Neuer", from_addr="", flags="",
            date=datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)), 'rel="prev"'),
    }
    statement, shown = writes[change]
    other_process(app, statement)
    after = without_tokens(article(opened(olga, url)))
    assert after != before
    if shown is None:  # the right to delete was taken: its button went with it
        assert 'value="delete"' in before and 'value="delete"' not in after
    else:
        assert shown not in before and shown in after


def test_the_query_is_part_of_the_key(app, messages, article_renders):
    mailbox_id, _plain_pk, html_pk = messages
    url = f"/mail/m/{mailbox_id}/messages/{html_pk}"
    olga = client_of(app, "olga")
    settled(olga, f"{url}?view=source-of-tags", article_renders)
    formatted = opened(olga, url)
    assert 'class="mail-body" srcdoc=' in formatted and "remote image was blocked" in formatted
    as_text = opened(olga, f"{url}?view=text")
    assert "mail-body" not in as_text and '<pre class="mail-text">' in as_text
    with_images = opened(olga, f"{url}?remote=1")
    assert "remote image was blocked" not in with_images and "img.example.test" in with_images
    assert article_renders[0] == 3
    again = olga.get(url)
    assert article_renders[0] == 3
    # the page that carries its body keeps its own policy when the article is remembered
    assert "style-src 'self' 'unsafe-inline'" in again.headers["Content-Security-Policy"]
    assert article(again.get_data(as_text=True)) == article(formatted).replace(meta_token(formatted),
                                                                               meta_token(again.get_data(as_text=True)))


def test_banners_are_shown_once_and_never_remembered(app, messages, article_renders):
    mailbox_id, plain_pk, _html_pk = messages
    url = f"/mail/m/{mailbox_id}/messages/{plain_pk}"
    olga = client_of(app, "olga")
    settled(olga, url, article_renders)
    opened(olga, url)
    with olga.session_transaction() as session:
        session[BANNER_KEY] = [{"kind": "deleted", "count": 2, "mailbox_id": mailbox_id, "token": "t"}]
    with_banner = opened(olga, url)
    assert "2 messages moved to Trash." in with_banner
    without = opened(olga, url)
    assert "moved to Trash" not in without
    assert article_renders[0] == 2  # the first, and the page with the banner for itself alone


def test_a_page_without_banners_leaves_the_session_cookie_alone(app, messages):
    mailbox_id, plain_pk, _html_pk = messages
    url = f"/mail/m/{mailbox_id}/messages/{plain_pk}"
    olga = client_of(app, "olga")
    opened(olga, f"{url}?view=text")  # session fields a first page may set (CSRF) are set now
    for _open in range(2):  # built, then remembered: neither writes the session
        assert "Set-Cookie" not in olga.get(url).headers


def test_articles_are_remembered_for_a_while_only(app, messages, article_renders, monkeypatch):
    mailbox_id, plain_pk, _html_pk = messages
    url = f"/mail/m/{mailbox_id}/messages/{plain_pk}"
    olga = client_of(app, "olga")
    settled(olga, url, article_renders)
    opened(olga, url)
    monkeypatch.setattr(reading_page_cache, "SECONDS", 0.0)
    opened(olga, url)
    assert article_renders[0] == 2


def test_only_so_many_articles_are_kept(app, messages, article_renders, monkeypatch):
    mailbox_id, plain_pk, html_pk = messages
    olga = client_of(app, "olga")
    settled(olga, f"/mail/m/{mailbox_id}/messages/{plain_pk}", article_renders)
    monkeypatch.setattr(reading_page_cache, "ENTRIES", 1)
    for _round in range(2):  # each open pushes the other message's article out
        for pk in (plain_pk, html_pk):
            opened(olga, f"/mail/m/{mailbox_id}/messages/{pk}")
    assert article_renders[0] == 4
    monkeypatch.setattr(reading_page_cache, "ENTRIES", 64)
    monkeypatch.setattr(reading_page_cache, "MAX_CHARACTERS", 10)  # no article is that short
    opened(olga, f"/mail/m/{mailbox_id}/messages/{plain_pk}")
    opened(olga, f"/mail/m/{mailbox_id}/messages/{plain_pk}")
    assert article_renders[0] == 6

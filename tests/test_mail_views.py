"""The v1 mail client in the browser's place (SPEC M7, M8, M9, X1, X3): lists, reading, safe
bodies and downloads, flags, move, delete to Trash with undo, permanent delete only after asking,
search, the unified inbox and its rights, compose, send with undo, drafts, uploads, CSRF.

Everything runs through the Flask test client against the real local Dovecot and SMTP stack
(mail is put on the server over IMAP, then synced)."""
from __future__ import annotations

import re
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from datetime import datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select, update

from app_fixtures import _fresh_account, login
from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.cache import refresh, sync
from tricoma_mail_plugin.mail import message_actions, upload_store
from tricoma_mail_plugin.mail.reply_prefill import split_recipients
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox, OutboxItem

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


# -- mail to put on the server -------------------------------------------------------------------


def plain(subject: str, body: str = "Hallo,\nwie besprochen.\n", sender: str = "Kunde <kunde@example.test>",
          to: str = "owner@example.test", when: datetime | None = None, cc: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.test")
    message["Date"] = format_datetime(when or datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc))
    message.set_content(body)
    return message.as_bytes()


def html_mail(subject: str, html: str, sender: str = "Newsletter <news@example.test>", with_image: bool = True) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "owner@example.test"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.test")
    message["Date"] = format_datetime(datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc))
    message.set_content("Die Textfassung.\n")
    message.add_alternative(html, subtype="html")
    if with_image:
        message.get_payload()[1].add_related(PNG, "image", "png", cid="<logo@example.test>", filename="logo.png")
    return message.as_bytes()


def with_attachments(subject: str, parts: list[tuple[str, str, bytes]]) -> bytes:
    message = EmailMessage()
    message["From"] = "Lieferant <lieferant@example.test>"
    message["To"] = "owner@example.test"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.test")
    message["Date"] = format_datetime(datetime(2026, 6, 3, 9, 0, tzinfo=timezone.utc))
    message.set_content("Anbei die Unterlagen.\n")
    for filename, content_type, data in parts:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype, subtype, filename=filename)
    return message.as_bytes()


# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def account(app, make_mailbox, mailstack, imap_client):
    """Factory: a mailbox of the owner with ``messages`` in its INBOX, synced; returns
    (mailbox id, IMAP client of the account, e-mail address)."""

    def make(messages=(), profile=1, title=None, tested=False):
        email, password = _fresh_account(mailstack, profile)
        mailbox_id = make_mailbox(profile, email, password, title=title)
        server = imap_client(profile, email, password)
        if messages:
            server.multiappend("INBOX", list(messages))
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            if tested:
                assert service.run_test(mailbox)
                assert mailbox.last_test_ok
            refresh.run_sync(mailbox)
        return mailbox_id, server, email

    return make


@pytest.fixture
def owner(app, make_mailbox):
    client = app.test_client()

    def logged_in():
        assert login(client, "owner").status_code == 302
        return client

    return logged_in


def page(response) -> str:
    return response.get_data(as_text=True)


def rows(app, mailbox_id: int, folder: str = "INBOX") -> list[CachedMessage]:
    with app.app_context():
        return list(db.session.scalars(
            select(CachedMessage).join(CachedFolder).where(CachedFolder.mailbox_id == mailbox_id,
                                                           CachedFolder.name == folder)
            .order_by(CachedMessage.uid)))


def pk_of(app, mailbox_id: int, subject: str, folder: str = "INBOX") -> int:
    return next(m.id for m in rows(app, mailbox_id, folder) if m.subject == subject)


def subjects_on_server(server, folder: str) -> list[str]:
    server.select_folder(folder, readonly=True)
    uids = server.search(["ALL"])
    if not uids:
        return []
    fetched = server.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return sorted(data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
                  for data in fetched.values())


def listed_subjects(html: str) -> list[str]:
    return [unescape(s) for s in re.findall(r'<td class="subject"><a href="[^"]+">([^<]*)</a>', html)]


def next_link(html: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def undo_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


# -- lists ----------------------------------------------------------------------------------------


def test_folder_lists_pages_of_fifty_sorted_with_markers(app, account, owner):
    start = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    messages = [plain(f"Anfrage {n:03d}", when=start + timedelta(hours=n)) for n in range(120)]
    messages.append(with_attachments("Mit Anhang", [("liste.csv", "text/csv", b"a;b\n")]))
    mailbox_id, server, _email = account(messages)
    client = owner()

    first = page(client.get(f"/mail/m/{mailbox_id}/"))
    subjects = listed_subjects(first)
    assert len(subjects) == 50
    assert subjects[:2] == ["Mit Anhang", "Anfrage 119"]  # newest first
    assert 'class="unread' in first and "attachment-marker" in first
    assert 'name="ids"' in first and 'aria-label="Select: Anfrage 119"' in first

    seen = list(subjects)
    link = next_link(first)
    while link:
        html = page(client.get(link))
        seen.extend(listed_subjects(html))
        link = next_link(html)
    assert len(seen) == 121 and len(set(seen)) == 121

    ascending = listed_subjects(page(client.get(f"/mail/m/{mailbox_id}/?sort=subject&order=asc")))
    assert ascending[:3] == ["Anfrage 000", "Anfrage 001", "Anfrage 002"]
    by_size = listed_subjects(page(client.get(f"/mail/m/{mailbox_id}/?sort=size")))
    assert by_size[0] == "Mit Anhang"
    assert client.get(f"/mail/m/{mailbox_id}/?cursor=not-a-cursor").status_code == 302

    nav = page(client.get("/mail/"))
    assert "Unified inbox" in nav and '<span class="badge">121</span>' in nav


def test_reading_plain_text_is_escaped_and_marks_read(app, account, owner):
    mailbox_id, server, _email = account([plain("Skript?", body="<script>alert(1)</script>\n<b>fett</b>\n")])
    client = owner()
    pk = pk_of(app, mailbox_id, "Skript?")
    html = page(client.get(f"/mail/m/{mailbox_id}/messages/{pk}"))
    assert '<pre class="mail-text">&lt;script&gt;alert(1)&lt;/script&gt;' in html
    assert "<script>alert" not in html and "<iframe" not in html
    assert rows(app, mailbox_id)[0].seen
    server.select_folder("INBOX", readonly=True)
    assert b"\\Seen" in list(server.fetch(server.search(["ALL"]), ["FLAGS"]).values())[0][b"FLAGS"]


def test_the_reading_page_counts_the_message_it_opens_as_read(app, account, owner):
    mailbox_id, _server, _email = account([plain("Erste"), plain("Zweite")])
    client = owner()
    assert '<span class="badge">2</span>' in page(client.get(f"/mail/m/{mailbox_id}/"))
    html = page(client.get(f"/mail/m/{mailbox_id}/messages/{pk_of(app, mailbox_id, 'Erste')}"))
    assert '<span class="badge">1</span>' in html and '<span class="badge">2</span>' not in html


def test_addresses_in_plain_text_are_links_that_open_apart(app, account, owner):
    body = ("Die Seite ( http://freehackers.test/kvim/bilder.html ) und www.example.test.\n"
            "Fragen an <info@firma.test>; javascript:alert(1) bleibt Text.\n<b>fett</b>\n"
            "Anna schrieb:\n> Zitat mit www.zitat.test\n")
    mailbox_id, _server, _email = account([plain("Mit Adressen", body=body)])
    client = owner()
    pk = pk_of(app, mailbox_id, "Mit Adressen")
    opens = 'rel="noopener noreferrer" target="_blank"'
    for url in (f"/mail/m/{mailbox_id}/messages/{pk}", f"/mail/m/{mailbox_id}/messages/{pk}/body"):
        html = page(client.get(url))  # the reading page, and the body document of the v2 client's frame
        assert f'<a href="http://freehackers.test/kvim/bilder.html" {opens}>http://freehackers.test/kvim/bilder.html</a> )' in html
        assert f'<a href="https://www.example.test" {opens}>www.example.test</a>.' in html
        if url.endswith("/body"):  # the frame's: a mailto link
            assert '&lt;<a href="mailto:info@firma.test">info@firma.test</a>&gt;;' in html
        else:  # the reading page's: a new mail to it from this mailbox, in the same tab
            assert (f'&lt;<a href="/mail/m/{mailbox_id}/compose?to=info@firma.test">info@firma.test</a>&gt;;'
                    in html)
        assert "javascript:alert(1) bleibt Text" in html and "&lt;b&gt;fett&lt;/b&gt;" in html
        assert 'href="javascript' not in html
        assert f'<span class="quote-1">&gt; Zitat mit <a href="https://www.zitat.test" {opens}>www.zitat.test</a>' in html


def test_html_body_only_in_a_sandboxed_frame_under_a_strict_csp(app, account, owner):
    markup = ('<p>Hallo <b>Welt</b></p><script>alert(1)</script><img src="cid:logo@example.test" alt="Logo">'
              '<img src="https://tracker.example.com/pixel.gif" alt="x"><a href="javascript:alert(2)">klick</a>'
              '<div onclick="alert(3)">x</div>')
    mailbox_id, _server, _email = account([html_mail("Newsletter", markup)])
    client = owner()
    pk = pk_of(app, mailbox_id, "Newsletter")

    response = client.get(f"/mail/m/{mailbox_id}/messages/{pk}")
    reading = page(response)
    frame = re.search(r"<iframe[^>]*>", reading).group(0)
    assert 'sandbox="' in frame and "allow-scripts" not in frame and "allow-same-origin" not in frame
    assert "Hallo <b>Welt</b>" not in reading  # the body is never part of the app's page's own markup
    assert "1 remote image was blocked" in reading
    body_url = unescape(re.search(r'data-body-url="([^"]+/body[^"]*)"', frame).group(1))
    # the body document rides in srcdoc, an escaped attribute (one request to open the message)
    assert ' src="' not in frame
    inline = unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert "Hallo <b>Welt</b>" in inline and 'http-equiv="Content-Security-Policy"' in inline
    assert "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'" in inline
    for bad in ("<script", "alert(", "onclick", "javascript:", "tracker.example.com"):
        assert bad not in inline
    # the frame inherits the page's CSP: inline styles for the mail, never a script of any kind
    page_csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page_csp and "style-src 'self' 'unsafe-inline'" in page_csp
    assert "img-src 'self' data:;" in page_csp and "frame-ancestors 'self'" in page_csp
    assert "unsafe-eval" not in page_csp and "script-src 'self' 'unsafe" not in page_csp
    allowed_once = client.get(f"/mail/m/{mailbox_id}/messages/{pk}?remote=1")
    assert "img-src 'self' data: https://tracker.example.com;" in allowed_once.headers["Content-Security-Policy"]
    frame = re.search(r"<iframe[^>]*>", page(allowed_once)).group(0)
    assert "https://tracker.example.com/pixel.gif" in unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert "remote=1" in re.search(r'data-body-url="([^"]*)"', frame).group(1)

    response = client.get(body_url)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "img-src 'self' data:" in csp and "style-src 'unsafe-inline'" in csp
    assert "script-src" not in csp and "sandbox" in csp and "tracker.example.com" not in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    body = page(response)
    assert "<b>Welt</b>" in body
    for bad in ("<script", "alert(", "onclick", "javascript:", "tracker.example.com"):
        assert bad not in body
    inline = re.search(r'<img src="([^"]+/parts/[^"]+)"', body).group(1)
    image = client.get(unescape(inline))
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    # the sandboxed frame asks without the session cookie: its signed token names the user
    anonymous = app.test_client()
    assert anonymous.get(unescape(inline)).data == PNG
    assert anonymous.get(unescape(inline)[:-3] + "abc").status_code == 302
    assert anonymous.get(re.sub(r"/parts/[0-9.]+", "/parts/1", unescape(inline))).status_code == 302
    assert anonymous.get(unescape(inline).split("?")[0]).status_code == 302

    assert client.get(body_url).headers["X-Remote-Images-Blocked"] == "1"  # for a client that frames it alone
    once = client.get(body_url + "?remote=1")
    assert once.headers["X-Remote-Images-Blocked"] == "0"
    assert "https://tracker.example.com" in once.headers["Content-Security-Policy"]
    assert "https://tracker.example.com/pixel.gif" in page(once)
    assert "tracker.example.com" not in client.get(body_url).headers["Content-Security-Policy"]

    client.post(f"/mail/m/{mailbox_id}/messages/{pk}/remote-images", data={"allow": "1"})
    assert "https://tracker.example.com/pixel.gif" in page(client.get(body_url))
    assert "are always shown" in page(client.get(f"/mail/m/{mailbox_id}/messages/{pk}"))
    client.post(f"/mail/m/{mailbox_id}/messages/{pk}/remote-images", data={"allow": "0"})
    assert "tracker.example.com" not in page(client.get(body_url))

    source = client.get(f"/mail/m/{mailbox_id}/messages/{pk}/source")
    assert source.mimetype == "text/plain" and source.headers["X-Content-Type-Options"] == "nosniff"
    assert "Subject: Newsletter" in page(source)
    printed = page(client.get(f"/mail/m/{mailbox_id}/messages/{pk}/print"))
    assert "Die Textfassung." in printed and "<script>" not in printed.split("</dl>")[1].split("<script src")[0]


def test_a_body_over_the_inline_limit_is_loaded_by_the_frame_from_its_route(app, account, owner):
    """Up to TRICOMA_MAIL_INLINE_BODY_MAX_BYTES the page carries the body (srcdoc); above it the
    frame asks the body route, and the page keeps the host's CSP (no inline styles)."""
    assert app.config["TRICOMA_MAIL_INLINE_BODY_MAX_BYTES"] == 256 * 1024
    mailbox_id, _server, _email = account([html_mail("Kurz", "<p>Kurz und <b>knapp</b></p>", with_image=False),
                                           html_mail("Lang", "<p>" + "Zahnrad " * 40_000 + "</p>", with_image=False)])
    client = owner()
    for subject, inline in (("Kurz", True), ("Lang", False)):
        response = client.get(f"/mail/m/{mailbox_id}/messages/{pk_of(app, mailbox_id, subject)}")
        frame = re.search(r"<iframe[^>]*>", page(response)).group(0)
        assert ("srcdoc=" in frame) is inline and (' src="' in frame) is not inline, (subject, frame[:300])
        assert ("'unsafe-inline'" in response.headers["Content-Security-Policy"]) is inline, subject
        body_url = unescape(re.search(r'data-body-url="([^"]+/body)"', frame).group(1))
        if not inline:
            assert unescape(re.search(r' src="([^"]+)"', frame).group(1)) == body_url
            body = client.get(body_url)
            assert "sandbox" in body.headers["Content-Security-Policy"] and page(body).count("Zahnrad") == 40_000
    app.config["TRICOMA_MAIL_INLINE_BODY_MAX_BYTES"] = 100
    frame = re.search(r"<iframe[^>]*>", page(client.get(
        f"/mail/m/{mailbox_id}/messages/{pk_of(app, mailbox_id, 'Kurz')}"))).group(0)
    assert "srcdoc=" not in frame and ' src="' in frame


def test_huge_and_deeply_nested_html_is_cut_with_a_notice(app, account, owner):
    nested = "<div>" * 3000 + "tief" + "</div>" * 3000
    huge = "<p>" + "Zahnrad " * 200_000 + "</p>"
    mailbox_id, _server, _email = account([html_mail("Tief", nested, with_image=False),
                                           html_mail("Riesig", huge, with_image=False)])
    client = owner()
    for subject in ("Tief", "Riesig"):
        pk = pk_of(app, mailbox_id, subject)
        started = time.monotonic()
        reading = page(client.get(f"/mail/m/{mailbox_id}/messages/{pk}"))
        assert "Only part of it is shown" in reading
        body = client.get(f"/mail/m/{mailbox_id}/messages/{pk}/body")
        assert body.status_code == 200
        assert time.monotonic() - started < 10


def test_attachments_download_safely(app, account, owner):
    mailbox_id, _server, _email = account([with_attachments("Unterlagen", [
        ("../../x.html", "text/html", b"<script>alert(1)</script>"),
        ("bild.svg", "image/svg+xml", b"<svg onload='alert(1)'/>"),
        ("rechnung.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n"),
        ("Übersicht.png", "image/png", PNG),
    ])])
    client = owner()
    pk = pk_of(app, mailbox_id, "Unterlagen")
    reading = page(client.get(f"/mail/m/{mailbox_id}/messages/{pk}"))
    links = dict((unescape(name), unescape(url)) for url, name in
                 re.findall(r'<a href="([^"]+/attachments/[^"]+)" download>([^<]+)</a>', reading))
    assert set(links) == {"x.html", "bild.svg", "rechnung.pdf", "Übersicht.png"}

    for name in ("x.html", "bild.svg"):
        for suffix in ("", "?inline=1"):
            response = client.get(links[name] + suffix)
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert response.headers["Content-Disposition"].startswith("attachment;")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    html_download = client.get(links["x.html"]).headers["Content-Disposition"]
    assert "filename*=UTF-8''x.html" in html_download and ".." not in html_download and "/" not in html_download

    pdf = client.get(links["rechnung.pdf"])
    assert pdf.headers["Content-Disposition"].startswith("attachment;") and pdf.mimetype == "application/pdf"
    assert client.get(links["rechnung.pdf"] + "?inline=1").headers["Content-Disposition"].startswith("inline;")
    png = client.get(links["Übersicht.png"])
    assert "filename*=UTF-8''%C3%9Cbersicht.png" in png.headers["Content-Disposition"]
    assert client.get(f"/mail/m/{mailbox_id}/messages/{pk}/attachments/99").status_code == 404
    assert client.get(f"/mail/m/{mailbox_id}/messages/{pk}/attachments/..%2F1").status_code == 404


# -- actions --------------------------------------------------------------------------------------


def test_flags_and_move(app, account, owner):
    mailbox_id, server, _email = account([plain("Eins"), plain("Zwei"), plain("Drei")])
    client = owner()
    one, two = pk_of(app, mailbox_id, "Eins"), pk_of(app, mailbox_id, "Zwei")
    response = client.post(f"/mail/m/{mailbox_id}/actions", data={"action": "flag", "ids": [one, two], "folder": "INBOX"})
    assert response.status_code == 302
    client.post(f"/mail/m/{mailbox_id}/actions", data={"action": "read", "ids": [one], "folder": "INBOX"})
    server.select_folder("INBOX", readonly=True)
    flags = {data[b"ENVELOPE"].subject.decode(): data[b"FLAGS"]
             for data in server.fetch(server.search(["ALL"]), ["FLAGS", "ENVELOPE"]).values()}
    assert b"\\Flagged" in flags["Eins"] and b"\\Seen" in flags["Eins"]
    assert b"\\Flagged" in flags["Zwei"] and b"\\Seen" not in flags["Zwei"]
    assert b"\\Flagged" not in flags["Drei"]
    listing = page(client.get(f"/mail/m/{mailbox_id}/"))
    assert "2 messages flagged." in listing and listing.count('class="marker flag-marker"') == 2

    client.post(f"/mail/m/{mailbox_id}/actions", data={"action": "unread", "ids": [one], "folder": "INBOX"})
    assert not next(m for m in rows(app, mailbox_id) if m.id == one).seen

    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Kunden"})
    response = client.post(f"/mail/m/{mailbox_id}/actions",
                           data={"action": "move", "ids": [two], "folder": "INBOX", "target": "Kunden"})
    assert response.status_code == 302
    assert subjects_on_server(server, "Kunden") == ["Zwei"]
    assert subjects_on_server(server, "INBOX") == ["Drei", "Eins"]
    assert "Zwei" in listed_subjects(page(client.get(f"/mail/m/{mailbox_id}/?folder=Kunden")))


def test_delete_goes_to_trash_and_can_be_undone(app, account, owner):
    mailbox_id, server, _email = account([plain("Weg damit"), plain("Bleibt")])
    client = owner()
    doomed = pk_of(app, mailbox_id, "Weg damit")
    response = client.post(f"/mail/m/{mailbox_id}/actions",
                           data={"action": "delete", "ids": [doomed], "folder": "INBOX", "next": f"/mail/m/{mailbox_id}/"})
    assert response.status_code == 302
    assert subjects_on_server(server, "Trash") == ["Weg damit"]
    assert subjects_on_server(server, "INBOX") == ["Bleibt"]
    listing = page(client.get(f"/mail/m/{mailbox_id}/"))
    assert "1 message moved to Trash." in listing
    token = undo_token(listing)

    response = client.post(f"/mail/m/{mailbox_id}/undo", data={"token": token, "next": f"/mail/m/{mailbox_id}/"})
    assert response.status_code == 302
    assert subjects_on_server(server, "INBOX") == ["Bleibt", "Weg damit"]
    assert subjects_on_server(server, "Trash") == []
    assert "back where it was" in page(client.get(f"/mail/m/{mailbox_id}/"))
    # a token is good for one undo only
    client.post(f"/mail/m/{mailbox_id}/undo", data={"token": token})
    assert "can no longer be undone" in page(client.get(f"/mail/m/{mailbox_id}/"))


def test_permanent_delete_and_empty_trash_ask_first(app, account, owner):
    mailbox_id, server, _email = account([plain("Alt 1"), plain("Alt 2")])
    client = owner()
    client.post(f"/mail/m/{mailbox_id}/actions",
                data={"action": "delete", "ids": [pk_of(app, mailbox_id, "Alt 1"), pk_of(app, mailbox_id, "Alt 2")],
                      "folder": "INBOX"})
    in_trash = pk_of(app, mailbox_id, "Alt 1", "Trash")

    asked = client.post(f"/mail/m/{mailbox_id}/actions", data={"action": "delete", "ids": [in_trash], "folder": "Trash"})
    assert asked.status_code == 200 and "Delete for good?" in page(asked) and 'name="confirm"' in page(asked)
    assert subjects_on_server(server, "Trash") == ["Alt 1", "Alt 2"]
    unticked = client.post(f"/mail/m/{mailbox_id}/actions",
                           data={"action": "delete_forever", "ids": [in_trash], "folder": "Trash", "asked": "1"})
    assert unticked.status_code == 400 and subjects_on_server(server, "Trash") == ["Alt 1", "Alt 2"]
    client.post(f"/mail/m/{mailbox_id}/actions",
                data={"action": "delete_forever", "ids": [in_trash], "folder": "Trash", "confirm": "1"})
    assert subjects_on_server(server, "Trash") == ["Alt 2"]
    # outside Trash "delete for good" is refused: it only ever moves to Trash
    client.post(f"/mail/m/{mailbox_id}/actions", data={"action": "delete_forever", "confirm": "1",
                                                        "ids": [pk_of(app, mailbox_id, "Alt 2", "Trash")], "folder": "Trash"})

    mailbox_id2, server2, _ = account([plain("Noch da")])
    question = client.get(f"/mail/m/{mailbox_id2}/empty-trash")
    assert question.status_code == 200 and 'name="confirm"' in page(question)
    client.post(f"/mail/m/{mailbox_id2}/actions",
                data={"action": "delete", "ids": [pk_of(app, mailbox_id2, "Noch da")], "folder": "INBOX"})
    refused = client.post(f"/mail/m/{mailbox_id2}/empty-trash", data={})
    assert refused.status_code == 400 and subjects_on_server(server2, "Trash") == ["Noch da"]
    done = client.post(f"/mail/m/{mailbox_id2}/empty-trash", data={"confirm": "1"})
    assert done.status_code == 302 and subjects_on_server(server2, "Trash") == []


def test_folders_are_created_renamed_and_deleted(app, account, owner):
    mailbox_id, server, _email = account([plain("Hallo")])
    client = owner()
    assert client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Projekte"}).status_code == 302
    assert client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "rename", "folder": "Projekte",
                                                              "name": "Projekte 2026"}).status_code == 302
    names = {name for _flags, _delim, name in server.list_folders()}
    assert "Projekte 2026" in names and "Projekte" not in names
    bad = client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "a*b"})
    assert bad.status_code == 400 and "must not contain" in page(bad)
    unconfirmed = client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "delete", "folder": "Projekte 2026"})
    assert unconfirmed.status_code == 400
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "delete", "folder": "Projekte 2026", "confirm": "1"})
    assert "Projekte 2026" not in {name for _f, _d, name in server.list_folders()}
    with app.app_context():  # each change of the server's folders is in the mailbox's audit log
        from tricoma_mail_plugin.models import AuditEntry

        logged = [(e.action, e.details.get("folder")) for e in db.session.query(AuditEntry).filter(
            AuditEntry.mailbox_id == mailbox_id, AuditEntry.action.like("folder_%")).order_by(AuditEntry.id)]
    assert logged == [("folder_created", "Projekte"), ("folder_renamed", "Projekte"), ("folder_deleted", "Projekte 2026")]
    tree = page(client.get(f"/mail/m/{mailbox_id}/"))
    for label in ("Inbox", "Drafts", "Sent", "Trash"):
        assert f'<span class="folder-label">{label}</span>' in tree


def test_messages_name_folders_as_the_folder_list_does(app, account, owner):
    """Not by the server's name ("INBOX.Drafts", "Projekte/Kunde B"): by the role's word and
    the path of labels."""
    mailbox_id, server, _email = account([plain("Auftrag")], profile=2)  # the hoster: INBOX. before every name
    client = owner()
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Projekte"})
    projects = next(name for _f, _d, name in server.list_folders() if name.endswith("Projekte"))
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Kunde B", "parent": projects})
    target = next(name for _f, _d, name in server.list_folders() if name.endswith("Kunde B"))
    moved = client.post(f"/mail/m/{mailbox_id}/actions", follow_redirects=True, data={
        "action": "move", "target": target, "ids": [pk_of(app, mailbox_id, "Auftrag")], "folder": "INBOX"})
    assert "1 message moved to Inbox › Projekte › Kunde B." in page(moved)  # the hoster keeps folders in the inbox
    assert "The folder Kunde B is created." in page(moved) and "The folder INBOX." not in page(moved)
    form = compose_form(client, mailbox_id)
    form.update(subject="Entwurf", body="Text", action="draft")
    saved = page(client.post(f"/mail/m/{mailbox_id}/compose", data=form, follow_redirects=True))
    assert "The draft is saved in Drafts." in saved and "INBOX.Drafts" not in saved


def test_a_folder_with_mail_or_subfolders_goes_to_the_trash_and_a_name_left_without_mail_lists(app, account, owner):
    """As in Thunderbird, a folder that holds mail or subfolders is moved into the Trash with
    them (it could not be deleted at all; deleting moves to Trash, always), a second one of the
    same name beside the first; in the Trash it is deleted for good, its subfolders first (a
    server keeps a parent listed but unselectable while it has children). Such a name left by
    another mail program, and a folder whose status the server refuses, do not stop the folder
    page."""
    mailbox_id, server, _email = account([plain("Hallo")], tested=True)  # a mailbox in use: synced
    delimiter = server.list_folders()[0][1].decode()
    client = owner()
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Kunden"})
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Meier", "parent": "Kunden"})
    server.append(f"Kunden{delimiter}Meier", plain("Angebot Meier"))
    trashed = client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "delete", "folder": "Kunden", "confirm": "1"},
                          follow_redirects=True)
    assert "The folder Kunden is moved to the Trash with its content." in page(trashed)
    names = {name for _f, _d, name in server.list_folders()}
    assert "Kunden" not in names and {f"Trash{delimiter}Kunden", f"Trash{delimiter}Kunden{delimiter}Meier"} <= names
    server.select_folder(f"Trash{delimiter}Kunden{delimiter}Meier")
    assert len(server.search(["SUBJECT", "Angebot Meier"])) == 1  # the mail went with it
    with app.app_context():  # and is listed there at once, not after the next sync
        moved = db.session.scalar(select(CachedFolder).where(
            CachedFolder.mailbox_id == mailbox_id, CachedFolder.name == f"Trash{delimiter}Kunden{delimiter}Meier"))
        assert moved.messages == 1
    # deleting from the Trash is for good: those folders are apart, by their path, and say so
    choices = page(client.get(f"/mail/m/{mailbox_id}/folders")).split('id="delete-folder"')[1].split("</select>")[0]
    kept, trash_group = choices.split('<optgroup label="In the Trash: deleted for good">')
    assert f'value="Trash{delimiter}Kunden{delimiter}Meier">Trash › Kunden › Meier</option>' in trash_group
    assert "Trash" not in kept
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Kunden"})
    server.append("Kunden", plain("Zweites Angebot"))
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "delete", "folder": "Kunden", "confirm": "1"})
    assert f"Trash{delimiter}Kunden 2" in {name for _f, _d, name in server.list_folders()}
    with app.app_context():
        assert [entry.details.get("new") for entry in access.audit_log(mailbox_id) if entry.action == "folder_trashed"] == [
            f"Trash{delimiter}Kunden 2", f"Trash{delimiter}Kunden"]
    gone = client.post(f"/mail/m/{mailbox_id}/folders",
                       data={"action": "delete", "folder": f"Trash{delimiter}Kunden", "confirm": "1"}, follow_redirects=True)
    assert "The folder Trash › Kunden is deleted for good." in page(gone)
    assert not {name for _f, _d, name in server.list_folders()
                if name == f"Trash{delimiter}Kunden" or name.startswith(f"Trash{delimiter}Kunden{delimiter}")}
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Alt"})
    client.post(f"/mail/m/{mailbox_id}/folders", data={"action": "create", "name": "Unter", "parent": "Alt"})
    server.delete_folder("Alt")  # another program: Dovecot keeps "Alt" listed, and STATUS refuses it
    assert "Alt" in {name for _f, _d, name in server.list_folders()}
    deleted = client.post(f"/mail/m/{mailbox_id}/folders",
                          data={"action": "delete", "folder": f"Alt{delimiter}Unter", "confirm": "1"})
    assert deleted.status_code == 302  # the refused STATUS of "Alt" does not stop the folder list
    assert f"Alt{delimiter}Unter" not in {name for _f, _d, name in server.list_folders()}


# -- search ---------------------------------------------------------------------------------------


def test_search_headers_body_dates_attachment_unread(app, account, owner):
    mailbox_id, server, _email = account([
        plain("Angebot Zahnräder", body="Wir liefern Zahnräder aus Messing.\n",
              when=datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)),
        plain("Rechnung 17", body="Bitte zahlen.\n", sender="Buchhaltung <buha@example.test>",
              when=datetime(2026, 4, 10, 9, 0, tzinfo=timezone.utc)),
        with_attachments("Lieferschein", [("ls.pdf", "application/pdf", b"%PDF-1.4\n")]),
    ])
    client = owner()

    def found(**query):
        return listed_subjects(page(client.get(f"/mail/m/{mailbox_id}/search", query_string=query)))

    assert found(subject="angebot") == ["Angebot Zahnräder"]
    results = page(client.get(f"/mail/m/{mailbox_id}/search", query_string={"subject": "angebot"}))
    for column in ("sort-from", "sort-subject", "sort-date", "sort-size"):  # the widths of the folder list
        assert f'<th scope="col" class="{column}">' in results, column
    assert found(q="messing") == ["Angebot Zahnräder"]  # body text, from the local index
    assert found(**{"from": "buchhaltung"}) == ["Rechnung 17"]
    assert found(since="2026-04-01", until="2026-04-30") == ["Rechnung 17"]
    assert found(until="2026-03-10") == ["Angebot Zahnräder"]
    assert found(attachment="1") == ["Lieferschein"]
    client.get(f"/mail/m/{mailbox_id}/messages/{pk_of(app, mailbox_id, 'Rechnung 17')}")
    assert sorted(found(unread="1")) == ["Angebot Zahnräder", "Lieferschein"]
    assert "Enter a date like" in page(client.get(f"/mail/m/{mailbox_id}/search?since=gestern"))

    # new mail, synced but not indexed yet: the page offers the server's search, which finds it
    server.append("INBOX", plain("Mahnung", body="Bitte umgehend zahlen.\n"))
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            sync.sync_folder(mailbox, backend, "INBOX")
    result = page(client.get(f"/mail/m/{mailbox_id}/search?q=zahlen"))
    assert listed_subjects(result) == ["Rechnung 17"] and "Search on the server" in result
    server_link = unescape(re.search(r'<a href="([^"]+server=1[^"]*)">', result).group(1))
    assert sorted(listed_subjects(page(client.get(server_link)))) == ["Mahnung", "Rechnung 17"]


# -- the unified inbox and rights -----------------------------------------------------------------


def test_mark_all_as_read_reads_the_whole_folder_with_the_write_right_only(app, account, owner, make_user, monkeypatch):
    monkeypatch.setattr(message_actions, "READ_ALL_BATCH", 25)  # 60 messages: three flag changes
    start = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
    mailbox_id, server, _email = account([plain(f"Offen {n:02d}", when=start + timedelta(hours=n)) for n in range(60)])
    make_user("rita", language="en")
    with app.app_context():
        rita = db.session.scalar(select(User).where(User.username == "rita"))
        access.grant(mailbox_id, "user", rita.id, "read")
    reader = app.test_client()
    login(reader, "rita")
    read_only = page(reader.get(f"/mail/m/{mailbox_id}/"))
    assert "Mark all as read" not in read_only  # read only: no button
    assert 'class="message-list read-only"' in read_only  # and no boxes to tick for actions it may not take
    assert reader.post(f"/mail/m/{mailbox_id}/read-all", data={"folder": "INBOX"}).status_code == 403
    assert not any(row.seen for row in rows(app, mailbox_id))

    client = owner()
    listing = page(client.get(f"/mail/m/{mailbox_id}/"))
    assert "Mark all as read" in listing and '<span class="badge">60</span>' in listing
    server.append("INBOX", plain("Neu seit dem letzten Abgleich"))  # on the server, not in the cache yet
    done = client.post(f"/mail/m/{mailbox_id}/read-all", data={"folder": "INBOX"}, follow_redirects=True)
    html = page(done)
    assert "61 messages marked as read." in html  # all of them: not only the 50 of the page, nor only the cached
    assert "Mark all as read" not in html and '<span class="badge">' not in html
    assert len(rows(app, mailbox_id)) == 61 and all(row.seen for row in rows(app, mailbox_id))
    server.select_folder("INBOX", readonly=True)
    flags = server.fetch(server.search(["ALL"]), ["FLAGS"])
    assert len(flags) == 61 and all(b"\\Seen" in data[b"FLAGS"] for data in flags.values())
    unknown = client.post(f"/mail/m/{mailbox_id}/read-all", data={"folder": "Gibt es nicht"}, follow_redirects=True)
    assert "The folder does not exist." in page(unknown)


def test_unified_inbox_shows_only_readable_mailboxes(app, account, owner, make_user):
    support, _s1, _ = account([plain("Support-Anfrage")], title="Support")
    sales, _s2, _ = account([plain("Vertriebs-Anfrage")], title="Vertrieb")
    make_user("rita", language="en")
    with app.app_context():
        rita = db.session.scalar(select(User).where(User.username == "rita"))
        access.grant(support, "user", rita.id, "read")

    everything = page(owner().get("/mail/unified"))
    assert sorted(listed_subjects(everything)) == ["Support-Anfrage", "Vertriebs-Anfrage"]
    assert '<td class="mailbox">Support</td>' in everything and '<td class="mailbox">Vertrieb</td>' in everything

    client = app.test_client()
    login(client, "rita")
    unified = page(client.get("/mail/unified"))
    assert listed_subjects(unified) == ["Support-Anfrage"]
    assert "Vertrieb" not in unified and "Vertriebs-Anfrage" not in unified
    nav = page(client.get("/"))
    assert ">Support <span class=\"badge\">1</span>" in nav and "Vertrieb" not in nav

    foreign = pk_of(app, sales, "Vertriebs-Anfrage")
    assert client.get(f"/mail/m/{sales}/").status_code == 404
    assert client.get(f"/mail/m/{sales}/messages/{foreign}").status_code == 404
    assert client.get(f"/mail/m/{support}/messages/{foreign}").status_code == 404  # id of another mailbox
    assert client.get(f"/mail/m/{support}/messages/{foreign}/body").status_code == 404
    assert client.get(f"/mail/m/{support}/messages/{foreign}/attachments/1").status_code == 404
    assert client.post(f"/mail/m/{support}/actions", data={"action": "delete", "ids": [foreign]}).status_code == 403
    own = pk_of(app, support, "Support-Anfrage")
    # read only: no flags, no delete, no folders, no compose from it
    assert client.post(f"/mail/m/{support}/actions", data={"action": "flag", "ids": [own]}).status_code == 403
    refused = client.post("/mail/unified/actions", data={"action": "delete", "ids": [f"{support}:{own}"]})
    assert refused.status_code == 403
    assert "some of the chosen messages are in a mailbox where you may not do this" in page(refused)  # not only "not allowed"
    assert client.get(f"/mail/m/{support}/folders").status_code == 403
    assert client.get(f"/mail/m/{support}/compose").status_code == 403
    assert client.get("/api/mail/addresses?q=verkauf").get_json() == {"addresses": []}


def test_address_completion_from_earlier_correspondents(app, account, owner):
    account([plain("Hallo", sender="Erika Mustermann <erika@example.test>", cc="Max <max@example.test>")])
    client = owner()
    found = client.get("/api/mail/addresses?q=erika").get_json()["addresses"]
    assert found == [{"name": "Erika Mustermann", "email": "erika@example.test",
                      "label": "Erika Mustermann <erika@example.test>"}]
    assert [a["email"] for a in client.get("/api/mail/addresses?q=max@").get_json()["addresses"]] == ["max@example.test"]
    assert client.get("/api/mail/addresses?q=e").get_json() == {"addresses": []}
    assert app.test_client().get("/api/mail/addresses?q=erika").status_code == 401


def test_a_suggested_name_with_a_comma_is_quoted_as_one_address(app, account, owner):
    account([plain("Rückfrage", sender='"Müller, Jörg" <joerg.mueller@example.test>')])
    client = owner()
    found = client.get("/api/mail/addresses?q=mueller").get_json()["addresses"]
    assert [a["label"] for a in found] == ['"Müller, Jörg" <joerg.mueller@example.test>']  # not two "addresses"
    assert split_recipients(found[0]["label"]) == ('"Müller, Jörg" <joerg.mueller@example.test>',)


# -- compose --------------------------------------------------------------------------------------


def compose_form(client, mailbox_id: int, **query) -> dict:
    html = page(client.get(f"/mail/m/{mailbox_id}/compose", query_string=query))
    form = {}
    for name, value in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html):
        form[name] = unescape(value)
    for name, value in re.findall(r'<input id="compose-[a-z]+" name="([a-z]+)" value="([^"]*)"', html):
        form[name] = unescape(value)
    form["body"] = unescape(re.search(r'<textarea id="compose-body" name="body" rows="16"[^>]*>(.*?)</textarea>', html, re.S).group(1))
    form["from"] = re.search(r'<option value="(\d+)" selected>', html).group(1)
    form["attachment"] = re.findall(r'name="attachment" value="([^"]+)"', html)
    form.pop("csrf_token", None)
    return form


def test_reply_reply_all_and_forward_are_prefilled(app, account, owner):
    original = plain("AW: Angebot 4711", body="Erste Zeile\nZweite Zeile\n", sender="Kunde <kunde@example.test>",
                     cc="Kollegin <kollegin@example.test>")
    mailbox_id, _server, email = account([original, with_attachments("Pläne", [("plan.pdf", "application/pdf", b"%PDF")])])
    client = owner()
    pk = pk_of(app, mailbox_id, "AW: Angebot 4711")
    with app.app_context():
        message_id = db.session.get(CachedMessage, pk).message_id

    reply = compose_form(client, mailbox_id, source=pk, mode="reply")
    assert reply["subject"] == "Re: Angebot 4711"
    assert reply["to"] == "Kunde <kunde@example.test>" and reply["cc"] == ""
    assert reply["in_reply_to"] == message_id and message_id in reply["references"]
    assert "> Erste Zeile\n> Zweite Zeile" in reply["body"] and "Kunde <kunde@example.test> wrote:" in reply["body"]

    everyone = compose_form(client, mailbox_id, source=pk, mode="reply_all")
    assert everyone["to"] == "Kunde <kunde@example.test>, owner@example.test"
    assert everyone["cc"] == "Kollegin <kollegin@example.test>"

    forward = compose_form(client, mailbox_id, source=pk_of(app, mailbox_id, "Pläne"), mode="forward")
    assert forward["subject"] == "Fwd: Pläne" and forward["to"] == "" and len(forward["attachment"]) == 1
    assert "Forwarded message" in forward["body"] and "Anbei die Unterlagen." in forward["body"]
    as_attachment = page(client.get(f"/mail/m/{mailbox_id}/compose?source={pk}&mode=forward_attachment"))
    assert "Angebot 4711.eml" in as_attachment

    german = app.test_client()
    with app.app_context():
        db.session.execute(update(User).where(User.username == "owner").values(language="de"))
        db.session.commit()
    login(german, "owner")
    assert "schrieb Kunde" in compose_form(german, mailbox_id, source=pk, mode="reply")["body"]


def test_compose_send_reaches_the_recipient(app, account, owner, mailstack, imap_client):
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    mailbox_id, server, email = account([plain("Frage")], tested=True)
    recipient, password = _fresh_account(mailstack, 1)
    client = owner()
    form = compose_form(client, mailbox_id, source=pk_of(app, mailbox_id, "Frage"), mode="reply")
    form.update(to=recipient, cc="", bcc="", body="Die Antwort.\n" + form["body"], action="send")
    response = client.post(f"/mail/m/{mailbox_id}/compose", data=form)
    assert response.status_code == 302
    with app.app_context():
        item = db.session.scalar(select(OutboxItem).where(OutboxItem.mailbox_id == mailbox_id))
        assert item.state == "queued" and item.recipients == [recipient] and item.subject == "Re: Frage"
        assert outbox.run_once() >= 1
        assert db.session.get(OutboxItem, item.id).state == "sent"
    inbox = imap_client(1, recipient, password)
    inbox.select_folder("INBOX", readonly=True)
    fetched = list(inbox.fetch(inbox.search(["ALL"]), ["BODY.PEEK[]"]).values())
    assert len(fetched) == 1 and b"Die Antwort." in fetched[0][b"BODY[]"] and b"In-Reply-To:" in fetched[0][b"BODY[]"]
    server.select_folder("INBOX", readonly=True)
    assert b"\\Answered" in list(server.fetch(server.search(["ALL"]), ["FLAGS"]).values())[0][b"FLAGS"]
    # the same form twice (a double click) queues one mail
    client.post(f"/mail/m/{mailbox_id}/compose", data=form)
    with app.app_context():
        assert db.session.scalar(select(OutboxItem.id).where(OutboxItem.mailbox_id == mailbox_id)
                                 .order_by(OutboxItem.id.desc())) == item.id


def test_the_sender_choice_reads_as_the_mail_goes_out(app, account, owner, mailstack, imap_client):
    """The From choice promised "Title <address>" while the mail went out as the bare address."""
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    mailbox_id, _server, email = account([], title="Vertrieb", tested=True)
    client = owner()
    html = page(client.get(f"/mail/m/{mailbox_id}/compose"))
    assert f">Vertrieb · {email}</option>" in html and f"Vertrieb &lt;{email}&gt;" not in html
    with app.app_context():
        db.session.get(Mailbox, mailbox_id).sender_name = "Vertrieb Müller GmbH"
        db.session.commit()
    html = page(client.get(f"/mail/m/{mailbox_id}/compose"))
    assert f">Vertrieb · Vertrieb Müller GmbH &lt;{email}&gt;</option>" in html
    recipient, password = _fresh_account(mailstack, 1)
    form = compose_form(client, mailbox_id)
    form.update(to=recipient, subject="Angebot", body="Hallo", action="send")
    assert client.post(f"/mail/m/{mailbox_id}/compose", data=form).status_code == 302
    with app.app_context():
        assert outbox.run_once() >= 1
    inbox = imap_client(1, recipient, password)
    inbox.select_folder("INBOX", readonly=True)
    raw = list(inbox.fetch(inbox.search(["ALL"]), ["BODY.PEEK[]"]).values())[0][b"BODY[]"]
    sent_from = str(message_from_bytes(raw, policy=default)["From"])
    assert sent_from == f"Vertrieb Müller GmbH <{email}>"


def test_compose_in_a_mailbox_one_may_not_send_from_says_so(app, account, owner):
    """The From choice switched to another mailbox without a word."""
    support, _s1, _e1 = account([plain("Frage")], title="Support")
    sales, _s2, sales_email = account([], title="Vertrieb")
    client = owner()
    with app.app_context():
        owner_id = db.session.scalar(select(User.id).where(User.username == "owner"))
        access.revoke(support, "user", owner_id, "send", actor="test")
    html = page(client.get(f"/mail/m/{support}/compose", query_string={"source": pk_of(app, support, "Frage"),
                                                                         "mode": "reply"}))
    assert "You may not send from Support: choose the mailbox this mail goes out from." in html
    assert re.search(rf'<option value="{sales}" selected>Vertrieb · {re.escape(sales_email)}</option>', html)
    assert "You may not send from" not in page(client.get(f"/mail/m/{sales}/compose"))


def test_undo_send_stops_the_mail_and_brings_it_back(app, account, owner):
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 600
    mailbox_id, _server, _email = account([], tested=True)
    client = owner()
    form = compose_form(client, mailbox_id)
    form.update(to="kunde@example.test", bcc="geheim@example.test", subject="Angebot", body="Text", action="send")
    response = client.post(f"/mail/m/{mailbox_id}/compose", data=form)
    listing = page(client.get(response.headers["Location"]))
    assert "Sent." in listing and "/undo" in listing
    undo_url = re.search(r'action="([^"]+/sent/\d+/undo)"', listing).group(1)
    back = client.post(undo_url)
    assert back.status_code == 302 and "restore=" in back.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(OutboxItem.state).where(OutboxItem.mailbox_id == mailbox_id)) == "cancelled"
    restored = compose_form(client, mailbox_id, **dict(p.split("=") for p in back.headers["Location"].split("?")[1].split("&")))
    assert restored["subject"] == "Angebot" and restored["to"] == "kunde@example.test"
    assert restored["bcc"] == "geheim@example.test" and restored["body"].strip() == "Text"
    assert "already on its way" in page(client.post(undo_url, follow_redirects=True))


def test_send_later_and_a_bad_recipient(app, account, owner):
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    mailbox_id, _server, _email = account([], tested=True)
    client = owner()
    form = compose_form(client, mailbox_id)
    form.update(to="kein adresse", subject="x", body="y", action="send")
    refused = client.post(f"/mail/m/{mailbox_id}/compose", data=form)
    assert refused.status_code == 400 and "is not a valid e-mail address" in page(refused)
    assert 'aria-invalid="true"' in page(refused)
    later = (datetime.now(timezone.utc) + timedelta(days=1)).replace(second=0, microsecond=0)
    form.update(to="kunde@example.test", action="schedule", send_at=later.strftime("%Y-%m-%dT%H:%M"), tz_offset="0")
    assert client.post(f"/mail/m/{mailbox_id}/compose", data=form).status_code == 302
    with app.app_context():
        item = db.session.scalar(select(OutboxItem).where(OutboxItem.mailbox_id == mailbox_id))
        assert item.not_before == later and item.state == "queued"
    past = dict(form, compose_id="other", send_at="2020-01-01T10:00")
    assert "in the future" in page(client.post(f"/mail/m/{mailbox_id}/compose", data=past))


def test_draft_autosave_replaces_the_previous_copy(app, account, owner):
    mailbox_id, server, _email = account([])
    client = owner()
    form = compose_form(client, mailbox_id)
    form.update(to="kunde@example.test", subject="Entwurf", body="erste Fassung")
    first = client.post(f"/mail/m/{mailbox_id}/compose/draft", data=form, headers={"Accept": "application/json"})
    assert first.status_code == 200 and first.get_json()["draft_uid"]
    assert subjects_on_server(server, "Drafts") == ["Entwurf"]
    form.update(body="zweite Fassung", draft_uid=first.get_json()["draft_uid"],
                draft_mailbox=first.get_json()["draft_mailbox"])
    second = client.post(f"/mail/m/{mailbox_id}/compose/draft", data=form).get_json()
    assert second["draft_uid"] != first.get_json()["draft_uid"]
    server.select_folder("Drafts", readonly=True)
    uids = server.search(["ALL"])
    assert uids == [int(second["draft_uid"])]
    assert b"zweite Fassung" in server.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
    # saved on demand from the form (without script) as well, with a file of the form's file field
    from io import BytesIO

    form.update(draft_uid=second["draft_uid"], body="dritte Fassung", action="draft")
    saved = client.post(f"/mail/m/{mailbox_id}/compose", data=dict(form, files=(BytesIO(b"Notiz"), "notiz.txt")),
                        content_type="multipart/form-data", follow_redirects=True)
    assert saved.status_code == 200 and "The draft is saved" in page(saved)
    assert re.search(r'name="attachment" value="[^"]+"[^>]*checked>\s*<label[^>]*>notiz.txt', page(saved))
    server.select_folder("Drafts", readonly=True)
    uids = server.search(["ALL"])
    assert len(uids) == 1
    raw = server.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
    assert b"dritte Fassung" in raw and b'filename="notiz.txt"' in raw


def test_save_draft_leads_to_the_saved_draft_so_reloading_posts_nothing(app, account, owner, imap_client):
    """Post/redirect/get: "Save draft" answers with a redirect to the form on the saved draft (the
    flash message with it), not with a page a reload would post again; a reply stays a reply."""
    mailbox_id, server, _email = account([plain("Frage")])
    client = owner()
    form = compose_form(client, mailbox_id)
    form.update(to="kunde@example.test, kollege@example.test", subject="Entwurf", body="erste Fassung", action="draft")
    saved = client.post(f"/mail/m/{mailbox_id}/compose", data=form)
    assert saved.status_code == 302
    server.select_folder("Drafts", readonly=True)
    draft_uid, = server.search(["ALL"])
    draft_pk = pk_of(app, mailbox_id, "Entwurf", "Drafts")
    assert saved.location == f"/mail/m/{mailbox_id}/compose?source={draft_pk}&mode=draft"
    editor = page(client.get(saved.location))
    assert "The draft is saved in Drafts." in editor and "Edit draft" in editor
    again = compose_form(client, mailbox_id, source=draft_pk, mode="draft")
    assert (again["to"], again["subject"], again["body"].strip()) == (form["to"], "Entwurf", "erste Fassung")
    assert (again["draft_uid"], again["draft_mailbox"]) == (str(draft_uid), str(mailbox_id))

    source = pk_of(app, mailbox_id, "Frage")
    reply = compose_form(client, mailbox_id, source=source, mode="reply", next="/mail/")
    reply.update(body="Die Antwort.\n" + reply["body"], action="draft")
    saved = client.post(f"/mail/m/{mailbox_id}/compose", data=reply)
    assert saved.status_code == 302 and f"source={source}&mode=reply&draft=" in saved.location
    continued = compose_form(client, mailbox_id, **dict(parse_qsl(urlsplit(saved.location).query)))
    assert continued["body"].startswith("Die Antwort.") and continued["subject"] == "Re: Frage"
    assert (continued["source"], continued["mode"], continued["next"]) == (str(source), "reply", "/mail/")
    assert continued["draft_uid"] and continued["draft_mailbox"] == str(mailbox_id)

    with app.app_context():  # who may send but not read cannot open the draft: the form stays as it was
        owner_id = db.session.scalar(select(User.id).where(User.username == "owner"))
        access.revoke(mailbox_id, "user", owner_id, "read", actor="test")
    kept = client.post(f"/mail/m/{mailbox_id}/compose", data=dict(form, subject="Ohne Leserecht"))
    assert kept.status_code == 200 and "The draft is saved in Drafts." in page(kept) and "Ohne Leserecht" in page(kept)


def test_uploads_are_streamed_within_the_limit(app, account, owner):
    app.config["TRICOMA_MAIL_MAX_ATTACHMENT_BYTES"] = 2048
    mailbox_id, _server, _email = account([])
    client = owner()
    headers = {"X-File-Name": "Bericht%20%C3%BC.txt", "X-File-Type": "text/plain",
               "Content-Type": "application/octet-stream"}
    ok = client.post(f"/mail/m/{mailbox_id}/compose/upload", data=b"x" * 1500, headers=headers)
    assert ok.status_code == 200
    token = ok.get_json()["token"]
    assert ok.get_json()["filename"] == "Bericht ü.txt" and ok.get_json()["size"] == 1500

    too_big = client.post(f"/mail/m/{mailbox_id}/compose/upload", data=b"x" * 5000, headers=headers)
    assert too_big.status_code == 413 and "2 KB" in too_big.get_json()["error"]
    # together with what is uploaded already, over the limit as well
    over = client.post(f"/mail/m/{mailbox_id}/compose/upload", data=b"x" * 1000,
                       headers=dict(headers, **{"X-Uploaded": token}))
    assert over.status_code == 413 and "limit of 2 KB" in over.get_json()["error"]
    # a stream longer than it said is cut off at the limit, never read whole
    stream = CountingStream(10 * 1024 * 1024)
    with pytest.raises(upload_store.UploadTooLarge):
        upload_store.save(upload_store.new_space(), "x.bin", "", stream, limit=2048)
    assert stream.read_bytes <= 2048 + upload_store.CHUNK
    from io import BytesIO

    # the form without script: too large a request is refused by the form parser
    form = compose_form(client, mailbox_id)
    app.config["TRICOMA_MAIL_MAX_ATTACHMENT_BYTES"] = 10
    form.update(to="kunde@example.test", subject="x", body="x" * 10, action="draft")
    refused = client.post(f"/mail/m/{mailbox_id}/compose",
                          data=dict(form, files=(BytesIO(b"z" * (5 * 1024 * 1024)), "gross.bin")),
                          content_type="multipart/form-data")
    assert refused.status_code == 413 and "limit of 10 B" in page(refused)


class CountingStream:
    def __init__(self, size: int) -> None:
        self.left, self.read_bytes = size, 0

    def read(self, count: int) -> bytes:
        chunk = b"z" * min(count, self.left)
        self.left -= len(chunk)
        self.read_bytes += len(chunk)
        return chunk


def test_forged_post_without_csrf_token_is_refused(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    make_user("mallory", language="en")
    client = app.test_client()
    login_page = page(client.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    assert client.post("/login", data={"username": "mallory", "password": "correct horse battery",
                                       "csrf_token": token}).status_code == 302
    for url in ("/mail/m/1/actions", "/mail/m/1/compose", "/mail/m/1/compose/upload", "/mail/m/1/undo",
                "/mail/m/1/empty-trash", "/mail/unified/actions"):
        forged = client.post(url, data={"action": "delete", "ids": ["1"], "confirm": "1"})
        assert forged.status_code == 400, url
        assert "CSRF" in page(forged)


def test_a_reading_page_with_its_body_inline_keeps_the_hosts_own_policy(app, account, owner):
    """The page's CSP is the host's (TRICOMA_MAIL_CONTENT_SECURITY_POLICY) with inline styles and
    the body's image sources: a directive only this host uses stays, and scripts stay as strict."""
    from tricoma_mail_plugin.web.message_views import policy_for_inline_body

    app.config["TRICOMA_MAIL_CONTENT_SECURITY_POLICY"] = (
        "default-src 'self'; script-src 'self' https://erp.example; style-src 'self' https://cdn.example; "
        "connect-src 'self' https://api.erp.example; frame-ancestors 'none'")
    mailbox_id, _server, _email = account([html_mail("Newsletter", "<p>Hallo <b>Welt</b></p>")])
    client = owner()
    response = client.get(f"/mail/m/{mailbox_id}/messages/{pk_of(app, mailbox_id, 'Newsletter')}")
    assert 'srcdoc="' in page(response)
    csp = response.headers["Content-Security-Policy"]
    assert csp == ("default-src 'self'; script-src 'self' https://erp.example; "
                   "style-src 'self' https://cdn.example 'unsafe-inline'; connect-src 'self' https://api.erp.example; "
                   "frame-ancestors 'none'; img-src 'self' data:")
    assert policy_for_inline_body("default-src 'self'", "'self' data:") == (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
    assert policy_for_inline_body("style-src 'unsafe-inline'; img-src *", "'self'") == (
        "style-src 'unsafe-inline'; img-src 'self'")

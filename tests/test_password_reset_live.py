"""Forgot password: a neutral answer for every request, a signed one-hour link sent as system mail
in the user's language, usable once, requests slowed down; end to end against the real local
stack (the mail is read from the user's INBOX over IMAP)."""
import email
import logging
import re
import time
from email.policy import default as default_policy

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from app_fixtures import PASSWORD, _fresh_account, login
from hostapp.extensions import db, mailer
from hostapp.models import User
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.sending import system_settings
from tricoma_mail_plugin.models import OutboxItem

NEUTRAL = "If an account with this name or address exists and has an e-mail address, we have sent it a link"
LINK = re.compile(r"http://localhost(/password/reset/[A-Za-z0-9_.\-]+)")


def page(response) -> str:
    return response.get_data(as_text=True)


def system_items(app) -> list[OutboxItem]:
    with app.app_context():
        items = list(db.session.scalars(select(OutboxItem).where(OutboxItem.scope == "system")
                                        .order_by(OutboxItem.id)))
        for item in items:
            db.session.expunge(item)
        return items


def text_of(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=default_policy)
    return str(message["Subject"]), message.get_body(("plain",)).get_content()


def link_in(raw: bytes) -> str:
    match = LINK.search(text_of(raw)[1])
    assert match, text_of(raw)[1]
    return match.group(1)


def request_reset(client, identifier: str, **headers):
    return client.post("/password/forgot", data={"identifier": identifier}, headers=headers)


def new_password(client, path: str, password: str, repeated: str | None = None):
    return client.post(path, data={"password": password,
                                   "password_repeated": password if repeated is None else repeated})


@pytest.fixture
def system_mail_configured(app):
    """System mail with a sender; nothing is delivered unless a test runs the outbox."""
    with app.app_context():
        system_settings.update_system_settings({"host": "127.0.0.1", "port": "25", "security": "none",
                                            "sender_name": "tricoma", "sender_address": "noreply@example.test"})


def test_the_login_page_links_to_forgot_password(client):
    html = page(client.get("/login"))
    assert 'href="/password/forgot"' in html and "Forgot your password?" in html
    assert client.get("/password/forgot").status_code == 200


def test_known_and_unknown_names_get_the_same_answer(app, client, make_user, system_mail_configured):
    make_user("ulla", language="en")
    answers = []
    for identifier in ("ulla", "nobody", "ULLA@example.test", "nobody@example.test"):
        response = request_reset(app.test_client(), identifier)
        answers.append((response.status_code, response.location))
    assert len(set(answers)) == 1 and answers[0] == (302, "/login")
    follow = app.test_client()
    request_reset(follow, "nobody")
    assert NEUTRAL in page(follow.get("/login"))
    mails = system_items(app)
    assert [item.recipients for item in mails] == [["ulla@example.test"], ["ulla@example.test"]]


def test_the_mail_is_in_the_users_language_and_links_to_this_site(app, client, make_user, system_mail_configured):
    make_user("greta", language="de")
    request_reset(client, "greta", **{"Accept-Language": "en"})
    subject, text = text_of(system_items(app)[0].raw)
    assert subject == "Passwort zurücksetzen"
    assert "Sie" in text and "innerhalb einer Stunde" in text
    assert LINK.search(text)


def test_the_mail_is_a_flask_mail_message_from_the_mailversand_sender(app, client, make_user,
                                                                      system_mail_configured):
    make_user("ulla", language="en")
    with mailer.record_messages() as recorded:
        request_reset(client, "ulla")
    [item] = system_items(app)
    [message] = recorded
    assert message.sender == "tricoma <noreply@example.test>" and message.recipients == ["ulla@example.test"]
    with app.app_context():
        assert item.raw == message.as_bytes() and item.message_id == message.msgId
    assert item.sender == "noreply@example.test" and item.state == "queued"


def test_users_without_an_address_or_inactive_get_no_mail(app, client, make_user, system_mail_configured):
    make_user("noaddr")
    make_user("gone")
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "noaddr")).email = None
        db.session.scalar(select(User).where(User.username == "gone")).active = False
        db.session.commit()
    for name in ("noaddr", "gone"):
        response = request_reset(client, name)
        assert response.status_code == 302 and response.location == "/login"
    assert system_items(app) == []


def test_without_system_mail_the_answer_is_the_same_and_the_error_is_logged(app, client, make_user, caplog):
    make_user("ulla", language="en")
    with caplog.at_level(logging.ERROR, logger="hostapp.password_reset"):
        response = request_reset(client, "ulla")
    assert response.status_code == 302 and response.location == "/login"
    assert NEUTRAL in page(client.get("/login"))
    assert "not queued" in caplog.text and "sender address" in caplog.text
    assert system_items(app) == []


def test_requests_are_slowed_down_per_name(app, client, make_user, system_mail_configured):
    make_user("ulla", language="en")
    free = 3
    for _ in range(free + 1):
        assert request_reset(client, "ulla").status_code == 302
    blocked = request_reset(client, "Ulla")
    assert blocked.status_code == 429 and "Too many requests" in page(blocked)
    assert len(system_items(app)) == free + 1
    assert request_reset(client, "nobody").status_code == 302  # another name is not blocked


def test_an_empty_request_is_refused(client):
    response = request_reset(client, "  ")
    assert response.status_code == 400 and "Enter your user name or your e-mail address." in page(response)


def test_the_link_sets_a_new_password_once(app, client, make_user, system_mail_configured):
    make_user("ulla", language="en")
    request_reset(client, "ulla")
    path = link_in(system_items(app)[0].raw)
    form = client.get(path)
    assert form.status_code == 200 and 'name="password_repeated"' in page(form)
    assert form.headers["Cache-Control"] == "no-store"
    short = new_password(client, path, "kurz")
    assert short.status_code == 400 and "at least 8 characters" in page(short)
    different = new_password(client, path, "ein-neues-passwort", "ein-anderes-passwort")
    assert different.status_code == 400 and "not the same" in page(different)
    assert login(app.test_client(), "ulla").status_code == 302  # still the old password
    done = new_password(client, path, "ein-neues-passwort")
    assert done.status_code == 302 and done.location == "/login"
    assert "Your new password is set." in page(client.get("/login"))
    assert login(app.test_client(), "ulla").status_code == 401
    assert login(app.test_client(), "ulla", "ein-neues-passwort").status_code == 302
    again = client.get(path)
    assert again.status_code == 400 and "not valid (any more)" in page(again)
    assert new_password(client, path, "noch-ein-passwort").status_code == 400
    assert login(app.test_client(), "ulla", "ein-neues-passwort").status_code == 302


def test_forged_and_expired_links_are_refused(app, client, make_user, monkeypatch):
    user = make_user("ulla", language="en")
    from hostapp import password_reset

    with app.test_request_context():
        real = db.session.get(User, user.id)
        token = password_reset.make_token(real)
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3700)
        old = password_reset.make_token(real)
        monkeypatch.undo()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (forged, "nonsense", old):
        response = client.get(f"/password/reset/{bad}")
        assert response.status_code == 400
        assert new_password(client, f"/password/reset/{bad}", "ein-neues-passwort").status_code == 400
    assert "This link has expired." in page(client.get(f"/password/reset/{old}"))
    assert login(app.test_client(), "ulla").status_code == 302


def test_a_reset_lifts_the_login_throttle(app, client, make_user, system_mail_configured):
    make_user("ulla", language="en")
    for _ in range(app.config["HOSTAPP_LOGIN_FREE_ATTEMPTS"] + 1):
        login(app.test_client(), "ulla", "wrong")
    assert login(app.test_client(), "ulla", PASSWORD).status_code == 429
    request_reset(client, "ulla")
    new_password(client, link_in(system_items(app)[0].raw), "ein-neues-passwort")
    assert login(app.test_client(), "ulla", "ein-neues-passwort").status_code == 302


def test_the_pages_in_german(client):
    html = page(client.get("/password/forgot", headers={"Accept-Language": "de"}))
    assert "Passwort vergessen?" in html and "Benutzername oder E-Mail-Adresse" in html
    html = page(client.get("/password/reset/nonsense", headers={"Accept-Language": "de"}))
    assert "Neues Passwort" in html or "neues Passwort" in html


# -- live: the whole way, through the real local SMTP and IMAP servers --------------------------


def test_reset_end_to_end_through_the_real_mail_stack(app, client, make_user, mailstack, imap_client):
    app.config["TRICOMA_MAIL_CA_FILE"] = str(mailstack.cert)
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    sender, sender_password = _fresh_account(mailstack, 1)
    with app.app_context():
        system_settings.update_system_settings({
            "host": "127.0.0.1", "port": str(mailstack.standard.smtp_port), "security": "starttls",
            "username": sender, "password": sender_password, "sender_name": "tricoma",
            "sender_address": sender})
    address, address_password = _fresh_account(mailstack, 1)
    user = make_user("ulla", language="en")
    with app.app_context():
        db.session.get(User, user.id).email = address
        db.session.commit()

    assert request_reset(client, address).status_code == 302
    with app.app_context():
        assert outbox.run_once() == 1
    inbox = imap_client(1, address, address_password)
    deadline = time.monotonic() + 10
    while True:
        inbox.select_folder("INBOX", readonly=True)
        uids = inbox.search(["ALL"])
        if uids or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(uids) == 1
    raw = inbox.fetch(uids, ["BODY.PEEK[]"])[uids[0]][b"BODY[]"]
    assert text_of(raw)[0] == "Reset your password"
    path = link_in(raw)

    assert client.get(path).status_code == 200
    assert new_password(client, path, "Sommer-2026-neu").status_code == 302
    assert login(app.test_client(), "ulla", "Sommer-2026-neu").status_code == 302
    assert login(app.test_client(), "ulla", PASSWORD).status_code == 401
    second = client.get(path)
    assert second.status_code == 400 and "not valid (any more)" in page(second)
    assert new_password(client, path, "noch-ein-anderes").status_code == 400

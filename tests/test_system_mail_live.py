"""Admin → System mail: admins only, settings saved and validated (the password never shown
again), and against the real local stack: the test mail, its typed errors, and a system mail that
survives a wrong password in the outbox and leaves once the password is fixed."""
import time
from datetime import timedelta

import pytest

from app_fixtures import _fresh_account, login
from fault_smtp import free_port
from hostapp.extensions import db
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.sending import system_mail, system_settings
from tricoma_mail_plugin.models import OutboxItem, SystemMailSettings, utcnow
from tricoma_mail_plugin.mailboxes.secret_box import SecretBox

BASE = "/mail/admin/system-mail"


def page(response) -> str:
    return response.get_data(as_text=True)


def settings_form(**overrides) -> dict:
    form = {"host": "127.0.0.1", "port": "587", "security": "starttls", "username": "mailer@example.test",
            "password": "", "sender_name": "tricoma ERP", "sender_address": "noreply@example.test",
            "reply_to": ""}
    form.update(overrides)
    return form


def stored(app) -> SystemMailSettings:
    with app.app_context():
        settings = system_settings.system_settings()
        db.session.refresh(settings)
        db.session.expunge(settings)
        return settings


def stored_password(app) -> str:
    with app.app_context():
        return SecretBox.from_app().decrypt(system_settings.system_settings().secrets).get("password", "")


# -- rights ----------------------------------------------------------------------------------


def test_the_page_is_for_admins_only(app, admin_client, user_client):
    assert user_client.get(f"{BASE}/").status_code == 403
    assert user_client.post(f"{BASE}/", data=settings_form()).status_code == 403
    assert user_client.post(f"{BASE}/test", data={"to": "x@example.test"}).status_code == 403
    assert stored(app).host == ""
    anonymous = app.test_client().get(f"{BASE}/")
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert admin_client.get(f"{BASE}/").status_code == 200


def test_admins_find_it_in_the_navigation_and_the_settings(admin_client, user_client):
    home = page(admin_client.get("/"))
    assert f'href="{BASE}/"' in home
    assert f'href="{BASE}/"' in page(admin_client.get("/mail/settings/"))
    assert f'href="{BASE}/"' not in page(user_client.get("/"))


# -- settings --------------------------------------------------------------------------------


def test_settings_are_saved_and_the_password_is_never_shown_again(app, admin_client):
    response = admin_client.post(f"{BASE}/", data=settings_form(password="geheim-Passwort-1",
                                                                reply_to="support@example.test"))
    assert response.status_code == 302
    html = page(admin_client.get(f"{BASE}/"))
    assert "The system mail settings are saved." in html
    assert "geheim-Passwort-1" not in html
    assert "A password is stored" in html and 'value="noreply@example.test"' in html
    settings = stored(app)
    assert (settings.host, settings.port, settings.security) == ("127.0.0.1", 587, "starttls")
    assert settings.reply_to == "support@example.test" and "geheim" not in settings.secrets
    assert stored_password(app) == "geheim-Passwort-1"
    admin_client.post(f"{BASE}/", data=settings_form(sender_name="Anders"))  # empty password: kept
    assert stored(app).sender_name == "Anders" and stored_password(app) == "geheim-Passwort-1"


@pytest.mark.parametrize("field,value,message", [
    ("port", "99999", "The port must be a number from 1 to 65535."),
    ("port", "abc", "The port must be a number from 1 to 65535."),
    ("security", "ssl3", "Choose TLS, STARTTLS or none."),
    ("sender_address", "not an address", "is not a valid e-mail address"),
    ("reply_to", "a@b", "is not a valid e-mail address"),
    ("sender_name", "Evil\r\nBcc: x@example.test", "This field must be one line."),
])
def test_invalid_settings_are_named_by_the_field_and_nothing_is_saved(app, admin_client, field, value, message):
    response = admin_client.post(f"{BASE}/", data=settings_form(host="smtp.example.test", password="typed-secret",
                                                                **{field: value}))
    html = page(response)
    assert response.status_code == 400
    assert f'<p class="field-error" id="error-{field}">' in html and message in html
    assert 'value="smtp.example.test"' in html  # what was typed is kept…
    assert "typed-secret" not in html  # …except the password
    assert stored(app).host == "" and stored_password(app) == ""


def test_unencrypted_smtp_only_to_this_machine(app, admin_client):
    response = admin_client.post(f"{BASE}/", data=settings_form(host="smtp.example.test", security="none"))
    assert response.status_code == 400 and "allowed only to this machine" in page(response)
    assert admin_client.post(f"{BASE}/", data=settings_form(security="none")).status_code == 302


def test_the_test_mail_needs_a_recipient_and_a_server(app, admin_client):
    response = admin_client.post(f"{BASE}/test", data={"to": "no address"})
    assert response.status_code == 400 and 'id="error-to"' in page(response)
    response = admin_client.post(f"{BASE}/test", data={"to": "ulla@example.test"})
    assert response.status_code == 400 and "The sender address of system mail is missing" in page(response)
    admin_client.post(f"{BASE}/", data=settings_form(host=""))
    response = admin_client.post(f"{BASE}/test", data={"to": "ulla@example.test"})
    assert response.status_code == 400
    assert "System mail has no SMTP server configured." in page(response)


def test_the_page_in_german(app, make_user):
    make_user("ada", admin=True, language="de")
    client = app.test_client()
    login(client, "ada")
    html = page(client.get(f"{BASE}/"))
    assert "Systemmail" in html and "Testmail senden" in html and "Absenderadresse" in html


# -- live ------------------------------------------------------------------------------------


@pytest.fixture
def system_account(app, mailstack):
    """A fresh account of the test stack for system mail to log in with; the CA is trusted."""
    app.config["TRICOMA_MAIL_CA_FILE"] = str(mailstack.cert)
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    return _fresh_account(mailstack, 1)


def configure(client, mailstack, email: str, password: str):
    response = client.post(f"{BASE}/", data=settings_form(
        port=str(mailstack.standard.smtp_port), username=email, password=password, sender_address=email))
    assert response.status_code == 302, page(response)


def inbox_subjects(imap, subject: str, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        imap.select_folder("INBOX", readonly=True)
        found = imap.search(["SUBJECT", subject])
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_test_mail_arrives(app, admin_client, mailstack, imap_client, system_account):
    configure(admin_client, mailstack, *system_account)
    to, to_password = _fresh_account(mailstack, 1)
    response = admin_client.post(f"{BASE}/test", data={"to": to})
    assert response.status_code == 302
    html = page(admin_client.get(f"{BASE}/"))
    assert f"The test mail to {to} was sent." in html and "The last test mail was sent." in html
    assert len(inbox_subjects(imap_client(1, to, to_password), "Test mail from tricoma")) == 1


def test_a_refused_connection_is_named(app, admin_client, mailstack, system_account):
    email, password = system_account
    admin_client.post(f"{BASE}/", data=settings_form(port=str(free_port()), username=email, password=password,
                                                     sender_address=email))
    response = admin_client.post(f"{BASE}/test", data={"to": email})
    assert response.status_code == 400
    assert "The server refused the connection. Check the host and the port." in page(response)


def test_a_wrong_password_is_named_and_queued_system_mail_waits_for_the_fix(
        app, admin_client, mailstack, imap_client, system_account):
    email, password = system_account
    configure(admin_client, mailstack, email, "wrong-" + password)
    to, to_password = _fresh_account(mailstack, 1)

    response = admin_client.post(f"{BASE}/test", data={"to": to})
    html = page(response)
    assert response.status_code == 400
    assert "The server refused the user name or the password." in html
    assert "The last test mail could not be sent" in html

    with app.app_context():
        item_id = system_mail.send_system_mail(to, "Benachrichtigung 7", "Hallo\n").id
        outbox.run_once()
        waiting = db.session.get(OutboxItem, item_id)
        assert waiting.state == "retry"  # not lost, not failed
        assert "refused the user name or password" in waiting.last_error
        assert waiting.not_before > utcnow() + timedelta(seconds=30)
    recent = page(admin_client.get(f"{BASE}/"))
    assert "Benachrichtigung 7" in recent and "will retry at" in recent

    configure(admin_client, mailstack, email, password)  # the admin fixes the password
    with app.app_context():
        db.session.get(OutboxItem, item_id).not_before = utcnow()  # the retry is due now
        db.session.commit()
        assert outbox.run_once() == 1
        sent = db.session.get(OutboxItem, item_id)
        assert sent.state == "sent" and sent.sent_copy == "skipped"
    assert len(inbox_subjects(imap_client(1, to, to_password), "Benachrichtigung 7")) == 1
    assert admin_client.post(f"{BASE}/test", data={"to": to}).status_code == 302

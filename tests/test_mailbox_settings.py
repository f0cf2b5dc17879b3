"""Settings → Mailboxes (SPEC M1, M2, M3, M5, X1, X3): create with a title, configure, discover,
test, manage folders, rights, German.

Live tests use the local Dovecot stack (``make_mailbox``); discovery never leaves the machine:
presets need no network, and the app's resolver and HTTP fetcher are fakes."""
from __future__ import annotations

import re
import socket
from html.parser import HTMLParser

import pytest
from sqlalchemy import text

from app_fixtures import PASSWORD, _fresh_account, login
from hostapp.extensions import db
from hostapp.models import User
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import Mailbox

BASE = "/mail/settings/mailboxes"
SECRET = "Pw-never-shown-4711"

SETTINGS = {
    "title": "Support",
    "sender_name": "Example Support",
    "email": "support@example.com",
    "extra_addresses": "info@example.com\nsales@example.com",
    "signature": "-- \nExample GmbH",
    "imap_host": "imap.example.com",
    "imap_port": "993",
    "imap_security": "tls",
    "imap_username": "support@example.com",
    "imap_password": SECRET,
    "smtp_host": "smtp.example.com",
    "smtp_port": "587",
    "smtp_security": "starttls",
    "smtp_username": "support@example.com",
    "smtp_password": SECRET + "-smtp",
}


# -- helpers ---------------------------------------------------------------------------------


class FakeResolver:
    """No SRV and no MX records for anything."""

    def srv(self, name):
        return []

    def mx(self, domain):
        return []


def not_found(url, timeout):
    return 404, b""


@pytest.fixture
def offline_discovery(app, monkeypatch):
    """Discovery with fake DNS and HTTP; any attempt to reach a non-loopback host fails the test."""
    app.config["TRICOMA_MAIL_DISCOVERY_RESOLVER"] = FakeResolver()
    app.config["TRICOMA_MAIL_DISCOVERY_HTTP_GET"] = not_found
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        if host not in (None, "localhost", "127.0.0.1", "::1"):
            raise AssertionError(f"the test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


def page(response) -> str:
    return response.get_data(as_text=True)


def stored(app, mailbox_id: int) -> Mailbox:
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        db.session.expunge(mailbox)
        return mailbox


def create(client, title: str = "Support") -> int:
    response = client.post(f"{BASE}/", data={"title": title})
    assert response.status_code == 302, page(response)
    match = re.fullmatch(rf"{BASE}/(\d+)/", response.location)
    assert match, response.location
    return int(match.group(1))


def owner_client(app):
    """A client logged in as "owner", the user ``make_mailbox`` gives every right."""
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    return client


def select_html(html: str, select_id: str) -> str:
    match = re.search(rf'<select id="{select_id}".*?</select>', html, re.S)
    assert match, f"no select #{select_id}"
    return match.group(0)


def selected_option(html: str, select_id: str) -> str | None:
    match = re.search(r'<option value="([^"]*)" selected>', select_html(html, select_id))
    return match.group(1) if match else None


def step_rows(html: str) -> list[str]:
    table = re.search(r'<table class="data steps">.*?</table>', html, re.S)
    assert table, "no test result table"
    return re.findall(r'<tr class="([^"]*)">', table.group(0))


class FormAudit(HTMLParser):
    """Collects what makes a form usable and safe: labels, controls, CSRF fields per form."""

    def __init__(self):
        super().__init__()
        self.label_targets: set[str] = set()
        self.controls: list[dict] = []
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (attrs.get("method") or "get").lower(), "csrf": False})
        elif tag == "label" and attrs.get("for"):
            self.label_targets.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and attrs.get("type") in ("hidden", "submit"):
                if attrs.get("name") == "csrf_token" and self.forms:
                    self.forms[-1]["csrf"] = True
                return
            self.controls.append(attrs)

    def unlabelled(self) -> list[dict]:
        return [c for c in self.controls if c.get("id") not in self.label_targets]

    def posts_without_csrf(self) -> list[dict]:
        return [f for f in self.forms if f["method"] == "post" and not f["csrf"]]


def audit(html: str) -> FormAudit:
    parser = FormAudit()
    parser.feed(html)
    return parser


# -- M1 create -------------------------------------------------------------------------------


def test_create_with_only_a_title_lands_on_the_configuration_page(app, user_client):
    mailbox_id = create(user_client, "Support team")
    config = page(user_client.get(f"{BASE}/{mailbox_id}/"))
    assert 'value="Support team"' in config and "Not tested yet" in config
    listing = page(user_client.get(f"{BASE}/"))
    assert "Support team" in listing and f"{BASE}/{mailbox_id}/folders" in listing
    with app.app_context():
        ulla = db.session.get(Mailbox, mailbox_id)
        assert ulla.title == "Support team" and ulla.imap_host == ""


def test_create_without_a_title_says_so(user_client):
    response = user_client.post(f"{BASE}/", data={"title": "   "})
    assert response.status_code == 400
    assert "Enter a title." in page(response)


def test_every_signed_in_user_gets_the_panel_the_hint_and_the_nav_entry(user_client):
    settings = page(user_client.get("/mail/settings/"))
    assert "Mailboxes" in settings and f'href="{BASE}/"' in settings
    listing = page(user_client.get(f"{BASE}/"))
    assert "Any signed-in user may create a mailbox" in listing
    assert "Set up mailboxes" in listing  # the navigation entry


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(f"{BASE}/")
    assert response.status_code == 302 and "/login" in response.location
    assert client.post(f"{BASE}/", data={"title": "x"}).status_code == 302


# -- M2 configure ----------------------------------------------------------------------------


def test_configure_stores_everything_and_never_shows_a_password(app, user_client):
    mailbox_id = create(user_client)
    response = user_client.post(f"{BASE}/{mailbox_id}/", data={**SETTINGS, "provider_files_sent_mail": "1"})
    assert response.status_code == 302 and response.location == f"{BASE}/{mailbox_id}/"
    mailbox = stored(app, mailbox_id)
    assert (mailbox.imap_host, mailbox.imap_port, mailbox.imap_security) == ("imap.example.com", 993, "tls")
    assert (mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security) == ("smtp.example.com", 587, "starttls")
    assert mailbox.extra_addresses == "info@example.com\nsales@example.com"
    assert mailbox.sender_name == "Example Support" and mailbox.provider_files_sent_mail is True
    with app.app_context():
        assert service.read_secrets(db.session.get(Mailbox, mailbox_id)) == {
            "imap_password": SECRET, "smtp_password": SECRET + "-smtp"}
        from tricoma_mail_plugin.models import AuditEntry

        changed = db.session.query(AuditEntry).filter_by(mailbox_id=mailbox_id, action="settings_changed").one()
        assert {"imap_host", "smtp_host", "imap_password", "smtp_password"} <= set(changed.details["fields"].split(", "))
        assert SECRET not in str(changed.details)  # which fields, never a password

    config = page(user_client.get(f"{BASE}/{mailbox_id}/"))
    assert "unchanged — leave empty to keep" in config
    assert 'value="imap.example.com"' in config and "checked" in config
    for html in (config, page(user_client.get(f"{BASE}/")), page(user_client.get("/mail/settings/"))):
        assert SECRET not in html

    # Saving again with empty password fields keeps the stored passwords.
    unchanged = {**SETTINGS, "imap_password": "", "smtp_password": "", "sender_name": "Renamed"}
    assert user_client.post(f"{BASE}/{mailbox_id}/", data=unchanged).status_code == 302
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert mailbox.sender_name == "Renamed" and mailbox.provider_files_sent_mail is False
        assert service.read_secrets(mailbox)["imap_password"] == SECRET


def test_secrets_are_encrypted_in_the_database(app, user_client):
    mailbox_id = create(user_client)
    user_client.post(f"{BASE}/{mailbox_id}/", data=SETTINGS)
    with app.app_context():
        raw = db.session.execute(text("SELECT secrets FROM tricoma_mail_mailbox WHERE id = :id"),
                                 {"id": mailbox_id}).scalar_one()
    assert raw and SECRET not in raw and "imap_password" not in raw


@pytest.mark.parametrize("field,value,message", [
    ("imap_port", "99999", "The port must be a number from 1 to 65535."),
    ("smtp_port", "abc", "The port must be a number from 1 to 65535."),
    ("imap_host", "imap example com", "The server name is not valid."),
    ("imap_security", "none", "Unencrypted connections are allowed only to this machine (127.0.0.1)."),
    ("email", "not an address", "The e-mail address is not valid."),
    ("extra_addresses", "ok@example.com\nbroken@", "broken@ is not a valid e-mail address."),
    ("title", "", "Enter a title."),
])
def test_an_invalid_value_is_refused_beside_its_field_and_the_typed_values_stay(
        app, user_client, field, value, message):
    mailbox_id = create(user_client)
    typed = {**SETTINGS, "sender_name": "Typed Sender", field: value}
    response = user_client.post(f"{BASE}/{mailbox_id}/", data=typed)
    assert response.status_code == 400
    html = page(response)
    assert f'<p class="field-error" id="error-{field}">{message}</p>' in html
    assert f'aria-invalid="true" aria-describedby="' in html
    assert 'value="Typed Sender"' in html and 'value="smtp.example.com"' in html
    if field == "imap_security":
        assert selected_option(html, "field-imap_security") == "none"
    else:
        assert value in html
    assert SECRET not in html, "a password went back to the browser"
    assert "enter it again" in html
    mailbox = stored(app, mailbox_id)
    assert mailbox.imap_host == "" and mailbox.sender_name == "" and mailbox.secrets == "", "nothing is saved"


def test_plain_imap_is_allowed_to_this_machine(app, user_client):
    mailbox_id = create(user_client)
    response = user_client.post(f"{BASE}/{mailbox_id}/", data={
        **SETTINGS, "imap_host": "127.0.0.1", "imap_port": "143", "imap_security": "none"})
    assert response.status_code == 302
    assert stored(app, mailbox_id).imap_security == "none"


# -- M2 discovery ----------------------------------------------------------------------------


def test_discovery_fills_in_a_preset_without_saving(app, user_client, offline_discovery):
    mailbox_id = create(user_client)
    response = user_client.post(f"{BASE}/{mailbox_id}/", data={
        "title": "Support", "sender_name": "Typed Sender", "email": "someone@gmail.com",
        "imap_host": "", "imap_port": "993", "imap_security": "tls", "imap_password": SECRET,
        "action": "discover"})
    assert response.status_code == 200
    html = page(response)
    assert 'value="imap.gmail.com"' in html and 'value="smtp.gmail.com"' in html
    assert 'value="465"' in html and selected_option(html, "field-smtp_security") == "tls"
    assert html.count('value="someone@gmail.com"') == 3  # address and both user names
    assert "Source: Built-in table of providers." in html and "Provider: Gmail." in html
    assert "app password" in html  # the provider's note
    assert 'id="field-provider_files_sent_mail" name="provider_files_sent_mail" type="checkbox" value="1" checked' in html
    assert 'value="Typed Sender"' in html and SECRET not in html
    assert "Nothing is saved yet" in html
    mailbox = stored(app, mailbox_id)
    assert mailbox.imap_host == "" and mailbox.email == ""


def test_discovery_of_exchange_online_says_basic_smtp_auth_is_going_away(user_client, offline_discovery):
    mailbox_id = create(user_client)
    html = page(user_client.post(f"{BASE}/{mailbox_id}/", data={
        "title": "Sales", "email": "sales@contoso.onmicrosoft.com", "action": "discover"}))
    assert 'value="outlook.office365.com"' in html and 'value="smtp.office365.com"' in html
    assert "basic SMTP AUTH is going away" in html


def test_discovery_of_an_unknown_domain_offers_a_guess(user_client, offline_discovery):
    mailbox_id = create(user_client)
    html = page(user_client.post(f"{BASE}/{mailbox_id}/", data={
        "title": "Shop", "email": "shop@example.org", "action": "discover"}))
    assert 'value="imap.example.org"' in html and 'value="smtp.example.org"' in html
    assert "Source: A guess from the domain name." in html and "only guessed" in html


def test_discovery_of_an_invalid_address_says_nothing_was_found(user_client, offline_discovery):
    mailbox_id = create(user_client)
    response = user_client.post(f"{BASE}/{mailbox_id}/", data={
        "title": "Shop", "email": "no address", "action": "discover"})
    assert response.status_code == 200
    assert "No servers were found for this address" in page(response)


# -- M3 test ---------------------------------------------------------------------------------


def test_the_test_of_a_live_mailbox_passes_every_step_and_marks_it_ready(app, make_mailbox):
    mailbox_id = make_mailbox()
    client = owner_client(app)
    listing = page(client.get(f"{BASE}/"))
    assert "Not tested yet" in listing and f'action="{BASE}/{mailbox_id}/test"' in listing
    response = client.post(f"{BASE}/{mailbox_id}/test")
    assert response.status_code == 302 and response.location == f"{BASE}/{mailbox_id}/"
    html = page(client.get(response.location))
    assert "The mailbox is ready to use." in html
    rows = step_rows(html)
    assert len(rows) >= 8 and set(rows) == {"passed"}, rows
    for label in ("Log in", "List folders", "Log in (AUTH)", "Switch to encryption (STARTTLS)"):
        assert f'<th scope="row">{label}</th>' in html
    assert "Ready to use" in page(client.get(f"{BASE}/"))
    assert stored(app, mailbox_id).usable


def test_a_wrong_password_shows_the_typed_message_and_leaves_the_mailbox_unusable(app, make_mailbox):
    mailbox_id = make_mailbox()
    with app.app_context():
        service.update_settings(db.session.get(Mailbox, mailbox_id),
                                  {"imap_password": "wrong", "smtp_password": "wrong"})
    client = owner_client(app)
    response = client.post(f"{BASE}/{mailbox_id}/test", data={"next": f"{BASE}/"})
    assert response.status_code == 302 and response.location == f"{BASE}/"
    assert "Test failed" in page(client.get(f"{BASE}/"))
    html = page(client.get(f"{BASE}/{mailbox_id}/"))
    assert "The server refused the user name or the password." in html
    assert "Fix the first failed step" in html
    assert "first-failure" in " ".join(step_rows(html))
    assert not stored(app, mailbox_id).usable


def test_the_audit_log_says_how_each_test_ended(app, make_mailbox):
    """The entry written when a Test starts (the hourly limit counts it) gets the outcome when the
    test ends; a failure says where, as users who are not admins see it (no typed network answer)."""
    mailbox_id = make_mailbox()
    client = owner_client(app)
    client.post(f"{BASE}/{mailbox_id}/test")
    with app.app_context():
        service.update_settings(db.session.get(Mailbox, mailbox_id), {"imap_password": "wrong"})
    client.post(f"{BASE}/{mailbox_id}/test")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with app.app_context():
        service.update_settings(db.session.get(Mailbox, mailbox_id), {"imap_port": closed_port})
    client.post(f"{BASE}/{mailbox_id}/test")
    with app.app_context():
        tests = [entry.details for entry in access.audit_log(mailbox_id) if entry.action == "connection_test"]
    assert [details.get("outcome") for details in tests] == ["failed", "failed", "passed"]  # newest first
    assert (tests[1]["protocol"], tests[1]["step"], tests[1]["reason"]) == ("imap", "login", "wrong_password")
    assert (tests[0]["protocol"], tests[0]["step"], tests[0]["reason"]) == ("imap", "connect", "could_not_connect")
    log = page(client.get(f"{BASE}/{mailbox_id}/rights"))
    assert "Test passed" in log
    assert "Test failed at “IMAP Log in”: The server refused the user name or the password." in log
    assert f"127.0.0.1:{closed_port} · Test failed at “IMAP Connect”: Could not connect to the server." in log


def test_the_test_never_redirects_to_another_site(app, make_mailbox):
    mailbox_id = make_mailbox()
    client = owner_client(app)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = client.post(f"{BASE}/{mailbox_id}/test", data={"next": target})
        assert response.location == f"{BASE}/{mailbox_id}/"


def test_step_messages_follow_the_reader_s_language(app, make_mailbox):
    mailbox_id = make_mailbox()
    with app.app_context():
        service.update_settings(db.session.get(Mailbox, mailbox_id), {"imap_password": "wrong"})
    client = owner_client(app)
    client.post(f"{BASE}/{mailbox_id}/test")  # run in English
    client.post("/language", data={"language": "de", "next": "/"})
    html = page(client.get(f"{BASE}/{mailbox_id}/"))
    assert "Der Server hat den Benutzernamen oder das Passwort abgelehnt." in html
    assert "Anmelden" in html and "übersprungen" in html


# -- M5 manage folders -----------------------------------------------------------------------


@pytest.fixture
def hoster(app, mailstack, make_mailbox, imap_client):
    """(mailbox id, owner's client, a second IMAP client on the account) on profile 2."""
    email, password = _fresh_account(mailstack, 2)
    mailbox_id = make_mailbox(2, email, password)
    return mailbox_id, owner_client(app), imap_client(2, email, password)


def server_folders(imap) -> set[str]:
    return {name for _flags, _delimiter, name in imap.list_folders()}


def test_manage_folders_detects_the_hoster_s_folders(hoster):
    mailbox_id, client, _imap = hoster
    response = client.get(f"{BASE}/{mailbox_id}/folders")
    assert response.status_code == 200
    html = page(response)
    for name in ("INBOX.Sent Mails", "INBOX.Papierkorb", "INBOX.Entwürfe", "INBOX.Spam"):
        assert f'<th scope="row">{name}</th>' in html
    rows = re.findall(r'<th scope="row">([^<]+)</th>', html)
    assert rows[0] == "INBOX" and rows[1:] == sorted(rows[1:], key=str.casefold), rows  # the inbox first, then by name
    assert "Detect automatically (currently: INBOX.Sent Mails)" in select_html(html, "role-sent")
    assert "Detect automatically (currently: INBOX.Papierkorb)" in select_html(html, "role-trash")
    assert "Detect automatically (currently: INBOX.Entwürfe)" in select_html(html, "role-drafts")
    assert "created when needed" in select_html(html, "role-archive")
    assert selected_option(html, "role-sent") is None
    assert '<option value="INBOX">' not in select_html(html, "role-trash")
    assert 'data-role="sent">Sent (detected)' in html
    assert not audit(html).unlabelled() and not audit(html).posts_without_csrf()


def test_an_admin_s_folder_choice_is_stored_and_wins(app, hoster):
    mailbox_id, client, imap = hoster
    imap.create_folder("INBOX.Ausgang")
    response = client.post(f"{BASE}/{mailbox_id}/folders", data={"action": "map", "role_sent": "INBOX.Ausgang"})
    assert response.status_code == 302
    assert stored(app, mailbox_id).folder_roles == {"sent": "INBOX.Ausgang"}
    html = page(client.get(f"{BASE}/{mailbox_id}/folders"))
    assert selected_option(html, "role-sent") == "INBOX.Ausgang"
    assert 'data-role="sent">Sent (chosen)' in html
    assert "The folder mapping is saved." in html
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            from tricoma_mail_plugin.mailboxes.server_folders import folder_for_role

            assert folder_for_role(mailbox, backend, "sent", create=False) == "INBOX.Ausgang"
    # back to detection
    client.post(f"{BASE}/{mailbox_id}/folders", data={"action": "map", "role_sent": ""})
    assert stored(app, mailbox_id).folder_roles == {}


def test_mapping_to_a_folder_that_does_not_exist_is_refused(app, hoster):
    mailbox_id, client, _imap = hoster
    response = client.post(f"{BASE}/{mailbox_id}/folders", data={"action": "map", "role_trash": "INBOX.Nowhere"})
    assert response.status_code == 400
    assert "The folder INBOX.Nowhere does not exist." in page(response)
    assert stored(app, mailbox_id).folder_roles == {}


def test_create_rename_and_delete_a_folder_on_the_server(hoster):
    mailbox_id, client, imap = hoster
    url = f"{BASE}/{mailbox_id}/folders"
    assert client.post(url, data={"action": "create", "name": "Projekte"}).status_code == 302
    assert "INBOX.Projekte" in server_folders(imap)
    client.post(url, data={"action": "create", "name": "Übersicht 2026", "parent": "INBOX.Projekte"})
    assert "INBOX.Projekte.Übersicht 2026" in server_folders(imap)
    html = page(client.get(url))
    assert "The folder INBOX.Projekte.Übersicht 2026 is created." in html
    assert '<th scope="row">INBOX.Projekte.Übersicht 2026</th>' in html

    response = client.post(url, data={"action": "rename", "folder": "INBOX.Projekte.Übersicht 2026",
                                      "name": "Archiv alt"})
    assert response.status_code == 302
    assert {"INBOX.Projekte.Archiv alt"} <= server_folders(imap)
    assert "INBOX.Projekte.Übersicht 2026" not in server_folders(imap)

    unconfirmed = client.post(url, data={"action": "delete", "folder": "INBOX.Projekte.Archiv alt"})
    assert unconfirmed.status_code == 400 and "Tick the box to confirm" in page(unconfirmed)
    assert "INBOX.Projekte.Archiv alt" in server_folders(imap)
    confirmed = client.post(url, data={"action": "delete", "folder": "INBOX.Projekte.Archiv alt", "confirm": "1"})
    assert confirmed.status_code == 302
    assert "INBOX.Projekte.Archiv alt" not in server_folders(imap)


def test_folder_errors_are_shown_beside_the_form_and_keep_the_typed_name(hoster):
    mailbox_id, client, imap = hoster
    url = f"{BASE}/{mailbox_id}/folders"
    response = client.post(url, data={"action": "create", "name": "Bad*Name"})
    assert response.status_code == 400
    html = page(response)
    assert 'id="error-create" role="alert">A folder name must not contain' in html
    assert 'value="Bad*Name"' in html
    in_use = client.post(url, data={"action": "delete", "folder": "INBOX.Papierkorb", "confirm": "1"})
    assert in_use.status_code == 400 and "is in use" in page(in_use)
    assert "INBOX.Papierkorb" in server_folders(imap)
    missing = client.post(url, data={"action": "rename", "folder": "INBOX.Gone", "name": "X"})
    assert missing.status_code == 302
    assert "The folder does not exist." in page(client.get(missing.location))
    assert client.post(url, data={"action": "explode"}).status_code == 400


def test_a_server_that_cannot_be_reached_gives_a_message_not_a_traceback(app, make_mailbox):
    mailbox_id = make_mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with app.app_context():
        service.update_settings(db.session.get(Mailbox, mailbox_id), {"imap_port": closed_port})
    client = owner_client(app)
    response = client.get(f"{BASE}/{mailbox_id}/folders")
    assert response.status_code == 200
    html = page(response)
    assert 'class="flash error"' in html and "Traceback" not in html
    assert "the mail server is not available" in html
    posted = client.post(f"{BASE}/{mailbox_id}/folders", data={"action": "create", "name": "X"})
    assert posted.status_code == 302


def test_a_mailbox_without_servers_asks_for_them_before_managing_folders(user_client):
    mailbox_id = create(user_client)
    response = user_client.get(f"{BASE}/{mailbox_id}/folders")
    assert response.status_code == 302 and response.location == f"{BASE}/{mailbox_id}/"
    assert "Enter the IMAP server of this mailbox first." in page(user_client.get(response.location))


# -- M6 rights on these pages ----------------------------------------------------------------


def mailbox_pages(mailbox_id) -> list[tuple[str, str]]:
    return [("get", f"{BASE}/{mailbox_id}/"), ("post", f"{BASE}/{mailbox_id}/"),
            ("get", f"{BASE}/{mailbox_id}/folders"), ("post", f"{BASE}/{mailbox_id}/folders"),
            ("post", f"{BASE}/{mailbox_id}/test")]


def test_someone_else_s_mailbox_and_odd_ids_are_not_found(app, make_user, user_client):
    owner = make_user("olga")
    with app.app_context():
        mailbox_id = service.create_mailbox("Olga's", owner).id
    for mailbox in (mailbox_id, 99999999999999999999999, -1, 0):
        for method, url in mailbox_pages(mailbox):
            response = getattr(user_client, method)(url, data={"title": "stolen"} if method == "post" else None)
            assert response.status_code == 404, (method, url)
    assert "Olga" not in page(user_client.get(f"{BASE}/"))
    assert stored(app, mailbox_id).title == "Olga's"


def test_a_user_with_only_read_is_forbidden(app, make_user, user_client):
    owner = make_user("olga")
    with app.app_context():
        mailbox_id = service.create_mailbox("Team", owner).id
        ulla = db.session.query(User).filter_by(username="ulla").one()
        access.grant(mailbox_id, "user", ulla.id, "read")
    for method, url in mailbox_pages(mailbox_id):
        assert getattr(user_client, method)(url).status_code == 403, (method, url)
    # not in the list of mailboxes to manage (the navigation lists it: the user may read it)
    assert 'class="mailbox-title">Team<' not in page(user_client.get(f"{BASE}/"))


def test_an_admin_manages_every_mailbox(app, make_user, admin_client):
    owner = make_user("olga")
    with app.app_context():
        mailbox_id = service.create_mailbox("Olga's", owner).id
    assert "Olga&#39;s" in page(admin_client.get(f"{BASE}/"))
    assert admin_client.get(f"{BASE}/{mailbox_id}/").status_code == 200


# -- X1 German, X3 forms ---------------------------------------------------------------------


def test_the_pages_in_german(app, make_user):
    make_user("greta", language="de")
    client = app.test_client()
    login(client, "greta")
    listing = page(client.get(f"{BASE}/"))
    assert "Postfächer" in listing and "Neues Postfach" in listing and "Postfach anlegen" in listing
    assert "Mailboxes" not in listing
    mailbox_id = create(client, "Vertrieb")
    config = page(client.get(f"{BASE}/{mailbox_id}/"))
    for german in ("Absendername", "Posteingang (IMAP)", "Postausgang (SMTP)", "Verschlüsselung",
                   "Aus der E-Mail-Adresse ausfüllen", "Noch nicht getestet", "Speichern"):
        assert german in config, german
    assert "Sender name" not in config
    invalid = page(client.post(f"{BASE}/{mailbox_id}/", data={**SETTINGS, "imap_port": "0"}))
    assert "Der Port muss eine Zahl von 1 bis 65535 sein." in invalid


def test_every_control_has_a_label_and_every_form_a_csrf_token(user_client, offline_discovery):
    mailbox_id = create(user_client)
    pages = [
        page(user_client.get(f"{BASE}/")),
        page(user_client.get(f"{BASE}/{mailbox_id}/")),
        page(user_client.post(f"{BASE}/{mailbox_id}/", data={**SETTINGS, "imap_port": "x"})),
        page(user_client.post(f"{BASE}/{mailbox_id}/", data={"title": "T", "email": "a@gmail.com",
                                                              "action": "discover"})),
    ]
    for html in pages:
        result = audit(html)
        assert not result.unlabelled(), result.unlabelled()
        assert not result.posts_without_csrf()


def test_posting_without_a_csrf_token_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = User(username="carl", display_name="Carl", language="en")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    login_page = page(client.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "carl", "password": PASSWORD, "csrf_token": token})
    assert client.post(f"{BASE}/", data={"title": "No token"}).status_code == 400
    listing = page(client.get(f"{BASE}/"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', listing).group(1)
    assert client.post(f"{BASE}/", data={"title": "With token", "csrf_token": token}).status_code == 302


def test_the_test_button_is_rate_limited(app, make_mailbox):
    """X3: a second Test within TRICOMA_MAIL_TEST_MIN_INTERVAL seconds is refused, not run."""
    from hostapp.extensions import db
    from tricoma_mail_plugin.models import Mailbox

    app.config["TRICOMA_MAIL_TEST_MIN_INTERVAL"] = 5
    mailbox_id = make_mailbox()
    client = app.test_client()
    client.post("/login", data={"username": "owner", "password": "correct horse battery"})
    client.post(f"/mail/settings/mailboxes/{mailbox_id}/test")
    with app.app_context():
        first = db.session.get(Mailbox, mailbox_id).last_test_at
    page = client.post(f"/mail/settings/mailboxes/{mailbox_id}/test", follow_redirects=True)
    assert "Please wait" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Mailbox, mailbox_id).last_test_at == first


def test_the_default_bcc_for_app_mail_is_set_on_the_configuration_page(app, make_mailbox):
    from hostapp.extensions import db
    from tricoma_mail_plugin.models import Mailbox

    mailbox_id = make_mailbox()
    client = app.test_client()
    client.post("/login", data={"username": "owner", "password": "correct horse battery"})
    page = client.get(f"/mail/settings/mailboxes/{mailbox_id}/").get_data(as_text=True)
    assert 'name="app_bcc"' in page
    bad = client.post(f"/mail/settings/mailboxes/{mailbox_id}/", data={"action": "save", "app_bcc": "no-address"})
    assert bad.status_code == 400 and "no-address" in bad.get_data(as_text=True)
    with app.app_context():
        form = {name: getattr(db.session.get(Mailbox, mailbox_id), name) for name in (
            "title", "email", "imap_host", "imap_port", "imap_security", "imap_username",
            "smtp_host", "smtp_port", "smtp_security", "smtp_username")}
    form.update(action="save", app_bcc="archiv@example.test, chef@example.test")
    assert client.post(f"/mail/settings/mailboxes/{mailbox_id}/", data=form).status_code == 302
    with app.app_context():
        assert db.session.get(Mailbox, mailbox_id).app_bcc == "archiv@example.test, chef@example.test"


def test_a_mailbox_is_removed_once_confirmed_and_its_mail_stays_on_the_server(app, make_mailbox, make_user,
                                                                                  mailstack, imap_client):
    """An admin who added the wrong mailbox removes it (it could not be removed at all): gone
    from every page, its password wiped, its cached mail dropped, audited; the server keeps the mail."""
    from email.message import EmailMessage

    from tricoma_mail_plugin.cache.refresh import run_sync
    from tricoma_mail_plugin.models import AuditEntry, CachedFolder

    email, password = _fresh_account(mailstack, 1)
    server = imap_client(1, email, password)
    note = EmailMessage()
    note["From"], note["To"], note["Subject"] = "a@example.test", email, "Bleibt auf dem Server"
    note.set_content("x")
    server.append("INBOX", note.as_bytes())
    mailbox_id = make_mailbox(1, email, password, title="Falsches Postfach")
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert service.run_test(mailbox) and mailbox.last_test_ok
        run_sync(mailbox)
        reader = make_user("rita", language="en")
        access.grant(mailbox_id, "user", reader.id, "read")
    owner = owner_client(app)
    assert "Remove this mailbox" in page(owner.get(f"{BASE}/{mailbox_id}/"))

    unconfirmed = owner.post(f"{BASE}/{mailbox_id}/delete", data={}, follow_redirects=True)
    assert "Tick the box to confirm that the mailbox is to be removed." in page(unconfirmed)
    rita = app.test_client()
    login(rita, "rita")
    assert rita.post(f"{BASE}/{mailbox_id}/delete", data={"confirm": "1"}).status_code == 403
    assert stored(app, mailbox_id).deleted_at is None

    from tricoma_mail_plugin.cache.lease import release_sync_lease, take_sync_lease
    from tricoma_mail_plugin.web import mailbox_settings

    with app.app_context():
        assert take_sync_lease(mailbox_id, 60)  # a sync runs (another process)
    original_wait, mailbox_settings.REMOVE_WAITS_FOR_SYNC = mailbox_settings.REMOVE_WAITS_FOR_SYNC, 0
    try:
        busy = owner.post(f"{BASE}/{mailbox_id}/delete", data={"confirm": "1"}, follow_redirects=True)
    finally:
        mailbox_settings.REMOVE_WAITS_FOR_SYNC = original_wait
        with app.app_context():
            release_sync_lease(mailbox_id)
    assert "synchronising this mailbox right now" in page(busy) and stored(app, mailbox_id).deleted_at is None

    removed = owner.post(f"{BASE}/{mailbox_id}/delete", data={"confirm": "1"})
    assert removed.status_code == 302 and removed.location == f"{BASE}/"
    listing = page(owner.get(f"{BASE}/"))
    assert "The mailbox Falsches Postfach is removed." in listing
    assert "Falsches Postfach" not in page(owner.get("/mail/")) and "Falsches Postfach" not in page(rita.get("/mail/"))
    assert owner.get(f"{BASE}/{mailbox_id}/").status_code == 404
    assert owner.get(f"/mail/m/{mailbox_id}/").status_code == 404
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert mailbox.deleted_at is not None and mailbox.secrets == "" and service.read_secrets(mailbox) == {}
        assert db.session.query(CachedFolder).filter_by(mailbox_id=mailbox_id).count() == 0
        entry = db.session.query(AuditEntry).filter_by(mailbox_id=mailbox_id, action="mailbox_deleted").one()
        assert entry.details["title"] == "Falsches Postfach"
    server.select_folder("INBOX", readonly=True)
    assert len(server.search(["ALL"])) == 1

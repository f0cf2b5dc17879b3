"""pytest plugin: OAuth2 for live tests (issue 13). tests/conftest.py lists it in ``pytest_plugins``.

* ``oauth_stack`` (session): the local authorization server (``tests/oauth_server.py``, in threads
  of the test process, https with the mail stack's certificate) and the OAuth2 Dovecot + relay
  (``scripts/oauth_mailstack.py``) whose ``passdb oauth2`` asks that server. Its ports follow
  TRICOMA_MAILSTACK_TEST_PORT_OFFSET like the password stack's.
* ``oauth_provider(kind, ...)``: a sign-in provider in Admin settings and its app on the server.
* ``oauth_mailbox(provider_id, auth_kind, ...)``: a mailbox on the OAuth2 stack.
* ``sign_in(mailbox_id, user, password)``: the delegated sign-in without a browser: the app
  starts it, the authorization server's login form is posted like a browser would, and the
  redirect's query goes back to the app.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mailstack_fixture import TEST_PORT_OFFSET, TEST_STATE_DIR
from oauth_mailstack import OAuthMailStack
from oauth_server import Client, LocalAuthorizationServer

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import oauth_providers, oauth_tokens, service
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.rights import access

DOMAIN = "oauth.test"
CALLBACK_PATH = "/mail/settings/mailboxes/oauth/callback"


@dataclass
class OAuthStack:
    server: LocalAuthorizationServer
    mail: OAuthMailStack
    cert: str

    def maildir_messages(self, address: str) -> list[bytes]:
        """The raw messages delivered to ``address`` (new and seen)."""
        local, domain = address.split("@")
        root = self.mail.root / "mail" / domain / local / "Maildir"
        return [path.read_bytes() for sub in ("new", "cur") for path in sorted((root / sub).glob("*"))
                if path.is_file()]


@pytest.fixture(scope="session")
def oauth_stack(mailstack) -> Iterator[OAuthStack]:
    server = LocalAuthorizationServer(str(mailstack.cert), str(mailstack.key)).start()
    server.add_client(Client("dovecot", "dovecot-introspection-secret", grant_types=frozenset()))
    stack = OAuthMailStack(f"{TEST_STATE_DIR}-oauth", TEST_PORT_OFFSET)
    stack.start(f"{server.http_url}/introspect", "dovecot", "dovecot-introspection-secret")
    try:
        yield OAuthStack(server, stack, str(mailstack.cert))
    finally:
        stack.stop()
        server.stop()


@pytest.fixture
def oauth_provider(app, oauth_stack):
    """Factory: ``oauth_provider(kind="microsoft", secret=None, scopes=("mail",), mailbox=None,
    app_secret=None)`` → the provider's id. ``kind`` "microsoft" goes through msal (the server's
    Entra-shaped endpoints), "standard" through Authlib. The app on the server gets the secret
    ``app_secret`` (default: the one the provider is given) and may be granted ``scopes``;
    ``mailbox`` is the mailbox its app-only tokens may open; ``redirect_uri`` the app's callback."""
    app.config["TRICOMA_MAIL_CA_FILE"] = oauth_stack.cert
    server = oauth_stack.server

    def make(kind: str = "microsoft", *, secret: str | None = None, scopes=("mail",), mailbox: str | None = None,
             app_secret: str | None = None, redirect_uri: str = f"http://localhost{CALLBACK_PATH}") -> int:
        client_id = f"app-{uuid.uuid4().hex[:8]}"
        secret = secret or uuid.uuid4().hex
        server.add_client(Client(
            client_id, app_secret or secret, redirect_uris=[redirect_uri],
            scopes=frozenset({*scopes, "openid", "profile", "offline_access"}), mailbox=mailbox))
        values = {"name": f"{kind} {client_id}", "kind": kind, "client_id": client_id, "client_secret": secret,
                  "scopes": "mail offline_access", "app_scopes": "mail"}
        if kind == "microsoft":
            values.update(authority=server.https_url, tenant="testtenant")
        else:
            values.update(authorize_url=f"{server.https_url}/authorize", token_url=f"{server.https_url}/token")
        with app.app_context():
            return oauth_providers.save_provider(None, values, actor="test").id

    return make


@pytest.fixture
def oauth_mailbox(app, oauth_stack, make_user):
    """Factory: ``oauth_mailbox(provider_id, auth_kind="oauth2_delegated", email=None, imap_port=None,
    smtp_port=None)`` → the mailbox id; the servers are the OAuth2 stack's, the login name is the
    address. The user "owner" manages it and may send."""
    owners = {}
    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0  # mail leaves at the next outbox run

    def make(provider_id: int, auth_kind: str = "oauth2_delegated", email: str | None = None,
             imap_port: int | None = None, smtp_port: int | None = None) -> int:
        email = email or f"u-{uuid.uuid4().hex[:10]}@{DOMAIN}"
        with app.app_context():
            if "owner" not in owners:
                owners["owner"] = make_user("owner", language="en")
            owner = owners["owner"]
            mailbox = service.create_mailbox(email, owner)
            service.update_settings(mailbox, {
                "email": email, "auth_kind": auth_kind, "oauth_provider_id": str(provider_id),
                "imap_host": "127.0.0.1", "imap_port": imap_port or oauth_stack.mail.ports.imap,
                "imap_security": "none", "imap_username": email,
                "smtp_host": "127.0.0.1", "smtp_port": smtp_port or oauth_stack.mail.ports.smtp,
                "smtp_security": "none", "smtp_username": email,
            })
            for right in ("read", "write", "send", "manage"):
                access.grant(mailbox.id, "user", owner.id, right)
            return mailbox.id

    return make


@pytest.fixture
def sign_in(app, oauth_stack):
    """Factory: ``sign_in(mailbox_id, user, password)``: a delegated sign-in as a browser would do
    it (the app's start, the server's login form, the redirect back to the app's code)."""

    def run(mailbox_id: int, user: str, password: str) -> None:
        oauth_stack.server.add_user(user, password)
        with app.test_request_context(), app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            url, _state = oauth_tokens.begin_sign_in(mailbox, f"http://localhost{CALLBACK_PATH}")
        answer = requests.post(url, data={"username": user, "password": password, "consent": "yes",
                                          "decision": "allow"}, allow_redirects=False, verify=oauth_stack.cert)
        assert answer.status_code == 302, answer.text
        params = {key: values[0] for key, values in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
        with app.app_context():
            oauth_tokens.finish_sign_in(db.session.get(Mailbox, mailbox_id), params, actor="test")

    return run


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""

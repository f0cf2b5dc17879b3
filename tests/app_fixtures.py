"""The project's test host for ``tricoma_mail_plugin.testing``, and the fixtures of its own tests.

``tricoma_mail_plugin.testing`` (with pytest-flask) gives ``app``, ``make_app(**config)``,
``client`` and ``live_server``; this module names the host (``hostapp``), puts the session's
database on PostgreSQL when ``TRICOMA_TEST_DATABASE_URL`` is set, registers the test plugins of
``tests/plugins/`` and the plugins under ``plugins/``, and adds the project's own fixtures: users
with a password, language and groups, clients logged in through the login page, and mailboxes on
the local mail stack."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from hostapp import create_app
from hostapp.extensions import db
from hostapp.models import Group, User
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.testing import MailAccount

PASSWORD = "correct horse battery"


def pytest_tricoma_mail_create_app(config):
    return create_app(config)


def pytest_tricoma_mail_create_user(username, admin):
    user = User(username=username, display_name=username.title(), is_admin=admin,
                email=f"{username}@example.test")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture(scope="session")
def tricoma_mail_database_url(tmp_path_factory):
    """An SQLite file, or a schema of its own on ``TRICOMA_TEST_DATABASE_URL`` (PostgreSQL),
    dropped at the end of the session."""
    postgres_url = os.environ.get("TRICOMA_TEST_DATABASE_URL")
    if not postgres_url:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
        return
    schema = f"tricoma_test_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(postgres_url)
    with admin_engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    with admin_engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin_engine.dispose()


@pytest.fixture(scope="session")
def tricoma_mail_config(tricoma_mail_database_url):
    return _test_config(tricoma_mail_database_url)


@pytest.fixture(scope="session")
def database_url(tricoma_mail_database):
    """The URL of the session's migrated database."""
    return tricoma_mail_database


def _test_config(url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "HOSTAPP_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "TRICOMA_MAIL_SYNC_ON_FIRST_OPEN": False,  # tests sync explicitly; one test checks this
        "TRICOMA_MAIL_TEST_MIN_INTERVAL": 0,  # tests press Test twice in a row; one test checks the limit
        # The local mail stack and the fault proxies listen on 127.0.0.1 (any port); the address
        # policy's tests take this away (tests/test_address_policy.py).
        "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": ("127.0.0.1",),
        "TRICOMA_MAIL_LOAD_ENTRYPOINTS": False,
        # The session database is migrated with this config: every plugin whose tables a test
        # may use is listed here (the invoices and orders apps bring their own tables).
        "TRICOMA_MAIL_EXTRA_PLUGINS": ("sample_plugin", "tricoma_mail_v1_imap", "tricoma_mail_invoices",
                                       "tricoma_mail_orders", "tricoma_mail_v2_hosted"),
    }
    config.update(overrides)
    return config


@pytest.fixture
def make_user(app):
    def make(username: str, *, admin: bool = False, language: str | None = None,
             groups: tuple[str, ...] = ()) -> User:
        with app.app_context():
            user = User(username=username, display_name=username.title(), is_admin=admin,
                        language=language, email=f"{username}@example.test")
            user.set_password(PASSWORD)
            for name in groups:
                group = db.session.query(Group).filter_by(name=name).first() or Group(name=name)
                user.groups.append(group)
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def admin_client(app, make_user):
    make_user("root", admin=True, language="en")
    client = app.test_client()
    response = login(client, "root")
    assert response.status_code == 302
    return client


@pytest.fixture
def user_client(app, make_user):
    make_user("ulla", language="en")
    client = app.test_client()
    assert login(client, "ulla").status_code == 302
    return client


@pytest.fixture
def make_mailbox(app, mailstack, make_user):
    """Factory: a configured mailbox for an account of the test mail stack.

    ``make_mailbox(profile=1, email=None, password=None, security="starttls", title=None)``
    creates a fresh, empty account when no e-mail is given. Returns the mailbox id; the owner
    (user "owner") holds every core right on it.
    """
    app.config["TRICOMA_MAIL_CA_FILE"] = str(mailstack.cert)
    owners = {}

    def make(profile: int = 1, email: str | None = None, password: str | None = None,
             security: str = "starttls", title: str | None = None) -> int:
        prof = mailstack.profile(profile)
        if email is None:
            email, password = _fresh_account(mailstack, profile)
        with app.app_context():
            if "owner" not in owners:
                owners["owner"] = make_user("owner", language="en")
            owner = owners["owner"]
            mailbox = service.create_mailbox(title or email, owner)
            port = prof.imaps_port if security == "tls" else prof.imap_port
            service.update_settings(mailbox, {
                "email": email, "imap_host": "127.0.0.1", "imap_port": port,
                "imap_security": security, "imap_username": email, "imap_password": password,
                "smtp_host": "127.0.0.1", "smtp_port": prof.smtp_port, "smtp_security": "starttls",
                "smtp_username": email, "smtp_password": password,
            })
            for right in ("read", "write", "delete", "send", "send_from_apps", "manage"):
                access.grant(mailbox.id, "user", owner.id, right)
            return mailbox.id

    yield make


def _fresh_account(mailstack, profile: int) -> tuple[str, str]:
    email = f"t-{uuid.uuid4().hex[:12]}@{mailstack.profile(profile).domain}"
    password = uuid.uuid4().hex
    mailstack.add_user(email, password, profile)
    return email, password


@pytest.fixture
def tricoma_mail_account(mailstack) -> MailAccount:
    """A fresh, empty account on the local mail stack (profile 1), for the ``mailbox`` fixture."""
    email, password = _fresh_account(mailstack, 1)
    profile = mailstack.profile(1)
    return MailAccount(email, password, profile.imap_port, profile.smtp_port, ca_file=str(mailstack.cert))
